/**
 * The image directory of an SEI index version: which leaf holds each image id. Updates need it
 * (duplicate check on add, the leaf to change on delete) without reading every leaf, so it is
 * split into shards by a hash of the id: an update reads one shard and, copy-on-write, writes
 * one shard. At publish the shards are written consecutively into one S3 object and read by
 * range, like the leaves.
 *
 * Shard format "BSID" version 1: magic, u16 version, u32 count, then per id (sorted):
 * string id, u32 leaf.
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';

const MAGIC = 'BSID';
const VERSION = 1;
/** About this many ids per shard (a shard of 512 short ids is ~10 KB). */
const IDS_PER_SHARD = 512;
export const MAX_DIRECTORY_SHARDS = 4096;

/** Id -> leaf index. */
export type DirectoryShard = Map<string, number>;

/** Shards for an index of this many images: a power of two, about 512 ids each. */
export function directoryShardCount(imageCount: number): number {
  let shards = 1;
  while (shards < MAX_DIRECTORY_SHARDS && shards * IDS_PER_SHARD < imageCount) shards *= 2;
  return shards;
}

/** FNV-1a over the id's UTF-16 code units: stable, cheap, well spread for short ids. */
export function shardOf(imageId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < imageId.length; i++) {
    hash ^= imageId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) & (shardCount - 1);
}

export function encodeDirectoryShard(shard: DirectoryShard): Uint8Array {
  const ids = [...shard.keys()].sort();
  const w = new BinaryWriter(16 + ids.length * 24);
  w.header(MAGIC, VERSION).u32(ids.length);
  for (const id of ids) w.string(id).u32(shard.get(id)!);
  return w.finish();
}

export interface ShardExpectations {
  readonly shardIndex: number;
  readonly shardCount: number;
  readonly leafCount: number;
  readonly count: number;
}

/** Decodes a shard, checking its ids belong to it, are unique and point at existing leaves. */
export function decodeDirectoryShard(bytes: Uint8Array, expect: ShardExpectations): DirectoryShard {
  const r = new BinaryReader(bytes, `SEI image directory shard ${expect.shardIndex}`);
  r.header(MAGIC, [VERSION]);
  const count = r.u32InRange('id count', 0, Math.floor(r.remaining / 6));
  if (count !== expect.count) r.fail(`holds ${count} ids, the locations table says ${expect.count}`);
  const shard: DirectoryShard = new Map();
  for (let i = 0; i < count; i++) {
    const id = r.string('image id');
    const leaf = r.u32InRange('leaf', 0, expect.leafCount - 1);
    if (shard.has(id) || shardOf(id, expect.shardCount) !== expect.shardIndex) r.fail(`id ${i} is repeated or in the wrong shard`);
    shard.set(id, leaf);
  }
  r.end();
  return shard;
}
