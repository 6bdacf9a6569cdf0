/**
 * Clean-up of what no search can reach any more (run on a schedule: functions/cs1/cleanup.ts;
 * locally `npm run cleanup`). Per index:
 *
 * - kept, always: the serving version and the one it replaced (sealed clients may still ask
 *   for it, and warm functions serve it for a pointer-cache TTL after a publish);
 * - kept for the owner's retention (days, set when creating the serving version; default
 *   DEFAULT_RETENTION_DAYS), and never less than the grace period: every other completely
 *   staged version, counted from the first run that found it neither serving nor replaced. The
 *   grace (default 1 hour) is longer than any request may run after the pointer moved on (the
 *   Lambda timeout plus the pointer cache's TTL), so no running search loses its version;
 * - kept for a day after its creation (its name starts with the time): a version that was
 *   never published (uploads only, or a staging item a crashed publish left);
 * - kept while a kept version refers to it: SEI updates write only the blocks they change and
 *   read the rest from the versions that wrote them, so those versions (objects and catalog
 *   item, whose digests check the reads) stay as long as anything kept reads them.
 *
 * Everything else of the index is removed: the catalog version (item and blob chunks), then its
 * objects and uploads, then its publish job record (kept while a job of it still runs with a live
 * lease; records of versions that no longer exist go too). The run is idempotent; a removal that fails half way is finished by the
 * next run.
 *
 * Then the envelopes of images the owner deleted (image-removals.ts): each goes once no version
 * kept above may still list it, at the earliest after the grace period from the owner's request;
 * an owner some of whose indexes could not be cleaned in this run keeps them all until the next. What the clean-up has seen (when each version was first found retired, the owner's
 * retention) is one small JSON object per index (indexCleanupStateKey), written only here.
 */
import { DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS } from '../../api/limits';
import { ConflictError, NotFoundError } from '../../core/errors';
import { indexCleanupStateKey, indexPartObjectKey, indexesPrefix } from '../../storage/object-keys';
import type { IndexCatalog, IndexVersionSummary, JsonValue, ObjectStore, PublishJobStore } from '../../storage/types';
import { holdersOf, pendingImageRemovals, removeEnvelope } from '../images/image-removals';
import type { ImageRemovalOutcome, KeptVersion, PendingImageRemoval } from '../images/image-removals';
import { MANIFEST_PART } from './index-versions';
import { decodeSeiLocations, LEAF_LOCATIONS_BLOB } from '../sei/sei-locations';
import { parseIndexName, parseStoredId, parseVersionId } from '../../core/ids';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

export interface CleanupPolicy {
  /** The least time a retired version is kept, whatever the owner's retention. */
  readonly graceMs: number;
  /** Versions never published are removed this long after their creation. */
  readonly unpublishedMaxAgeMs: number;
}

export const DEFAULT_CLEANUP_POLICY: CleanupPolicy = { graceMs: HOUR_MS, unpublishedMaxAgeMs: DAY_MS };

/** What the clean-up needs: listing objects and indexes, which searches never do. */
export interface CleanupStores {
  readonly objects: ObjectStore & Required<Pick<ObjectStore, 'list'>>;
  readonly indexes: IndexCatalog & Required<Pick<IndexCatalog, 'listIndexes'>>;
  readonly publishJobs: Pick<PublishJobStore, 'listVersions' | 'remove'>;
}

export type KeptBecause = 'serving' | 'replaced' | 'retention' | 'unpublished' | 'referenced';

export interface IndexCleanupReport {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly serving: VersionId | null;
  readonly retentionDays: number;
  /** Version -> why it stays. */
  readonly kept: Readonly<Record<string, KeptBecause>>;
  readonly removed: readonly VersionId[];
  readonly objectsRemoved: number;
  /** Publish job records removed (of removed versions, or of versions that no longer exist). */
  readonly publishJobsRemoved: number;
}

export interface CleanupReport {
  readonly at: string;
  readonly indexes: readonly IndexCleanupReport[];
  readonly versionsRemoved: number;
  readonly objectsRemoved: number;
  /** Pending removals of deleted images' envelopes, and what became of each. */
  readonly imageRemovals: readonly ImageRemovalOutcome[];
  readonly envelopesRemoved: number;
  /**
   * Indexes (or, with no indexName, an owner's image removals) the run could not finish (the
   * next run retries); the message only, never data.
   */
  readonly failures: ReadonlyArray<{ readonly ownerId: OwnerId; readonly indexName?: IndexName; readonly message: string }>;
}

