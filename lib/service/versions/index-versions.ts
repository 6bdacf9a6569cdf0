/**
 * Index versions, published atomically (storage README-layout.md, "Publishing protocol"):
 *
 * 1. create: the owner declares the kind and the byte size of each part; CS1 picks a sortable
 *    version name, records the declaration (manifest.json under the version's S3 prefix) and
 *    returns one presigned PUT per part (type and length signed), so parts of any size bypass
 *    Lambda's 6 MB payload limit.
 * 2. The owner PUTs the parts to S3, under the version's UPLOAD keys (indexPartUploadKey).
 * 3. publish: CS1 checks every part is there with its declared size, copies it into the
 *    version's own prefix (indexPartObjectKey, which no URL ever names: a PUT through an old
 *    upload URL can no longer reach what serves), records the SHA-256 of every part and of
 *    every 16 KiB chunk of it (part-digests.ts; checked on every read), has the kind's handler
 *    validate the copied parts COMPLETELY, stages the catalog entry, and flips the current-version
 *    pointer with one conditional write, only if it still names `expectedCurrent`. A refused
 *    publish (bad parts, stale expectedCurrent, a crash half way) leaves the current version
 *    serving.
 *
 * Publishing a version that is already staged skips validation (a retry after a 409, or a
 * roll-back to an older version); publishing the version that already serves answers as if it
 * had just been published (a retried request whose answer was lost).
 */
import { BlindsightError, ConflictError, InvalidInputError, isBlindsightError, NotFoundError, PayloadTooLargeError } from '../../core/errors';
import { indexPartObjectKey, indexPartUploadKey } from '../../storage/object-keys';
import type { IndexCatalog, IndexKind, JsonObject, ObjectStore } from '../../storage/types';
import { mapLimited } from '../../core/concurrency';
import { DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS } from '../../api/limits';
import type { CurrentVersionCache } from './current-version-cache';
import type { IndexKindRegistry } from '../index-kinds/index-kind-registry';
import { INDEX_PART_UPLOAD_URL_SECONDS, S3_CONCURRENCY } from '../limits';
import { DEFAULT_PUBLISH_POLICY } from './publish-policy';
import type { IndexKindSpec, IndexPartSpec, IndexPartsReader, IndexPublishPolicy, IndexSummaryAccess, PresignedUrl } from '../types';
import { newVersionName } from './version-names';
import { digestBytes, digestObject, encodePartDigests, PART_DIGESTS_BLOB } from './part-digests';
import type { PartDigest } from './part-digests';
import { checkSignedManifest, encodeProvenance, PROVENANCE_BLOB, readProvenance } from './signed-manifests';
import type { IndexProvenance } from '../../client/index-manifest';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

/** The declaration of a version's parts, kept next to them until publish. */
export const MANIFEST_PART = 'manifest.json';
const PART_CONTENT_TYPE = 'application/octet-stream';

export interface CreateVersionRequest {
  readonly kind: string;
  /** Part name -> byte length. */
  readonly parts: Readonly<Record<string, number>>;
  /** Days the clean-up keeps the versions this one supersedes (default DEFAULT_RETENTION_DAYS). */
  readonly retentionDays?: number;
}

export interface CreateVersionResult {
  readonly version: VersionId;
  readonly kind: IndexKind;
  readonly uploads: Record<string, PresignedUrl>;
}

export interface PublishResult {
  readonly version: VersionId;
  readonly previousVersion: VersionId | null;
  readonly kind: IndexKind;
  readonly publishedAt: string;
  /** What validation found worth knowing (e.g. an insecure scheme); only when there is any. */
  readonly warnings?: readonly string[];
}

export interface IndexDescription {
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly kind: IndexKind;
  readonly publishedAt: string;
  readonly previousVersion: VersionId | null;
  /** The kind's public summary: dimensions, counts, key ids, public material. */
  readonly summary: JsonObject;
  /** The owner's signed manifest (and updates since), absent for versions published unsigned. */
  readonly provenance?: IndexProvenance;
}

