/**
 * Where the bytes of an SEI index version live: the "leaf locations" table, kept as a catalog
 * blob next to the skeleton. Leaf blocks (and image-directory shards) are read from S3 by byte
 * range; a version created by an update points its unchanged blocks at the objects of older
 * versions (copy-on-write), so the table names, per block, which object holds it and where.
 *
 * Format "BSLT" version 1 (little-endian):
 *
 *   magic, u16 version
 *   u32 objectCount, per object: string version, string part      (a PartRef, never a raw key)
 *   u32 leafCount,   per leaf:  u32 object, f64 offset, u32 length, u32 image count
 *   u32 shardCount,  per shard: u32 object, f64 offset, u32 length, u32 id count
 *
 * Offsets are f64 holding safe integers (parts may pass 4 GB one day); lengths are u32 like
 * the skeleton's leaf directory.
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import { MalformedDataError } from '../../core/errors';
import type { IndexSkeleton } from '../../sei/index-tree/format';
import { parseBlobName, parseVersionId } from '../../core/ids';
import { MAX_DIRECTORY_SHARDS } from './sei-image-directory';
import type { PartRef } from '../types';

const MAGIC = 'BSLT';
const VERSION = 1;
const WHAT = 'SEI leaf locations';
/** Catalog blob name of the table. */
export const LEAF_LOCATIONS_BLOB = 'leaf-locations';

/** One block inside an S3 object. */
export interface BlockLocation {
  /** Index into {@link SeiLocations.objects}. */
  readonly object: number;
  readonly offset: number;
  readonly length: number;
  /** Images in a leaf block, ids in a directory shard. */
  readonly count: number;
}

export interface SeiLocations {
  readonly objects: readonly PartRef[];
  /** One per leaf of the skeleton, in leaf order. */
  readonly leaves: readonly BlockLocation[];
  /** One per image-directory shard (a power of two). */
  readonly shards: readonly BlockLocation[];
}

function writeBlocks(w: BinaryWriter, blocks: readonly BlockLocation[]): void {
  w.u32(blocks.length);
  for (const b of blocks) w.u32(b.object).f64(b.offset).u32(b.length).u32(b.count);
}

export function encodeSeiLocations(locations: SeiLocations): Uint8Array {
  const w = new BinaryWriter(64 + locations.objects.length * 96 + (locations.leaves.length + locations.shards.length) * 20);
  w.header(MAGIC, VERSION).u32(locations.objects.length);
  for (const ref of locations.objects) w.string(ref.version).string(ref.part);
  writeBlocks(w, locations.leaves);
  writeBlocks(w, locations.shards);
  return w.finish();
}

function readBlocks(r: BinaryReader, what: string, objectCount: number, max: number): BlockLocation[] {
  // 20 bytes per entry: a count beyond what remains is corruption, not an allocation to try.
  const count = r.u32InRange(`${what} count`, 0, Math.min(max, Math.floor(r.remaining / 20)));
  const blocks: BlockLocation[] = [];
  for (let i = 0; i < count; i++) {
    const object = r.u32InRange(`${what} ${i} object`, 0, objectCount - 1);
    const offset = r.f64(`${what} ${i} offset`);
    if (!Number.isSafeInteger(offset) || offset < 0) r.fail(`${what} ${i} offset is not a non-negative integer`);
    const length = r.u32InRange(`${what} ${i} length`, 1, 0xffffffff);
    blocks.push({ object, offset, length, count: r.u32(`${what} ${i} count`) });
  }
  return blocks;
}

export function decodeSeiLocations(bytes: Uint8Array): SeiLocations {
  const r = new BinaryReader(bytes, WHAT);
  r.header(MAGIC, [VERSION]);
  const objectCount = r.u32InRange('object count', 1, Math.floor(r.remaining / 4));
  const objects: PartRef[] = [];
  for (let i = 0; i < objectCount; i++) {
    const version = r.string(`object ${i} version`);
    const part = r.string(`object ${i} part`);
    try {
      objects.push({ version: parseVersionId(version), part: parseBlobName(part) });
    } catch {
      r.fail(`object ${i} is not a valid version/part name`);
    }
  }
  const leaves = readBlocks(r, 'leaf', objectCount, 0xffffffff);
  const shards = readBlocks(r, 'shard', objectCount, MAX_DIRECTORY_SHARDS);
  r.end();
  if (leaves.length === 0) r.fail('the table has no leaves');
  if (shards.length === 0 || (shards.length & (shards.length - 1)) !== 0) r.fail('the shard count is not a power of two');
  return { objects, leaves, shards };
}

/** Checks the table describes exactly the skeleton's leaves (counts and block lengths). */
export function checkLocationsMatchSkeleton(locations: SeiLocations, skeleton: IndexSkeleton): void {
  const directory = skeleton.leafDirectory;
  if (locations.leaves.length !== directory.length) {
    throw new MalformedDataError(WHAT, `${locations.leaves.length} leaves, the skeleton has ${directory.length}`);
  }
  directory.forEach((entry, i) => {
    const at = locations.leaves[i];
    if (at.count !== entry.count || at.length !== entry.byteLength) {
      throw new MalformedDataError(WHAT, `leaf ${i} does not match the skeleton's leaf directory`);
    }
  });
}

/** Drops objects no block refers to any more and renumbers the rest (keeps the table small). */
export function compactSeiLocations(locations: SeiLocations): SeiLocations {
  const renumber = new Map<number, number>();
  const objects: PartRef[] = [];
  const remap = (block: BlockLocation): BlockLocation => {
    let object = renumber.get(block.object);
    if (object === undefined) {
      object = objects.length;
      renumber.set(block.object, object);
      objects.push(locations.objects[block.object]);
    }
    return { ...block, object };
  };
  const leaves = locations.leaves.map(remap);
  const shards = locations.shards.map(remap);
  return { objects, leaves, shards };
}

/**
 * A copy of the table with one leaf and one shard moved into new objects (an update wrote
 * them whole, at offset 0).
 */
export function relocateBlocks(
  locations: SeiLocations,
  changes: { leaf?: { index: number; ref: PartRef; length: number; count: number }; shard?: { index: number; ref: PartRef; length: number; count: number } },
): SeiLocations {
  const objects = [...locations.objects];
  const leaves = [...locations.leaves];
  const shards = [...locations.shards];
  if (changes.leaf !== undefined) {
    objects.push(changes.leaf.ref);
    leaves[changes.leaf.index] = { object: objects.length - 1, offset: 0, length: changes.leaf.length, count: changes.leaf.count };
  }
  if (changes.shard !== undefined) {
    objects.push(changes.shard.ref);
    shards[changes.shard.index] = { object: objects.length - 1, offset: 0, length: changes.shard.length, count: changes.shard.count };
  }
  return compactSeiLocations({ objects, leaves, shards });
}