interface CleanupState {
  readonly format: 'blindsight-index-cleanup';
  retentionDays?: number;
  /** Version -> ISO time the clean-up first found it neither serving nor replaced. */
  retired: Record<string, string>;
}

/** The creation time in a version name (version-names.ts), or undefined if it has none. */
export function createdAtOf(version: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/.exec(version);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  const time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms));
  return Number.isFinite(time) ? new Date(time) : undefined;
}

/**
 * A version name read from the bucket's listing as a version id, or undefined when the name holds
 * no creation time (not a version the clean-up may judge by age, so not the clean-up's).
 */
function listedVersion(name: string | undefined): VersionId | undefined {
  if (name === undefined || createdAtOf(name) === undefined) return undefined;
  return parseStoredId(parseVersionId, name, 'a version name in the bucket');
}

/** Versions named by `{ version, part }` references anywhere in a JSON value. */
function referencedIn(value: JsonValue | undefined, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const each of value) referencedIn(each, into);
  } else if (typeof value === 'object' && value !== null) {
    if (typeof value.version === 'string' && typeof value.part === 'string') into.add(value.version);
    for (const each of Object.values(value)) referencedIn(each, into);
  }
}

export class IndexCleanupService {
  private readonly now: () => Date;
  private readonly policy: CleanupPolicy;

  constructor(
    private readonly stores: CleanupStores,
    options: { readonly now?: () => Date; readonly policy?: Partial<CleanupPolicy> } = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.policy = { ...DEFAULT_CLEANUP_POLICY, ...options.policy };
  }

  /** Cleans every index of every owner; one index's failure does not stop the others. */
  async run(): Promise<CleanupReport> {
    const at = this.now();
    const indexes = new Map<string, { ownerId: OwnerId; indexName: IndexName }>();
    const { indexes: catalogued, ownerIds } = await this.stores.indexes.listIndexes();
    const owners = new Set([...ownerIds, ...catalogued.map((each) => each.ownerId)]);
    // Read before the versions are listed: every version older than a request is listed below.
    const removals = new Map<OwnerId, PendingImageRemoval[]>();
    const failures: Array<{ ownerId: OwnerId; indexName?: IndexName; message: string }> = [];
    for (const ownerId of owners) {
      try {
        const pending = await pendingImageRemovals(this.stores.objects, ownerId);
        if (pending.length > 0) removals.set(ownerId, pending);
      } catch (error) {
        failures.push({ ownerId, message: error instanceof Error ? error.message : String(error) });
      }
    }
    for (const each of catalogued) indexes.set(`${each.ownerId}/${each.indexName}`, each);
    // Indexes with uploads but no catalog item yet exist only in the bucket.
    for (const ownerId of owners) {
      for await (const object of this.stores.objects.list(indexesPrefix(ownerId))) {
        const name = object.key.slice(indexesPrefix(ownerId).length).split('/')[0];
        if (name === undefined || name.length === 0 || indexes.has(`${ownerId}/${name}`)) continue;
        try {
          indexes.set(`${ownerId}/${name}`, { ownerId, indexName: parseStoredId(parseIndexName, name, 'an index name in the bucket') });
        } catch (error) {
          failures.push({ ownerId, message: error instanceof Error ? error.message : String(error) });
        }
      }
    }
    const reports: IndexCleanupReport[] = [];
    for (const { ownerId, indexName } of indexes.values()) {
      try {
        reports.push(await this.cleanIndex(ownerId, indexName));
      } catch (error) {
        failures.push({ ownerId, indexName, message: error instanceof Error ? error.message : String(error) });
      }
    }
    const imageRemovals: ImageRemovalOutcome[] = [];
    for (const [ownerId, pending] of removals) {
      // An index not cleaned in this run has kept versions nobody looked at: wait for the next.
      if (failures.some((failure) => failure.ownerId === ownerId)) continue;
      try {
        imageRemovals.push(...(await this.removeEnvelopes(ownerId, pending, reports.filter((r) => r.ownerId === ownerId))));
      } catch (error) {
        failures.push({ ownerId, message: error instanceof Error ? error.message : String(error) });
      }
    }
    return {
      at: at.toISOString(),
      indexes: reports,
      versionsRemoved: reports.reduce((sum, r) => sum + r.removed.length, 0),
      objectsRemoved: reports.reduce((sum, r) => sum + r.objectsRemoved, 0),
      imageRemovals,
      envelopesRemoved: imageRemovals.filter((r) => r.outcome === 'removed').length,
      failures,
    };
  }