/** How far a publish has got (publish jobs report it; the API's PUBLISH_PHASES). */
export interface PublishProgress {
  readonly phase: 'checking' | 'copying' | 'validating' | 'staging' | 'switching';
  readonly partsDone: number;
  readonly partsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface PublishOptions {
  /**
   * Called at each step; awaited. Throwing PublishAbandonedError stops the publish at once and
   * leaves what it wrote for the publish that took over (a job that lost its lease).
   */
  readonly onProgress?: (progress: PublishProgress) => void | Promise<void>;
  /**
   * Asked before a refused publish removes the copies it made: false when another publish of
   * the same version may be using them now (its job took over), so they stay.
   */
  readonly stillOwned?: () => Promise<boolean>;
}

/**
 * The publish was stopped by its own caller because another publish of the same version owns
 * it now: nothing is cleaned up (the copies are the other publish's too).
 */
export class PublishAbandonedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishAbandonedError';
  }
}

interface Manifest {
  readonly kind: IndexKind;
  readonly parts: Record<string, number>;
  readonly createdAt: string;
  /** The owner's retention for the versions this one supersedes (cleanup.ts reads it). */
  readonly retentionDays?: number;
}

function checkDeclaredParts(handler: IndexKindSpec, parts: Readonly<Record<string, number>>): Record<string, number> {
  if (typeof parts !== 'object' || parts === null || Array.isArray(parts)) {
    throw new InvalidInputError('parts must be an object of part name -> byte length');
  }
  const known = handler.parts.map((p) => `"${p.name}"`).join(', ');
  const declared: Record<string, number> = {};
  const families = new Map<IndexPartSpec, number>();
  for (const [name, size] of Object.entries(parts)) {
    const spec = handler.parts.find((p) => (p.pattern === undefined ? p.name === name : p.pattern.test(name)));
    if (spec === undefined) throw new InvalidInputError(`"${name.slice(0, 64)}" is not a part of a "${handler.kind}" index; its parts are ${known}`);
    if (!Number.isSafeInteger(size) || size < 1) throw new InvalidInputError(`part "${name}" must have a byte length that is a positive integer`);
    if (size > spec.maxBytes) throw new PayloadTooLargeError(`part "${name}" is ${size} bytes; a "${handler.kind}" index accepts at most ${spec.maxBytes}`);
    if (spec.pattern !== undefined) {
      const count = (families.get(spec) ?? 0) + 1;
      if (count > (spec.maxCount ?? 1)) throw new InvalidInputError(`a "${handler.kind}" version takes at most ${spec.maxCount ?? 1} parts "${spec.name}"`);
      families.set(spec, count);
    }
    declared[name] = size;
  }
  for (const spec of handler.parts) {
    if (!spec.optional && declared[spec.name] === undefined) {
      throw new InvalidInputError(`part "${spec.name}" (${spec.description}) is missing: declare its byte length in parts`);
    }
  }
  return declared;
}

function parseManifest(bytes: Uint8Array, version: VersionId): Manifest {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
    if (typeof value.kind === 'string' && typeof value.parts === 'object' && value.parts !== null && typeof value.createdAt === 'string') {
      return value;
    }
  } catch {
    // Reported below.
  }
  throw new Error(`the manifest of version "${version}" is unreadable`);
}

export class IndexVersionService {
  /**
   * @param pointers the pointer cache of the process' searches, if any: a publish made here
   *   drops its entry, so searches in the same process see it at once.
   * @param policy what this deployment accepts at publish (default: nothing insecure).
   */
  constructor(
    private readonly stores: { readonly objects: ObjectStore; readonly indexes: IndexCatalog },
    private readonly kinds: IndexKindRegistry,
    private readonly now: () => Date = () => new Date(),
    private readonly pointers?: Pick<CurrentVersionCache, 'forget'>,
    private readonly policy: IndexPublishPolicy = DEFAULT_PUBLISH_POLICY,
  ) {}

