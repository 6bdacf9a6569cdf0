/**
 * Two-server index versions loaded into memory, kept across warm invocations and keyed by
 * (ownerId, indexName, version): the decoded CS1 index (segments, metadata, encrypted reference
 * points, template ids) and the HE evaluator built from the evaluation material. Records are
 * not cached: each query reads its candidates' records by byte range.
 *
 * Requests hold a LEASE on a loaded version for their whole run, so neither eviction nor a
 * newer publish can dispose the evaluator under them (the evaluator holds WASM memory for bfv
 * and is disposed once evicted AND released by every holder: LoadingCache). A failed load is
 * not cached.
 */
import type { IndexProvenance } from '../../client/index-manifest';
import { readProvenance } from '../versions/signed-manifests';
import { SETTINGS } from '../../config/settings';
import { BlindsightError, isBlindsightError } from '../../core/errors';
import { LoadingCache } from '../../core/loading-cache';
import { loadHeEvaluator } from '../../he/evaluator';
import type { HeEvaluator } from '../../he/types';
import type { IndexCatalog } from '../../storage/types';
import { decodeCs1Index } from '../../twoserver/protocol/cs1-index-codec';
import type { Cs1Index } from '../../twoserver/protocol/types';
import { CS1_INDEX_BLOB, EVALUATION_BLOB, parseTwoServerMetadata } from './metadata';
import type { TwoServerMetadata } from './metadata';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

export interface LoadedTwoServerIndex {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly metadata: TwoServerMetadata;
  readonly index: Cs1Index;
  readonly evaluator: HeEvaluator;
  /** The owner's signed manifest (absent: published unsigned). */
  readonly provenance?: IndexProvenance;
}

export interface TwoServerIndexLease {
  readonly loaded: LoadedTwoServerIndex;
  /** Gives the version back (idempotent). */
  release(): void;
}

/** Stored index data that cannot be read back is a server fault (500), never the caller's. */
function corrupt(indexName: IndexName, version: VersionId, error: unknown): BlindsightError {
  if (isBlindsightError(error) && (error.code === 'INTERNAL' || error.code === 'UNAVAILABLE')) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new BlindsightError('INTERNAL', `stored data of index "${indexName}" version "${version}" is unreadable: ${detail}`, { cause: error });
}

export class TwoServerIndexCache {
  private readonly versions: LoadingCache<string, LoadedTwoServerIndex>;
  /** Loads from the catalog so far (tests check warm reuse). */
  loads = 0;

  constructor(
    private readonly catalog: IndexCatalog,
    maxVersions: number = SETTINGS.twoServerCacheVersions.default,
  ) {
    if (!Number.isInteger(maxVersions) || maxVersions < 1) throw new Error('TwoServerIndexCache: maxVersions must be a positive integer');
    this.versions = new LoadingCache({ maxSize: maxVersions, dispose: (loaded) => loaded.evaluator.dispose() });
  }

  get size(): number {
    return this.versions.size;
  }

  async acquire(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<TwoServerIndexLease> {
    const lease = await this.versions.acquire(`${ownerId}/${indexName}/${version}`, () => this.load(ownerId, indexName, version));
    return { loaded: lease.value, release: lease.release };
  }

  private async load(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<LoadedTwoServerIndex> {
    this.loads++;
    const stored = await this.catalog.getVersion(ownerId, indexName, version);
    if (stored === undefined || stored.kind !== 'two-server') {
      throw new BlindsightError('INTERNAL', `index "${indexName}": the current version "${version}" is missing from the catalog or not a two-server index`);
    }
    let metadata: TwoServerMetadata;
    let index: Cs1Index;
    let evaluationBytes: Uint8Array;
    let provenance: IndexProvenance | undefined;
    try {
      metadata = parseTwoServerMetadata(stored.metadata);
      index = decodeCs1Index(await stored.readBlob(CS1_INDEX_BLOB));
      evaluationBytes = await stored.readBlob(EVALUATION_BLOB);
      provenance = await readProvenance(stored);
    } catch (error) {
      throw corrupt(indexName, version, error);
    }
    let evaluator: HeEvaluator;
    try {
      evaluator = await loadHeEvaluator(evaluationBytes);
    } catch (error) {
      throw corrupt(indexName, version, error);
    }
    if (evaluator.descriptor.keyId !== metadata.keyId || evaluator.descriptor.queryBytes !== metadata.queryBytes) {
      evaluator.dispose();
      throw corrupt(indexName, version, new Error('the evaluation material does not match the metadata'));
    }
    return { ownerId, indexName, version, metadata, index, evaluator, ...(provenance !== undefined ? { provenance } : {}) };
  }

  /** Drops every version (disposed once released). */
  clear(): void {
    this.versions.clear();
  }
}
