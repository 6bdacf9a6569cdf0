/**
 * Handing out sealed leaves (CS1's whole part in a sealed search): the caller names a version
 * of the index and exactly L leaf numbers; CS1 checks them and returns exactly those leaves, as
 * stored, either as bytes or as presigned byte-range GETs. It never receives a query, a vector
 * or a score, and cannot tell the real leaves from the decoys; what it logs is counts.
 *
 * Versions: a request may name the serving version or the one it replaced (a search that
 * started just before a publish finishes on the version it began with); anything else is a 409
 * naming the serving version. A pointer cached by this process that disagrees with the request
 * is read again before refusing, so a client that has just seen a publish is never turned away.
 *
 * Bytes are read from S3 by range (adjacent leaves coalesced, a bounded number in parallel) and
 * kept in a byte-bounded LoadingCache: sealed leaves are immutable, and identical for every caller.
 */
import { MAX_SEALED_LEAVES_PER_REQUEST } from '../../api/limits';
import { BlindsightError, ConflictError, InvalidInputError, isBlindsightError, NotFoundError } from '../../core/errors';
import { createLimiter } from '../../core/concurrency';
import { LoadingCache } from '../../core/loading-cache';
import { indexPartObjectKey } from '../../storage/object-keys';
import type { CurrentIndexVersion, IndexCatalog, ObjectStore } from '../../storage/types';
import type { CurrentVersionCache } from '../versions/current-version-cache';
import { S3_CONCURRENCY } from '../limits';
import { parseSealedMetadata } from './sealed-metadata';
import type { SealedMetadata } from './sealed-metadata';
import type { PresignedUrl } from '../types';
import { parseVersionId } from '../../core/ids';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

/** Bytes answered inline at most: base64 in JSON must stay below Lambda's 6 MB response limit. */
export const MAX_SEALED_INLINE_BYTES = 4 * 1024 * 1024;
export const SEALED_LEAF_URL_SECONDS = 5 * 60;
const MAX_VERSIONS = 16;
/** Coalesced range reads stop growing here. */
const MAX_COALESCED_BYTES = 8 * 1024 * 1024;
/** What a kept leaf counts against the cache's bytes (its bytes plus the entry's overhead). */
const leafCost = (leaf: Uint8Array): number => leaf.length + 64;
const alreadyCached = (): Promise<Uint8Array> => Promise.reject(new Error('leaf cache: a present entry was loaded again'));

export type SealedDelivery = 'bytes' | 'urls';

/** As the request body holds it: leaves() parses the version. */
export interface SealedLeavesRequest {
  readonly version: string;
  /** Exactly the index's L leaf numbers, distinct. */
  readonly leaves: readonly number[];
  /** 'bytes' (default): the leaves in the answer; 'urls': one presigned byte-range GET per leaf. */
  readonly delivery?: SealedDelivery;
}

export interface SealedLeavesResponse {
  readonly version: VersionId;
  readonly leafBytes: number;
  /** The leaves answered, in request order. */
  readonly leaves: readonly number[];
  /** 'bytes': the leaves back to back in `leaves` order. */
  readonly data?: Uint8Array;
  /** 'urls': one GET per leaf in `leaves` order (send its headers: the range is signed). */
  readonly downloads?: readonly PresignedUrl[];
  /** For logs (counts only). */
  readonly stats: { readonly bytes: number; readonly fetched: number; readonly cached: number; readonly rangeReads: number };
}

interface LoadedVersion {
  readonly version: VersionId;
  readonly metadata: SealedMetadata;
  readonly objectKey: string;
}

