/**
 * Adding and deleting single images of a published SEI index, copy-on-write (the semantics of
 * lib/sei/index-tree/update.ts: the paper's greedy descent places a new image, delete swaps
 * with the leaf's last image, node vectors never move, rebuild advice from the counters).
 *
 * Each update makes a NEW version from the current one: it reads only the leaf it changes and
 * one image-directory shard, writes that leaf and that shard as new S3 objects under the new
 * version's prefix, points the new leaf-locations table at them (every other block still points
 * at the objects of older versions), re-encodes the skeleton's trailer with the new leaf count
 * and counters, stages the version, and publishes it only if the index still serves the version
 * it read. A concurrent change makes it fail with 409 and changes nothing; on any failure the
 * half-made version is removed again (best effort: what remains is never served).
 */
import { digestBytes, encodePartDigests, PART_DIGESTS_BLOB } from '../versions/part-digests';
import { encodeProvenance, PROVENANCE_BLOB, withUpdate } from '../versions/signed-manifests';
import type { IndexProvenance } from '../../client/index-manifest';
import { BlindsightError, ConflictError, InvalidInputError, NotFoundError } from '../../core/errors';
import { encodeLeafBlock } from '../../sei/index-tree/format';
import { addImage, assertOnIndexSubspace, deleteImage, nearestLeaf, rebuildAdvice } from '../../sei/index-tree/update';
import type { RebuildAdvice } from '../../sei/index-tree/update';
import type { EncryptedIndexTree, EncryptedLeaf } from '../../sei/index-tree/types';
import { indexPartObjectKey } from '../../storage/object-keys';
import type { IndexCatalog, ObjectStore } from '../../storage/types';
import type { CurrentVersionCache } from '../versions/current-version-cache';
import type { LoadedSeiIndex, SeiIndexCache } from './sei-index-cache';
import { encodeDirectoryShard, shardOf } from './sei-image-directory';
import type { DirectoryShard } from './sei-image-directory';
import { encodeSeiLocations, LEAF_LOCATIONS_BLOB, relocateBlocks } from './sei-locations';
import type { SeiLocations } from './sei-locations';
import { seiMetadataToJson, SKELETON_OBJECT } from './sei-metadata';
import type { SeiMetadata } from './sei-metadata';
import { rewriteSkeletonTrailer } from './sei-skeleton';
import { newVersionName } from '../versions/version-names';
import { assertScoreOperands } from '../../sei/score';
import { parseImageId } from '../../core/ids';
import type { ImageId, IndexName, OwnerId, VersionId } from '../../core/ids';

/** As the request body holds it: addImage parses the id. */
export interface AddImageRequest {
  readonly imageId: string;
  /** The image's encrypted index vector f' (m entries). */
  readonly vector: ArrayLike<number>;
  /** A trapdoor of the same feature vector under a key the owner issued to itself (m entries). */
  readonly placementTrapdoor: ArrayLike<number>;
}

export interface UpdateResult {
  readonly version: VersionId;
  readonly previousVersion: VersionId;
  readonly imageId: ImageId;
  /** The leaf that changed. */
  readonly leaf: number;
  readonly imageCount: number;
  readonly rebuildAdvice: RebuildAdvice;
}

export const RACE_MESSAGE = 'the index changed while you were updating it; retry';
const EMPTY = new Float64Array(0);

function toVector(values: ArrayLike<number>, field: string, m: number): Float64Array {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new InvalidInputError(`${field} must be a list of numbers`);
  }
  if (values.length !== m) throw new InvalidInputError(`${field} has ${values.length} entries, this index needs ${m}`);
  const vector = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const value = values[j];
    // Non-numbers become NaN, which the check below names.
    vector[j] = typeof value === 'number' ? value : Number.NaN;
  }
  assertScoreOperands(vector, field);
  return vector;
}

/**
 * The tree the update functions of lib/sei work on: the loaded structure, every leaf as a
 * count-only stand-in except a private copy of the one leaf that changes (cached leaves are
 * shared and must never change), and the ids of one directory shard as `locations` (the only
 * ids the duplicate check or the delete can involve).
 */
function workingTree(base: LoadedSeiIndex, leafIndex: number, leaf: EncryptedLeaf, shard: DirectoryShard): EncryptedIndexTree {
  const { leafDirectory, ...structure } = base.skeleton;
  const leaves: EncryptedLeaf[] = leafDirectory.map((entry) => ({ vectors: EMPTY, ids: [], count: entry.count }));
  const m = base.skeleton.m;
  leaves[leafIndex] = { vectors: leaf.vectors.slice(0, leaf.count * m), ids: [...leaf.ids], count: leaf.count };
  return { ...structure, updates: { ...base.skeleton.updates }, leaves, locations: new Map(shard) };
}

function internal(message: string): BlindsightError {
  return new BlindsightError('INTERNAL', message);
}

/** One image added or deleted: the leaf and the directory shard it changes, and the shard's new content. */
interface SeiChange {
  readonly operation: 'add' | 'delete';
  readonly imageId: ImageId;
  readonly leafIndex: number;
  readonly shardIndex: number;
  readonly shard: DirectoryShard;
}