  /** The owner's pending envelope removals no version kept by this run may list (image-removals.ts). */
  private async removeEnvelopes(ownerId: OwnerId, pending: readonly PendingImageRemoval[], reports: readonly IndexCleanupReport[]): Promise<ImageRemovalOutcome[]> {
    const now = this.now().getTime();
    const kept: KeptVersion[] = reports.flatMap((report) =>
      Object.entries(report.kept).map(([version, because]) => ({ indexName: report.indexName, version, onlyReferenced: because === 'referenced' })),
    );
    const outcomes: ImageRemovalOutcome[] = [];
    for (const removal of pending) {
      const { imageId } = removal;
      // Younger than the grace: a version created just before it may not be listed yet.
      if (now - Date.parse(removal.requestedAt) < this.policy.graceMs) {
        outcomes.push({ ownerId, imageId, outcome: 'waiting', heldBy: [] });
        continue;
      }
      const heldBy = holdersOf(removal, kept, createdAtOf);
      if (heldBy.length > 0) outcomes.push({ ownerId, imageId, outcome: 'waiting', heldBy });
      else outcomes.push({ ownerId, imageId, outcome: await removeEnvelope(this.stores.objects, ownerId, removal) });
    }
    return outcomes;
  }

  /** Cleans one index (see the module comment for what stays). */
  async cleanIndex(ownerId: OwnerId, indexName: IndexName): Promise<IndexCleanupReport> {
    const now = this.now();
    const { objects, indexes, publishJobs } = this.stores;
    // Listed first: a version with a record here that is not listed below no longer exists.
    const jobVersions = await publishJobs.listVersions(ownerId, indexName);
    const state = await this.readState(ownerId, indexName);
    const current = await indexes.getCurrent(ownerId, indexName);
    const catalogued = new Map<VersionId, IndexVersionSummary>((await indexes.listVersions(ownerId, indexName)).map((v) => [v.version, v]));
    const stored = await this.storedObjects(ownerId, indexName);

    if (current !== undefined) {
      // The serving version's setting; an SEI update has none, so the newest declared before it.
      const candidates = [...new Set([...catalogued.keys(), ...stored.keys()])].filter((v) => v <= current.version).sort().reverse();
      for (const version of candidates) {
        const retention = await this.retentionOf(ownerId, indexName, version);
        if (retention === undefined) continue;
        state.retentionDays = retention;
        break;
      }
    }
    const retentionDays = state.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const keepRetiredMs = Math.max(retentionDays * DAY_MS, this.policy.graceMs);

    const kept = new Map<VersionId, KeptBecause>();
    if (current !== undefined) {
      kept.set(current.version, 'serving');
      if (current.previousVersion !== undefined) kept.set(current.previousVersion, 'replaced');
    }
    const all = new Set<VersionId>([...catalogued.keys(), ...stored.keys()]);
    for (const version of all) {
      if (kept.has(version)) continue;
      const item = catalogued.get(version);
      if (item?.status === 'complete') {
        // Retired (or staged and never published): kept for the retention from first sight.
        state.retired[version] ??= now.toISOString();
        if (now.getTime() - Date.parse(state.retired[version]) < keepRetiredMs) kept.set(version, 'retention');
        continue;
      }
      if (item?.status === 'deleting') continue;
      // Never completely staged: by its age. A name without a time is never removed.
      const created = createdAtOf(version);
      if (created === undefined || now.getTime() - created.getTime() < this.policy.unpublishedMaxAgeMs) kept.set(version, 'unpublished');
    }
    // What the kept versions read, from versions that wrote it.
    for (const version of [...kept.keys()]) {
      if (catalogued.get(version)?.status !== 'complete') continue;
      const referenced = await this.referencedVersions(ownerId, indexName, version);
      for (const other of all) if (!kept.has(other) && referenced.has(other)) kept.set(other, 'referenced');
    }

    const removed: VersionId[] = [];
    let objectsRemoved = 0;
    for (const version of all) {
      if (kept.has(version)) continue;
      if (catalogued.has(version)) {
        try {
          await indexes.deleteVersion(ownerId, indexName, version);
        } catch (error) {
          // Published again meanwhile: it stays. Already gone: its objects go.
          if (error instanceof ConflictError) continue;
          if (!(error instanceof NotFoundError)) throw error;
        }
      }
      for (const key of stored.get(version) ?? []) {
        await objects.delete(key);
        objectsRemoved++;
      }
      delete state.retired[version];
      removed.push(version);
    }
    let publishJobsRemoved = 0;
    for (const version of jobVersions) {
      if (kept.has(version) || (all.has(version) && !removed.includes(version))) continue;
      if (await publishJobs.remove(ownerId, indexName, version, now)) publishJobsRemoved++;
    }
    const present: ReadonlySet<string> = all;
    for (const version of Object.keys(state.retired)) if (!present.has(version)) delete state.retired[version];
    // An index with nothing left leaves no record behind either.
    if (current === undefined && kept.size === 0) await objects.delete(indexCleanupStateKey(ownerId, indexName));
    else await objects.put(indexCleanupStateKey(ownerId, indexName), new TextEncoder().encode(JSON.stringify(state)), 'application/json');
    return { ownerId, indexName, serving: current?.version ?? null, retentionDays, kept: Object.fromEntries(kept), removed, objectsRemoved, publishJobsRemoved };
  }