function checkLeaves(leaves: readonly number[], layout: SealedMetadata['layout'], indexName: IndexName): void {
  if (leaves.length !== layout.leavesPerQuery) {
    throw new InvalidInputError(`index "${indexName}" hands out exactly ${layout.leavesPerQuery} leaves per request (its L); ${leaves.length} were asked for`);
  }
  const seen = new Set<number>();
  for (const leaf of leaves) {
    if (!Number.isInteger(leaf) || leaf < 0 || leaf >= layout.leafCount) {
      throw new InvalidInputError(`leaf numbers must be integers from 0 to ${layout.leafCount - 1}`);
    }
    if (seen.has(leaf)) throw new InvalidInputError('leaf numbers must be distinct');
    seen.add(leaf);
  }
}

export class SealedLeafService {
  private readonly versions = new LoadingCache<string, LoadedVersion>({ maxSize: MAX_VERSIONS });
  private readonly blocks: LoadingCache<string, Uint8Array>;

  constructor(
    private readonly stores: { readonly objects: ObjectStore; readonly indexes: IndexCatalog },
    private readonly pointers: CurrentVersionCache,
    options: { readonly cacheBytes: number },
  ) {
    this.blocks = new LoadingCache({ maxSize: options.cacheBytes, sizeOf: leafCost });
  }

  async leaves(ownerId: OwnerId, indexName: IndexName, request: SealedLeavesRequest): Promise<SealedLeavesResponse> {
    const version = parseVersionId(request.version);
    if (!Array.isArray(request.leaves) || request.leaves.length < 1 || request.leaves.length > MAX_SEALED_LEAVES_PER_REQUEST) {
      throw new InvalidInputError(`leaves must list 1 to ${MAX_SEALED_LEAVES_PER_REQUEST} leaf numbers`);
    }
    const delivery = request.delivery ?? 'bytes';
    if (delivery !== 'bytes' && delivery !== 'urls') throw new InvalidInputError('delivery must be "bytes" or "urls"');
    await this.checkVersion(ownerId, indexName, version);
    const loaded = await this.load(ownerId, indexName, version);
    const { layout } = loaded.metadata;
    checkLeaves(request.leaves, layout, indexName);
    const total = request.leaves.length * layout.leafBytes;

    if (delivery === 'urls') {
      const downloads = await Promise.all(
        request.leaves.map(async (leaf) => {
          const start = leaf * layout.leafBytes;
          const presigned = await this.stores.objects.presignGet(loaded.objectKey, {
            expiresInSeconds: SEALED_LEAF_URL_SECONDS,
            range: { start, endExclusive: start + layout.leafBytes },
          });
          return { url: presigned.url, method: presigned.method, headers: { ...presigned.headers }, expiresAt: presigned.expiresAt.toISOString() };
        }),
      );
      return { version: loaded.version, leafBytes: layout.leafBytes, leaves: [...request.leaves], downloads, stats: { bytes: total, fetched: 0, cached: 0, rangeReads: 0 } };
    }
    if (total > MAX_SEALED_INLINE_BYTES) {
      throw new InvalidInputError(`${total} bytes of leaves do not fit one answer (at most ${MAX_SEALED_INLINE_BYTES}): ask with delivery "urls"`);
    }
    const { blocks, stats } = await this.read(loaded, indexName, request.leaves);
    const data = new Uint8Array(total);
    request.leaves.forEach((leaf, i) => data.set(blocks.get(leaf)!, i * layout.leafBytes));
    return { version: loaded.version, leafBytes: layout.leafBytes, leaves: [...request.leaves], data, stats: { bytes: total, ...stats } };
  }

  /** The request's version must serve, or be the one the serving version replaced. */
  private async checkVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<void> {
    const accepts = (current: CurrentIndexVersion | undefined) => current !== undefined && (current.version === version || current.previousVersion === version);
    let current = await this.pointers.get(ownerId, indexName);
    if (!accepts(current)) current = await this.pointers.get(ownerId, indexName, { fresh: true });
    if (current === undefined) throw new NotFoundError(`index "${indexName}" does not exist or has no published version`);
    if (current.kind !== 'sealed') {
      throw new InvalidInputError(`index "${indexName}" is a "${current.kind}" index: leaves are handed out for sealed indexes only`);
    }
    if (!accepts(current)) {
      throw new ConflictError(`index "${indexName}" serves version "${current.version}", not "${version}": read the index again and search that version`);
    }
  }