/** A new version's content: what it writes (leaf, shard, skeleton) and what it records. */
interface NextVersion {
  readonly leaf: EncryptedLeaf;
  readonly parts: ReadonlyArray<{ readonly part: string; readonly bytes: Uint8Array }>;
  /** The re-encoded skeleton, and what it decodes to. */
  readonly skeleton: { readonly bytes: Uint8Array; readonly skeleton: LoadedSeiIndex['skeleton'] };
  readonly locations: SeiLocations;
  readonly metadata: SeiMetadata;
  readonly provenance: IndexProvenance | undefined;
}

/**
 * The version made from `base` by one change to `tree`: the changed leaf and shard encoded as
 * new objects under the version's prefix, the skeleton's trailer re-encoded with the new leaf
 * count and counters, the leaf-locations table pointing at the new objects (every other block
 * keeps pointing at older versions'), and the metadata and provenance naming the change.
 */
function nextVersion(base: LoadedSeiIndex, tree: EncryptedIndexTree, change: SeiChange, version: VersionId): NextVersion {
  const leaf = tree.leaves[change.leafIndex];
  const leafBytes = encodeLeafBlock(leaf, base.skeleton.m);
  const shardBytes = encodeDirectoryShard(change.shard);
  const leafRef = { version, part: `leaf-${change.leafIndex}` };
  const shardRef = { version, part: `directory-shard-${change.shardIndex}` };
  const directory = base.skeleton.leafDirectory.map((entry, i) =>
    i === change.leafIndex ? { count: leaf.count, byteLength: leafBytes.length } : entry,
  );
  const skeleton = rewriteSkeletonTrailer(base.skeletonBytes, base.skeleton, tree.updates, directory);
  const locations = relocateBlocks(base.locations, {
    leaf: { index: change.leafIndex, ref: leafRef, length: leafBytes.length, count: leaf.count },
    shard: { index: change.shardIndex, ref: shardRef, length: shardBytes.length, count: change.shard.size },
  });
  const metadata: SeiMetadata = {
    ...base.metadata,
    skeleton: { version, part: SKELETON_OBJECT },
    imageCount: base.metadata.imageCount + (change.operation === 'add' ? 1 : -1),
    updates: { ...tree.updates },
    derivedFrom: { version: base.version, operation: change.operation, imageId: change.imageId, leaf: change.leafIndex },
  };
  // Clients see that this version is the owner's signed one plus updates CS1 made on the owner's token.
  const provenance = withUpdate(base.provenance, { version, previousVersion: base.version, operation: change.operation, imageId: change.imageId });
  const parts = [
    { part: leafRef.part, bytes: leafBytes },
    { part: shardRef.part, bytes: shardBytes },
    { part: SKELETON_OBJECT, bytes: skeleton.bytes },
  ];
  return { leaf, parts, skeleton, locations, metadata, provenance };
}

export class SeiUpdateService {
  constructor(
    private readonly stores: { readonly objects: ObjectStore; readonly indexes: IndexCatalog },
    private readonly cache: SeiIndexCache,
    private readonly now: () => Date = () => new Date(),
    /** The process' pointer cache: an update published here drops its entry. */
    private readonly pointers?: Pick<CurrentVersionCache, 'forget'>,
  ) {}

  private async currentIndex(ownerId: OwnerId, indexName: IndexName): Promise<LoadedSeiIndex> {
    const current = await this.stores.indexes.getCurrent(ownerId, indexName);
    if (current === undefined) throw new NotFoundError(`index "${indexName}" does not exist or has no published version`);
    if (current.kind !== 'sei') {
      throw new InvalidInputError(`index "${indexName}" is a "${current.kind}" index: images are added and deleted one by one only in SEI indexes`);
    }
    return this.cache.load(ownerId, indexName, current.version);
  }

  async addImage(ownerId: OwnerId, indexName: IndexName, request: AddImageRequest): Promise<UpdateResult> {
    const imageId = parseImageId(request.imageId);
    const base = await this.currentIndex(ownerId, indexName);
    const { m } = base.skeleton;
    const vector = toVector(request.vector, 'vector', m);
    const placement = toVector(request.placementTrapdoor, 'placementTrapdoor', m);
    assertOnIndexSubspace(base.skeleton, vector, 'vector');

    // The leaf a search with the placement trapdoor ranks first (the paper's greedy descent on a descent index).
    const leafIndex = nearestLeaf(base.skeleton, placement);
    const shardIndex = shardOf(imageId, base.locations.shards.length);
    const [shard, fetched] = await Promise.all([this.cache.shard(base, shardIndex), this.cache.leaves(base, [leafIndex])]);
    const tree = workingTree(base, leafIndex, fetched.leaves.get(leafIndex)!, shard);
    const placed = addImage(tree, imageId, vector, placement);
    if (placed.leaf !== leafIndex) throw internal('the placement of the new image changed between two descents');
    const nextShard = new Map(shard).set(imageId, leafIndex);
    return this.commit(base, tree, { operation: 'add', imageId, leafIndex, shardIndex, shard: nextShard });
  }