  async createVersion(ownerId: OwnerId, indexName: IndexName, request: CreateVersionRequest): Promise<CreateVersionResult> {
    const handler = this.kinds.get(request.kind);
    const parts = checkDeclaredParts(handler, request.parts);
    const current = await this.stores.indexes.getCurrent(ownerId, indexName);
    if (current !== undefined && current.kind !== handler.kind) {
      throw new ConflictError(
        `index "${indexName}" serves a "${current.kind}" index; a "${handler.kind}" version cannot replace it: use another index name`,
      );
    }

    const retentionDays = request.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!Number.isSafeInteger(retentionDays) || retentionDays < 0 || retentionDays > MAX_RETENTION_DAYS) {
      throw new InvalidInputError(`retentionDays must be an integer from 0 to ${MAX_RETENTION_DAYS}`);
    }
    const version = newVersionName(this.now());
    const manifest: Manifest = { kind: handler.kind, parts, createdAt: this.now().toISOString(), retentionDays };
    await this.stores.objects.put(
      indexPartObjectKey(ownerId, indexName, version, MANIFEST_PART),
      new TextEncoder().encode(JSON.stringify(manifest)),
      'application/json',
    );
    const uploads: Record<string, PresignedUrl> = {};
    for (const [name, size] of Object.entries(parts)) {
      const presigned = await this.stores.objects.presignPut(indexPartUploadKey(ownerId, indexName, version, name), {
        expiresInSeconds: INDEX_PART_UPLOAD_URL_SECONDS,
        contentType: PART_CONTENT_TYPE,
        contentLength: size,
      });
      uploads[name] = { url: presigned.url, method: 'PUT', headers: { ...presigned.headers }, expiresAt: presigned.expiresAt.toISOString() };
    }
    return { version, kind: handler.kind, uploads };
  }

  /**
   * The checks a publish makes before any work, cheap enough for a request: the result if the
   * version already serves (a repeated publish), else undefined once the index still serves
   * `expectedCurrent` (ConflictError otherwise) and the version exists (NotFoundError).
   */
  async checkPublish(ownerId: OwnerId, indexName: IndexName, version: VersionId, expectedCurrent: VersionId | null): Promise<PublishResult | undefined> {
    const current = await this.stores.indexes.getCurrent(ownerId, indexName);
    if (current?.version === version) {
      return { version, previousVersion: current.previousVersion ?? null, kind: current.kind, publishedAt: current.publishedAt };
    }
    // Refuse a stale publish before the (possibly long) validation; the pointer write re-checks.
    const serving = current?.version ?? null;
    if (serving !== expectedCurrent) {
      throw new ConflictError(
        serving === null
          ? `index "${indexName}" has no published version: publish "${version}" with expectedCurrent null`
          : `index "${indexName}" serves version "${serving}", not ${expectedCurrent === null ? 'nothing' : `"${expectedCurrent}"`}: ` +
            `publish again with expectedCurrent "${serving}" if "${version}" should replace it`,
      );
    }
    // Versions made by image updates have no manifest: they exist once staged.
    if (
      (await this.stores.objects.head(indexPartObjectKey(ownerId, indexName, version, MANIFEST_PART))) === undefined &&
      (await this.stores.indexes.getVersion(ownerId, indexName, version)) === undefined
    ) {
      throw new NotFoundError(`index "${indexName}" has no version "${version}": create one with POST .../indexes/${indexName}/versions`);
    }
    return undefined;
  }

  /**
   * @param signedManifest the owner's signed manifest of the version (lib/client/index-manifest.ts):
   *   checked against the parts and kept as the version's provenance, which clients verify.
   *   Without it the version serves unsigned, and verifying clients refuse it.
   * @param options progress reports (publish jobs).
   */
  async publishVersion(
    ownerId: OwnerId,
    indexName: IndexName,
    version: VersionId,
    expectedCurrent: VersionId | null,
    signedManifest?: string,
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    const { indexes } = this.stores;
    const already = await this.checkPublish(ownerId, indexName, version, expectedCurrent);
    if (already !== undefined) return already;

    const staged = await indexes.getVersion(ownerId, indexName, version);
    let counts: Omit<PublishProgress, 'phase'> | undefined;
    const onProgress = options.onProgress;
    const tracked: PublishOptions = {
      ...options,
      onProgress: async ({ phase, ...rest }) => {
        counts = rest;
        await onProgress?.({ phase, ...rest });
      },
    };
    const warnings = staged === undefined ? await this.validateAndStage(ownerId, indexName, version, expectedCurrent, signedManifest, tracked) : [];
    if (onProgress !== undefined) await onProgress({ phase: 'switching', ...(counts ?? (await this.partCounts(ownerId, indexName, version))) });
    const published = await indexes.publish(ownerId, indexName, version, expectedCurrent ?? undefined);
    this.pointers?.forget(ownerId, indexName);
    return {
      version,
      previousVersion: published.previousVersion ?? null,
      kind: published.kind,
      publishedAt: published.publishedAt,
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }

  /** Parts and bytes of an already staged version for progress reports (all done). */
  private async partCounts(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<Omit<PublishProgress, 'phase'>> {
    const none = { partsDone: 0, partsTotal: 0, bytesDone: 0, bytesTotal: 0 };
    const key = indexPartObjectKey(ownerId, indexName, version, MANIFEST_PART);
    if ((await this.stores.objects.head(key)) === undefined) return none;
    const manifest = parseManifest(await this.stores.objects.get(key), version);
    const sizes = Object.values(manifest.parts);
    const bytes = sizes.reduce((sum, size) => sum + size, 0);
    return { partsDone: sizes.length, partsTotal: sizes.length, bytesDone: bytes, bytesTotal: bytes };
  }

  /** Validates the version's parts with its kind's validator and stages it; returns the validator's warnings. */
  private async validateAndStage(
    ownerId: OwnerId,
    indexName: IndexName,
    version: VersionId,
    expectedCurrent: VersionId | null,
    signedManifest: string | undefined,
    options: PublishOptions,
  ): Promise<readonly string[]> {
    const { objects, indexes } = this.stores;
    let manifestBytes: Uint8Array;
    try {
      manifestBytes = await objects.get(indexPartObjectKey(ownerId, indexName, version, MANIFEST_PART));
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      throw new NotFoundError(`index "${indexName}" has no version "${version}": create one with POST .../indexes/${indexName}/versions`);
    }
    const manifest = parseManifest(manifestBytes, version);
    const handler = this.kinds.get(manifest.kind);
    const digests = new Map<string, PartDigest>();
    const names = Object.keys(manifest.parts);
    let warnings: readonly string[];
    const partsTotal = names.length;
    const bytesTotal = names.reduce((sum, name) => sum + manifest.parts[name], 0);
    let partsDone = 0;
    let bytesDone = 0;
    const report = (phase: PublishProgress['phase']) => options.onProgress?.({ phase, partsDone, partsTotal, bytesDone, bytesTotal });
    try {
      await report('checking');
      const reader = await this.partsReader(ownerId, indexName, version, manifest, digests, async (name) => {
        partsDone++;
        bytesDone += manifest.parts[name];
        await report('copying');
      });
      // Checked before validation, against the digests of CS1's own copies of the uploads.
      const provenance =
        signedManifest === undefined ? undefined : await checkSignedManifest(signedManifest, { ownerId, indexName, version, kind: handler.kind, expectedCurrent }, names, digests);
      await report('validating');
      const validated = await (await this.kinds.validator(handler.kind)).validate(reader, this.policy);
      warnings = validated.warnings ?? [];
      for (const reserved of [PART_DIGESTS_BLOB, PROVENANCE_BLOB]) {
        if (Object.hasOwn(validated.blobs, reserved)) throw new Error(`index kind "${handler.kind}" uses the reserved blob name "${reserved}"`);
      }
      const blobs = {
        ...validated.blobs,
        [PART_DIGESTS_BLOB]: encodePartDigests(digests),
        ...(provenance !== undefined ? { [PROVENANCE_BLOB]: encodeProvenance(provenance) } : {}),
      };
      await report('staging');
      try {
        await indexes.stageVersion(ownerId, indexName, version, { kind: handler.kind, metadata: validated.metadata, blobs });
      } catch (error) {
        // A concurrent publish of the same version staged it first: publish what it staged.
        if (!(error instanceof ConflictError) || (await indexes.getVersion(ownerId, indexName, version))?.status !== 'complete') throw error;
      }
    } catch (error) {
      // Another publish of this version owns the copies now: leave them to it.
      if (error instanceof PublishAbandonedError) throw error;
      if (options.stillOwned !== undefined && !(await options.stillOwned().catch(() => false))) throw error;
      // A refused publish leaves storage as it found it: the uploads stay, the copies go.
      if ((await indexes.getVersion(ownerId, indexName, version).catch(() => undefined)) === undefined) {
        const written = new Set([...names, ...digests.keys()]);
        await mapLimited([...written], S3_CONCURRENCY, (name) => objects.delete(indexPartObjectKey(ownerId, indexName, version, name)).catch(() => undefined));
      }
      throw error;
    }
    // The uploads are never read again; a failed delete leaves only unreachable bytes behind.
    await mapLimited(names, S3_CONCURRENCY, (name) => objects.delete(indexPartUploadKey(ownerId, indexName, version, name)).catch(() => undefined));
    return warnings;
  }

  /** Server-side copy where the store can, else get and put. */
  private async copy(fromKey: string, toKey: string): Promise<void> {
    const { objects } = this.stores;
    if (objects.copy !== undefined) await objects.copy(fromKey, toKey);
    else await objects.put(toKey, await objects.get(fromKey));
  }

  /**
   * Checks every declared part was uploaded with its declared size, copies it into the
   * version's prefix, records its digest in `digests` (and those of derived objects as they are
   * written), and reads the copies on demand.
   */
  private async partsReader(
    ownerId: OwnerId,
    indexName: IndexName,
    version: VersionId,
    manifest: Manifest,
    digests: Map<string, PartDigest>,
    copied: (name: string) => Promise<void>,
  ): Promise<IndexPartsReader> {
    const { objects } = this.stores;
    const names = Object.keys(manifest.parts);
    const keyOf = (name: string) => indexPartObjectKey(ownerId, indexName, version, name);
    const heads = await mapLimited(names, S3_CONCURRENCY, (name) => objects.head(indexPartUploadKey(ownerId, indexName, version, name)));
    const sizes = new Map<string, number>();
    names.forEach((name, i) => {
      const head = heads[i];
      if (head === undefined) {
        throw new InvalidInputError(`part "${name}" of version "${version}" was not uploaded: PUT it to the URL from create-version, then publish`);
      }
      if (head.size !== manifest.parts[name]) {
        throw new InvalidInputError(`part "${name}" of version "${version}" is ${head.size} bytes, but ${manifest.parts[name]} were declared`);
      }
      sizes.set(name, head.size);
    });
    // Digests are taken of the copies, which only CS1 writes: what they fix is what serves.
    await mapLimited(names, S3_CONCURRENCY, async (name) => {
      await this.copy(indexPartUploadKey(ownerId, indexName, version, name), keyOf(name));
      digests.set(name, await digestObject(sizes.get(name)!, (start, end) => objects.getRange(keyOf(name), start, end)));
      await copied(name);
    });
    const declared = (name: string) => {
      if (!sizes.has(name)) throw new InvalidInputError(`version "${version}" has no part "${name}"`);
      return keyOf(name);
    };
    return {
      ownerId,
      indexName,
      version,
      names,
      size: (name) => {
        declared(name);
        return sizes.get(name)!;
      },
      read: (name) => objects.get(declared(name)),
      readRange: (name, start, end) => objects.getRange(declared(name), start, end),
      writeDerived: async (name, bytes) => {
        if (sizes.has(name) || name === MANIFEST_PART) throw new Error(`derived object "${name}" would overwrite an uploaded part`);
        await objects.put(keyOf(name), bytes);
        digests.set(name, digestBytes(bytes));
        return { version, part: name };
      },
      ref: (name) => {
        keyOf(name);
        return { version, part: name };
      },
      priorVersion: async (prior) => {
        const found = prior === version ? undefined : await this.stores.indexes.getVersion(ownerId, indexName, prior);
        return found?.status === 'complete' ? found : undefined;
      },
    };
  }

  /** The serving version of an index and its kind's summary; NotFoundError if none. */
  async describe(ownerId: OwnerId, indexName: IndexName): Promise<IndexDescription> {
    const current = await this.stores.indexes.getCurrent(ownerId, indexName);
    if (current === undefined) throw new NotFoundError(`index "${indexName}" does not exist or has no published version`);
    const version = await this.stores.indexes.getVersion(ownerId, indexName, current.version);
    if (version === undefined) throw new Error(`index "${indexName}": the current version "${current.version}" is missing from the catalog`);
    // Summaries may hand out download URLs, only ever for this owner's index.
    const access: IndexSummaryAccess = {
      presignGet: async (ref, expiresInSeconds) => {
        const presigned = await this.stores.objects.presignGet(indexPartObjectKey(ownerId, indexName, ref.version, ref.part), { expiresInSeconds });
        return { url: presigned.url, method: 'GET', headers: { ...presigned.headers }, expiresAt: presigned.expiresAt.toISOString() };
      },
    };
    let summary: JsonObject;
    try {
      summary = await (await this.kinds.summarizer(current.kind)).summarize(version.metadata, access);
    } catch (error) {
      // Stored metadata that does not parse is the server's fault, not the caller's.
      if (isBlindsightError(error) && error.code === 'MALFORMED_DATA') {
        throw new BlindsightError('INTERNAL', `index "${indexName}" version "${current.version}": ${error.message}`, { cause: error });
      }
      throw error;
    }
    const provenance = await readProvenance(version);
    return {
      indexName,
      version: current.version,
      kind: current.kind,
      publishedAt: current.publishedAt,
      previousVersion: current.previousVersion ?? null,
      summary,
      ...(provenance !== undefined ? { provenance } : {}),
    };
  }
}
