/**
 * SEI indexes loaded into memory, kept across warm invocations of a function.
 *
 * Versions: the skeleton (from its S3 object) and the leaf-locations table are loaded once
 * per (ownerId, indexName, version) and kept in a small LRU. A caller holds the loaded version
 * for its whole request, so eviction or a newer publish never changes what it is working on.
 *
 * Blocks: leaves (and image-directory shards) are fetched lazily, only those a request plans
 * to visit, by S3 byte-range reads (adjacent blocks of one object coalesced into one read, a
 * bounded number in parallel), decoded and kept in one byte-bounded LRU. Blocks are cached by
 * their physical location (object key, offset, length): objects under a version prefix are
 * written once, and copy-on-write versions share the unchanged blocks of older versions, so a
 * leaf is cached once however many versions point at it. The object key contains the owner id,
 * so owners never share entries.
 */
import type { IndexProvenance } from '../../client/index-manifest';
import { readProvenance } from '../versions/signed-manifests';
import { BlindsightError, ConflictError, InvalidInputError, isBlindsightError, NotFoundError } from '../../core/errors';
import { decodeIndexSkeleton, decodeLeafBlock } from '../../sei/index-tree/format';
import type { IndexSkeleton } from '../../sei/index-tree/format';
import type { EncryptedLeaf } from '../../sei/index-tree/types';
import { indexPartObjectKey } from '../../storage/object-keys';
import type { IndexCatalog, IndexVersion, ObjectStore } from '../../storage/types';
import { createLimiter } from '../../core/concurrency';
import { LoadingCache } from '../../core/loading-cache';
import { S3_CONCURRENCY } from '../limits';
import { decodeDirectoryShard } from './sei-image-directory';
import type { DirectoryShard } from './sei-image-directory';
import { checkLocationsMatchSkeleton, decodeSeiLocations, LEAF_LOCATIONS_BLOB } from './sei-locations';
import type { BlockLocation, SeiLocations } from './sei-locations';
import { parseSeiMetadata, SKELETON_BLOB } from './sei-metadata';
import type { SeiMetadata } from './sei-metadata';
import { VerifiedParts } from '../versions/verified-parts';
import type { PartRef } from '../types';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

const DEFAULT_MAX_VERSIONS = 8;
/** Coalesced range reads stop growing here (bounds the bytes held by one read). */
const MAX_COALESCED_BYTES = 16 * 1024 * 1024;

export interface SeiIndexCacheOptions {
  /** Bytes of decoded leaves and directory shards to keep. */
  readonly cacheBytes: number;
  /** Loaded versions (skeleton and locations) to keep. Default 8. */
  readonly maxVersions?: number;
}

/** One SEI index version in memory: everything but the leaves and the image directory. */
export interface LoadedSeiIndex {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly metadata: SeiMetadata;
  readonly skeleton: IndexSkeleton;
  /** The encoded skeleton, for updates (which re-encode only its trailer). */
  readonly skeletonBytes: Uint8Array;
  readonly locations: SeiLocations;
  /** The owner's signed manifest and the updates since (absent: published unsigned). */
  readonly provenance?: IndexProvenance;
}

export interface BlockFetchStats {
  /** Blocks found in the cache (or already being fetched by another request). */
  readonly cached: number;
  /** Blocks this call fetched from S3. */
  readonly fetched: number;
  /** Range reads this call made. */
  readonly rangeReads: number;
}

type Block = EncryptedLeaf | DirectoryShard;

interface BlockRequest<V extends Block> {
  readonly id: number;
  readonly location: BlockLocation;
  readonly decode: (bytes: Uint8Array) => V;
}

interface MissingBlock {
  readonly id: number;
  readonly ref: PartRef;
  readonly objectKey: string;
  readonly cacheKey: string;
  readonly location: BlockLocation;
  readonly decode: (bytes: Uint8Array) => Block;
}

/** A loader for blocks the caller has just seen in the cache (so it is never called). */
const alreadyCached = (): Promise<Block> => Promise.reject(new Error('block cache: a present entry was loaded again'));

/** Stored index data that cannot be read back is a server fault (500), never the caller's. */
function corrupt(index: { indexName: IndexName; version: VersionId }, error: unknown): BlindsightError {
  const detail = error instanceof Error ? error.message : String(error);
  return new BlindsightError('INTERNAL', `stored data of index "${index.indexName}" version "${index.version}" is unreadable: ${detail}`, {
    cause: error,
  });
}

/** Rough heap bytes of a decoded block (vectors, ids, map entries). */
function blockBytes(block: Block): number {
  if (block instanceof Map) {
    let bytes = 64;
    for (const id of block.keys()) bytes += 64 + id.length * 2;
    return bytes;
  }
  let bytes = 128 + block.vectors.byteLength;
  for (const id of block.ids) bytes += 48 + id.length * 2;
  return bytes;
}