  async deleteImage(ownerId: OwnerId, indexName: IndexName, imageId: ImageId): Promise<UpdateResult> {
    const base = await this.currentIndex(ownerId, indexName);
    const shardIndex = shardOf(imageId, base.locations.shards.length);
    const shard = await this.cache.shard(base, shardIndex);
    const leafIndex = shard.get(imageId);
    if (leafIndex === undefined) throw new NotFoundError(`image "${imageId}" is not in index "${indexName}"`);
    const leaf = (await this.cache.leaves(base, [leafIndex])).leaves.get(leafIndex)!;
    if (!leaf.ids.includes(imageId)) {
      throw internal(`index "${indexName}" version "${base.version}": the image directory puts "${imageId}" in leaf ${leafIndex}, which does not hold it`);
    }
    const tree = workingTree(base, leafIndex, leaf, shard);
    deleteImage(tree, imageId);
    const nextShard = new Map(shard);
    nextShard.delete(imageId);
    return this.commit(base, tree, { operation: 'delete', imageId, leafIndex, shardIndex, shard: nextShard });
  }

  /** Writes the new version (changed leaf, changed shard, skeleton, table) and publishes it. */
  private async commit(base: LoadedSeiIndex, tree: EncryptedIndexTree, change: SeiChange): Promise<UpdateResult> {
    const version = newVersionName(this.now());
    const next = nextVersion(base, tree, change, version);
    await this.stageAndPublish(base, version, next);
    const loaded: LoadedSeiIndex = {
      ownerId: base.ownerId,
      indexName: base.indexName,
      version,
      metadata: next.metadata,
      skeleton: next.skeleton.skeleton,
      skeletonBytes: next.skeleton.bytes,
      locations: next.locations,
      ...(next.provenance !== undefined ? { provenance: next.provenance } : {}),
    };
    const { leaf } = next;
    this.cache.remember(loaded);
    this.cache.rememberBlock(loaded, next.locations.leaves[change.leafIndex], { vectors: leaf.vectors.slice(0, leaf.count * base.skeleton.m), ids: [...leaf.ids], count: leaf.count });
    this.cache.rememberBlock(loaded, next.locations.shards[change.shardIndex], change.shard);
    const imageCount = next.metadata.imageCount;
    return { version, previousVersion: base.version, imageId: change.imageId, leaf: change.leafIndex, imageCount, rebuildAdvice: rebuildAdvice(tree) };
  }

  /**
   * Writes the version's three new objects, stages it with its leaf-locations table and part
   * digests, and publishes it if the index still serves `base`. On any failure the half-made
   * version is discarded; a lost race is a ConflictError with RACE_MESSAGE.
   */
  private async stageAndPublish(base: LoadedSeiIndex, version: VersionId, next: NextVersion): Promise<void> {
    const { ownerId, indexName } = base;
    const written: string[] = [];
    let stageAttempted = false;
    try {
      await Promise.all(
        next.parts.map(async ({ part, bytes }) => {
          const key = indexPartObjectKey(ownerId, indexName, version, part);
          written.push(key);
          await this.stores.objects.put(key, bytes);
        }),
      );
      stageAttempted = true;
      await this.stores.indexes.stageVersion(ownerId, indexName, version, {
        kind: 'sei',
        metadata: seiMetadataToJson(next.metadata),
        blobs: {
          [LEAF_LOCATIONS_BLOB]: encodeSeiLocations(next.locations),
          // The objects this version wrote; the rest keep the digests of the versions that wrote them.
          [PART_DIGESTS_BLOB]: encodePartDigests(new Map(next.parts.map(({ part, bytes }) => [part, digestBytes(bytes)]))),
          ...(next.provenance !== undefined ? { [PROVENANCE_BLOB]: encodeProvenance(next.provenance) } : {}),
        },
      });
      await this.stores.indexes.publish(ownerId, indexName, version, base.version);
      this.pointers?.forget(ownerId, indexName);
    } catch (error) {
      await this.discard(ownerId, indexName, version, stageAttempted, written);
      if (error instanceof ConflictError) throw new ConflictError(RACE_MESSAGE);
      throw error;
    }
  }

  /**
   * Removes a version that did not become current. Its objects are deleted only once nothing
   * can refer to them: its catalog entry was never written or is gone (deleteVersion refuses
   * the current version, so a publish that succeeded but reported an error keeps its data).
   */
  private async discard(ownerId: OwnerId, indexName: IndexName, version: VersionId, stageAttempted: boolean, keys: string[]): Promise<void> {
    try {
      if (stageAttempted) {
        try {
          await this.stores.indexes.deleteVersion(ownerId, indexName, version);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
        }
      }
      await Promise.all(keys.map((key) => this.stores.objects.delete(key)));
    } catch {
      // Left behind: an unpublished version that is never served. Not the caller's problem.
    }
  }
}