  /** Version -> its object keys (parts, derived objects, uploads) under the index's prefix. */
  private async storedObjects(ownerId: OwnerId, indexName: IndexName): Promise<Map<VersionId, string[]>> {
    const prefix = `${indexesPrefix(ownerId)}${indexName}/`;
    const byVersion = new Map<VersionId, string[]>();
    for await (const { key } of this.stores.objects.list(prefix)) {
      const path = key.slice(prefix.length).split('/');
      // <version>/<part> or uploads/<version>/<part>; anything else is not the clean-up's.
      const version = listedVersion(path[0] === 'uploads' ? path[1] : path[0]);
      if (version === undefined) continue;
      byVersion.set(version, [...(byVersion.get(version) ?? []), key]);
    }
    return byVersion;
  }

  /** The retention the serving version's creator chose, if its declaration is still there. */
  private async retentionOf(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<number | undefined> {
    try {
      const manifest = JSON.parse(new TextDecoder().decode(await this.stores.objects.get(indexPartObjectKey(ownerId, indexName, version, MANIFEST_PART)))) as { retentionDays?: unknown };
      const days = manifest.retentionDays;
      return typeof days === 'number' && Number.isSafeInteger(days) && days >= 0 && days <= MAX_RETENTION_DAYS ? days : undefined;
    } catch (error) {
      // SEI updates make versions without a declaration: the index keeps the last setting seen.
      if (error instanceof NotFoundError || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  /** Versions whose objects a version reads: references in its metadata and, for SEI, its block table. */
  private async referencedVersions(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<Set<string>> {
    const item = await this.stores.indexes.getVersion(ownerId, indexName, version);
    const versions = new Set<string>();
    if (item === undefined) return versions;
    referencedIn(item.metadata, versions);
    if (item.blobs.some((blob) => blob.name === LEAF_LOCATIONS_BLOB)) {
      for (const ref of decodeSeiLocations(await item.readBlob(LEAF_LOCATIONS_BLOB)).objects) versions.add(ref.version);
    }
    versions.delete(version);
    return versions;
  }

  private async readState(ownerId: OwnerId, indexName: IndexName): Promise<CleanupState> {
    try {
      const value = JSON.parse(new TextDecoder().decode(await this.stores.objects.get(indexCleanupStateKey(ownerId, indexName)))) as Partial<CleanupState>;
      if (value.format === 'blindsight-index-cleanup' && typeof value.retired === 'object' && value.retired !== null) {
        return { format: 'blindsight-index-cleanup', retentionDays: value.retentionDays, retired: { ...value.retired } };
      }
    } catch (error) {
      if (!(error instanceof NotFoundError) && !(error instanceof SyntaxError)) throw error;
    }
    // No state yet (or unreadable): every retired version's clock starts now.
    return { format: 'blindsight-index-cleanup', retired: {} };
  }
}