/** Adjacent missing blocks of one object merged into range reads. */
function coalesce(missing: MissingBlock[]): Array<{ objectKey: string; ref: PartRef; start: number; end: number; blocks: MissingBlock[] }> {
  const sorted = [...missing].sort((a, b) => (a.objectKey < b.objectKey ? -1 : a.objectKey > b.objectKey ? 1 : a.location.offset - b.location.offset));
  const reads: Array<{ objectKey: string; ref: PartRef; start: number; end: number; blocks: MissingBlock[] }> = [];
  for (const block of sorted) {
    const last = reads.at(-1);
    const { offset, length } = block.location;
    if (last !== undefined && last.objectKey === block.objectKey && last.end === offset && last.end + length - last.start <= MAX_COALESCED_BYTES) {
      last.end += length;
      last.blocks.push(block);
    } else {
      reads.push({ objectKey: block.objectKey, ref: block.ref, start: offset, end: offset + length, blocks: [block] });
    }
  }
  return reads;
}

export class SeiIndexCache {
  private readonly versions: LoadingCache<string, LoadedSeiIndex>;
  private readonly blocks: LoadingCache<string, Block>;
  /** Every block read is checked against the digests fixed at publish. */
  private readonly verified: VerifiedParts;

  constructor(
    private readonly stores: { readonly objects: ObjectStore; readonly indexes: IndexCatalog },
    options: SeiIndexCacheOptions,
  ) {
    this.versions = new LoadingCache({ maxSize: options.maxVersions ?? DEFAULT_MAX_VERSIONS });
    this.blocks = new LoadingCache({ maxSize: options.cacheBytes, sizeOf: blockBytes });
    this.verified = new VerifiedParts(stores.indexes);
  }

  /** Cached bytes and entries, for logs. */
  get usage(): { versions: number; blocks: number; bytes: number } {
    return { versions: this.versions.size, blocks: this.blocks.size, bytes: this.blocks.totalSize };
  }

  private static versionKey(ownerId: OwnerId, indexName: IndexName, version: VersionId): string {
    return `${ownerId}/${indexName}/${version}`;
  }