  private load(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<LoadedVersion> {
    return this.versions.get(`${ownerId}/${indexName}/${version}`, () => this.readVersion(ownerId, indexName, version));
  }

  private async readVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<LoadedVersion> {
    const item = await this.stores.indexes.getVersion(ownerId, indexName, version);
    if (item === undefined || item.status !== 'complete') throw new NotFoundError(`index "${indexName}" has no version "${version}"`);
    let metadata: SealedMetadata;
    try {
      metadata = parseSealedMetadata(item.metadata);
    } catch (error) {
      throw new BlindsightError('INTERNAL', `stored data of index "${indexName}" version "${version}" is unreadable: ${(error as Error).message}`, { cause: error });
    }
    // The key is rebuilt with the caller's owner id: stored data never points elsewhere.
    return { version, metadata, objectKey: indexPartObjectKey(ownerId, indexName, metadata.leaves.ref.version, metadata.leaves.ref.part) };
  }

  private async read(loaded: LoadedVersion, indexName: IndexName, leaves: readonly number[]): Promise<{ blocks: Map<number, Uint8Array>; stats: { fetched: number; cached: number; rangeReads: number } }> {
    const { leafBytes } = loaded.metadata.layout;
    const blocks = new Map<number, Uint8Array>();
    const waits: Promise<void>[] = [];
    const missing: number[] = [];
    let cached = 0;
    const cacheKey = (leaf: number) => `${loaded.objectKey}#${leaf * leafBytes}#${leafBytes}`;
    for (const leaf of leaves) {
      const hit = this.blocks.peek(cacheKey(leaf));
      if (hit !== undefined) {
        blocks.set(leaf, hit);
        cached++;
        continue;
      }
      if (this.blocks.has(cacheKey(leaf))) {
        // Being read by another request: wait for that read.
        waits.push(this.blocks.get(cacheKey(leaf), alreadyCached).then((bytes) => void blocks.set(leaf, bytes)));
        cached++;
        continue;
      }
      missing.push(leaf);
    }
    // Adjacent leaves in one range read.
    missing.sort((a, b) => a - b);
    const runs: number[][] = [];
    for (const leaf of missing) {
      const run = runs.at(-1);
      if (run !== undefined && run.at(-1)! + 1 === leaf && (run.length + 1) * leafBytes <= MAX_COALESCED_BYTES) run.push(leaf);
      else runs.push([leaf]);
    }
    const limit = createLimiter(S3_CONCURRENCY);
    for (const run of runs) {
      const start = run[0] * leafBytes;
      const bytes = limit(() => this.stores.objects.getRange(loaded.objectKey, start, start + run.length * leafBytes)).then((data) => {
        if (data.length !== run.length * leafBytes) throw new Error(`short read: ${data.length} of ${run.length * leafBytes} bytes`);
        return data;
      });
      run.forEach((leaf, i) => {
        const block = this.blocks.get(cacheKey(leaf), async () => (await bytes).slice(i * leafBytes, (i + 1) * leafBytes));
        waits.push(block.then((value) => void blocks.set(leaf, value)));
      });
    }
    try {
      await Promise.all(waits);
    } catch (error) {
      // A missing object or short read means the stored index is damaged: a server fault.
      if (isBlindsightError(error) && !['NOT_FOUND', 'MALFORMED_DATA', 'INVALID_INPUT'].includes(error.code)) throw error;
      throw new BlindsightError('INTERNAL', `stored leaves of index "${indexName}" version "${loaded.version}" are unreadable: ${(error as Error).message}`, { cause: error });
    }
    return { blocks, stats: { fetched: missing.length, cached, rangeReads: runs.length } };
  }
}