  /**
   * The loaded version (from memory when possible). NotFoundError if the catalog has no such
   * version; InvalidInputError if it is not an SEI index.
   */
  load(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<LoadedSeiIndex> {
    return this.versions.get(SeiIndexCache.versionKey(ownerId, indexName, version), () => this.read(ownerId, indexName, version));
  }

  /** Keeps a version built in memory (an update's result), so its next reader loads nothing. */
  remember(index: LoadedSeiIndex): void {
    this.versions.set(SeiIndexCache.versionKey(index.ownerId, index.indexName, index.version), index);
  }

  /**
   * The skeleton's bytes: its S3 object, checked against the digest fixed at publish (one GET;
   * any number of cold functions read it without a hot DynamoDB partition), or for versions
   * staged before, the catalog blob.
   */
  private async readSkeleton(ownerId: OwnerId, indexName: IndexName, metadata: SeiMetadata, item: IndexVersion): Promise<Uint8Array> {
    const ref = metadata.skeleton;
    if (ref === undefined) return item.readBlob(SKELETON_BLOB);
    const digest = await this.verified.digestOf(ownerId, indexName, ref);
    if (digest === undefined) throw new Error(`the skeleton object "${ref.part}" of version "${ref.version}" has no recorded digest`);
    return this.verified.readRange(this.stores.objects, ownerId, indexName, ref, 0, digest.bytes);
  }

  private async read(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<LoadedSeiIndex> {
    const where = { indexName, version };
    const item = await this.stores.indexes.getVersion(ownerId, indexName, version).catch((error: unknown) => {
      throw isBlindsightError(error) && error.code === 'MALFORMED_DATA' ? corrupt(where, error) : error;
    });
    if (item === undefined) throw new NotFoundError(`index "${indexName}" has no version "${version}"`);
    if (item.kind !== 'sei') throw new InvalidInputError(`index "${indexName}" is a "${item.kind}" index, not an SEI index`);
    if (item.status !== 'complete') throw new ConflictError(`index "${indexName}" version "${version}" is not completely staged`);
    try {
      const metadata = parseSeiMetadata(item.metadata);
      const [skeletonBytes, locationBytes, provenance] = await Promise.all([
        this.readSkeleton(ownerId, indexName, metadata, item),
        item.readBlob(LEAF_LOCATIONS_BLOB),
        readProvenance(item),
      ]);
      const skeleton = decodeIndexSkeleton(skeletonBytes);
      const locations = decodeSeiLocations(locationBytes);
      checkLocationsMatchSkeleton(locations, skeleton);
      if (metadata.m !== skeleton.m || metadata.shardCount !== locations.shards.length) {
        throw new Error('the metadata does not match the skeleton or the locations table');
      }
      return { ownerId, indexName, version, metadata, skeleton, skeletonBytes, locations, ...(provenance !== undefined ? { provenance } : {}) };
    } catch (error) {
      // Storage that did not answer, or bytes changed after publish, are not corrupt data.
      if (isBlindsightError(error) && (error.code === 'UNAVAILABLE' || error.code === 'INTEGRITY_FAILED')) throw error;
      throw corrupt(where, error);
    }
  }

  /** The S3 key of a block's object: always rebuilt with the index's own owner id. */
  private objectKeyOf(index: LoadedSeiIndex, location: BlockLocation): string {
    const ref = index.locations.objects[location.object];
    return indexPartObjectKey(index.ownerId, index.indexName, ref.version, ref.part);
  }

  private cacheKeyOf(objectKey: string, location: BlockLocation): string {
    return `${objectKey}#${location.offset}#${location.length}`;
  }

  /** The given leaves of the version, decoded (fetched as needed). */
  async leaves(index: LoadedSeiIndex, leafIndices: Iterable<number>): Promise<{ leaves: Map<number, EncryptedLeaf>; stats: BlockFetchStats }> {
    const { m } = index.skeleton;
    const requests: BlockRequest<EncryptedLeaf>[] = [];
    for (const leaf of new Set(leafIndices)) {
      const location = index.locations.leaves[leaf];
      requests.push({ id: leaf, location, decode: (bytes) => decodeLeafBlock(bytes, m, location.count) });
    }
    const { values, stats } = await this.fetch(index, requests);
    return { leaves: values, stats };
  }

  /** One shard of the version's image directory (id -> leaf). */
  async shard(index: LoadedSeiIndex, shardIndex: number): Promise<DirectoryShard> {
    const location = index.locations.shards[shardIndex];
    const expect = { shardIndex, shardCount: index.locations.shards.length, leafCount: index.locations.leaves.length, count: location.count };
    const { values } = await this.fetch(index, [{ id: shardIndex, location, decode: (bytes) => decodeDirectoryShard(bytes, expect) }]);
    return values.get(shardIndex)!;
  }

  /** Puts a block an update just wrote into the cache (it is immutable from now on). */
  rememberBlock(index: LoadedSeiIndex, location: BlockLocation, block: Block): void {
    this.blocks.set(this.cacheKeyOf(this.objectKeyOf(index, location), location), block);
  }

  private async fetch<V extends Block>(index: LoadedSeiIndex, requests: BlockRequest<V>[]): Promise<{ values: Map<number, V>; stats: BlockFetchStats }> {
    const values = new Map<number, V>();
    const waits: Promise<void>[] = [];
    const missing: MissingBlock[] = [];
    let cached = 0;
    for (const request of requests) {
      const objectKey = this.objectKeyOf(index, request.location);
      const cacheKey = this.cacheKeyOf(objectKey, request.location);
      const hit = this.blocks.peek(cacheKey) as V | undefined;
      if (hit !== undefined) {
        values.set(request.id, hit);
        cached++;
        continue;
      }
      if (this.blocks.has(cacheKey)) {
        // Being fetched by another request: wait for that read.
        waits.push(this.blocks.get(cacheKey, alreadyCached).then((value) => void values.set(request.id, value as V)));
        cached++;
        continue;
      }
      missing.push({ id: request.id, ref: index.locations.objects[request.location.object], objectKey, cacheKey, location: request.location, decode: request.decode });
    }

    const reads = coalesce(missing);
    const limit = createLimiter(S3_CONCURRENCY);
    for (const read of reads) {
      const bytes = limit(() => this.verified.readRange(this.stores.objects, index.ownerId, index.indexName, read.ref, read.start, read.end)).catch((error: unknown) => {
        // A missing object or a short read means the stored index is damaged; anything else
        // (throttling, network) stays what it is.
        throw isBlindsightError(error) && ['NOT_FOUND', 'MALFORMED_DATA', 'INVALID_INPUT'].includes(error.code) ? corrupt(index, error) : error;
      });
      for (const block of read.blocks) {
        const start = block.location.offset - read.start;
        const decoded = this.blocks.get(block.cacheKey, async () => {
          const data = await bytes;
          try {
            return block.decode(data.subarray(start, start + block.location.length));
          } catch (error) {
            throw corrupt(index, error);
          }
        });
        waits.push(decoded.then((value) => void values.set(block.id, value as V)));
      }
    }
    await Promise.all(waits);
    return { values, stats: { cached, fetched: missing.length, rangeReads: reads.length } };
  }
}
