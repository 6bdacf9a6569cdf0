import { describe, expect, it } from 'vitest';
import { MalformedDataError } from '../../../lib/core/errors';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { decodeIndexSkeleton, encodeIndexTreeParts } from '../../../lib/sei/index-tree/format';
import { addImage, deleteImage } from '../../../lib/sei/index-tree/update';
import { createLimiter, mapLimited } from '../../../lib/core/concurrency';
import { decodeDirectoryShard, directoryShardCount, encodeDirectoryShard, shardOf } from '../../../lib/service/sei/sei-image-directory';
import { compactSeiLocations, decodeSeiLocations, encodeSeiLocations, relocateBlocks } from '../../../lib/service/sei/sei-locations';
import type { SeiLocations } from '../../../lib/service/sei/sei-locations';
import { rewriteSkeletonTrailer } from '../../../lib/service/sei/sei-skeleton';
import { newVersionName } from '../../../lib/service/versions/version-names';
import { parseVersionId } from '../../../lib/core/ids';
import type { VersionId } from '../../../lib/core/ids';
import { row, seiWorld } from '../../support/sei-fixture';
import { cloneTree } from './support';
import { toVersionId } from '../../support/ids';

describe('skeleton trailer rewrite', () => {
  const world = seiWorld(300, 6, 4, { maxLeafSize: 16 });

  it('produces exactly the skeleton the format encodes for the updated tree', () => {
    const before = encodeIndexTreeParts(world.tree);
    const skeleton = decodeIndexSkeleton(before.skeleton);
    const updated = cloneTree(world.tree);
    const f = Float64Array.from(row(world.vectors, 5), (v) => v + 1e-3);
    addImage(updated, 'added', encryptIndexVector(world.owner, f), world.generator.trapdoor(f));
    deleteImage(updated, 'img-77');
    const after = encodeIndexTreeParts(updated);
    const directory = updated.leaves.map((leaf, i) => ({ count: leaf.count, byteLength: after.leaves[i].length }));

    const rewritten = rewriteSkeletonTrailer(before.skeleton, skeleton, updated.updates, directory);
    expect(Buffer.from(rewritten.bytes).equals(Buffer.from(after.skeleton))).toBe(true);
    expect(rewritten.skeleton.updates).toEqual({ ...world.tree.updates, added: 1, deleted: 1 });
    // The input is untouched (cached skeletons are shared).
    expect(Buffer.from(before.skeleton).equals(Buffer.from(encodeIndexTreeParts(world.tree).skeleton))).toBe(true);
  });

  it('refuses bytes whose trailer is not the decoded one, and a directory of another size', () => {
    const { skeleton: bytes } = encodeIndexTreeParts(world.tree);
    const skeleton = decodeIndexSkeleton(bytes);
    const tampered = bytes.slice();
    tampered[tampered.length - 1] ^= 0xff;
    expect(() => rewriteSkeletonTrailer(tampered, skeleton, skeleton.updates, skeleton.leafDirectory)).toThrow(MalformedDataError);
    expect(() => rewriteSkeletonTrailer(bytes, skeleton, skeleton.updates, skeleton.leafDirectory.slice(1))).toThrow(/keep the/);
  });
});

describe('leaf locations table', () => {
  const table: SeiLocations = {
    objects: [
      { version: toVersionId('v1'), part: 'leaves' },
      { version: toVersionId('v1'), part: 'image-directory' },
      { version: toVersionId('v2'), part: 'leaf-1' },
    ],
    leaves: [
      { object: 0, offset: 0, length: 100, count: 3 },
      { object: 2, offset: 0, length: 140, count: 4 },
      { object: 0, offset: 2 ** 33, length: 80, count: 2 },
    ],
    shards: [
      { object: 1, offset: 0, length: 30, count: 5 },
      { object: 1, offset: 30, length: 20, count: 4 },
    ],
  };

  it('round-trips, offsets past 4 GB included', () => {
    expect(decodeSeiLocations(encodeSeiLocations(table))).toEqual(table);
  });

  it('rejects truncated, oversized, foreign and inconsistent tables', () => {
    const bytes = encodeSeiLocations(table);
    expect(() => decodeSeiLocations(bytes.subarray(0, bytes.length - 1))).toThrow(MalformedDataError);
    expect(() => decodeSeiLocations(Uint8Array.from([...bytes, 0]))).toThrow(/trailing/);
    const foreign = bytes.slice();
    foreign[0] = 0x58;
    expect(() => decodeSeiLocations(foreign)).toThrow(/bad magic/);
    const badObject = encodeSeiLocations({ ...table, leaves: [{ object: 7, offset: 0, length: 1, count: 1 }] });
    expect(() => decodeSeiLocations(badObject)).toThrow(/object = 7 is outside/);
    expect(() => decodeSeiLocations(encodeSeiLocations({ ...table, shards: [...table.shards, table.shards[0]] }))).toThrow(/power of two/);
    expect(() => decodeSeiLocations(encodeSeiLocations({ ...table, objects: [{ version: '../x' as VersionId, part: 'leaves' }, ...table.objects.slice(1)] }))).toThrow(
      /not a valid version\/part name/,
    );
    const fractional = encodeSeiLocations({ ...table, leaves: [{ object: 0, offset: 0.5, length: 1, count: 1 }] });
    expect(() => decodeSeiLocations(fractional)).toThrow(/offset is not a non-negative integer/);
  });

  it('relocation points one leaf and one shard at new objects and drops unused objects', () => {
    const moved = relocateBlocks(table, {
      leaf: { index: 1, ref: { version: toVersionId('v3'), part: 'leaf-1' }, length: 150, count: 5 },
      shard: { index: 0, ref: { version: toVersionId('v3'), part: 'directory-shard-0' }, length: 40, count: 6 },
    });
    // v2's leaf-1 is no longer referenced.
    expect(moved.objects).toEqual([
      { version: 'v1', part: 'leaves' },
      { version: 'v3', part: 'leaf-1' },
      { version: 'v3', part: 'directory-shard-0' },
      { version: 'v1', part: 'image-directory' },
    ]);
    expect(moved.leaves[0]).toEqual(table.leaves[0]);
    expect(moved.leaves[1]).toEqual({ object: 1, offset: 0, length: 150, count: 5 });
    expect(moved.leaves[2]).toEqual(table.leaves[2]);
    expect(moved.shards).toEqual([
      { object: 2, offset: 0, length: 40, count: 6 },
      { object: 3, offset: 30, length: 20, count: 4 },
    ]);
    expect(compactSeiLocations(moved)).toEqual(moved);
  });
});

describe('image directory shards', () => {
  it('spreads ids over a power-of-two number of shards and round-trips each shard', () => {
    expect(directoryShardCount(0)).toBe(1);
    expect(directoryShardCount(512)).toBe(1);
    expect(directoryShardCount(513)).toBe(2);
    expect(directoryShardCount(100_000)).toBe(256);
    const ids = Array.from({ length: 2000 }, (_, i) => `img-${i}`);
    const shardCount = directoryShardCount(ids.length);
    const shards = Array.from({ length: shardCount }, () => new Map<string, number>());
    ids.forEach((id, i) => shards[shardOf(id, shardCount)].set(id, i % 7));
    for (const shard of shards) expect(shard.size).toBeGreaterThan(2000 / shardCount / 2);
    shards.forEach((shard, shardIndex) => {
      const decoded = decodeDirectoryShard(encodeDirectoryShard(shard), { shardIndex, shardCount, leafCount: 7, count: shard.size });
      expect(decoded).toEqual(shard);
    });
  });

  it('rejects ids in the wrong shard, leaves out of range and count mismatches', () => {
    const shard = new Map([['img-1', 2]]);
    const right = shardOf('img-1', 4);
    const bytes = encodeDirectoryShard(shard);
    expect(() => decodeDirectoryShard(bytes, { shardIndex: (right + 1) % 4, shardCount: 4, leafCount: 3, count: 1 })).toThrow(/wrong shard/);
    expect(() => decodeDirectoryShard(bytes, { shardIndex: right, shardCount: 4, leafCount: 2, count: 1 })).toThrow(/leaf = 2 is outside/);
    expect(() => decodeDirectoryShard(bytes, { shardIndex: right, shardCount: 4, leafCount: 3, count: 2 })).toThrow(/holds 1 ids/);
  });
});

describe('small building blocks', () => {
  it('the limiter runs at most `limit` tasks at once and all of them', async () => {
    const limit = createLimiter(3);
    let running = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 1 + (i % 3)));
          running--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await expect(mapLimited([1, 2, 3], 2, async (x) => (x === 2 ? Promise.reject(new Error('boom')) : x))).rejects.toThrow('boom');
  });

  it('version names are valid, sortable by time and unique', () => {
    const a = newVersionName(new Date('2025-03-14T09:26:53.127Z'));
    const b = newVersionName(new Date('2025-03-14T09:26:53.128Z'));
    const c = newVersionName(new Date('2025-03-14T09:26:53.128Z'));
    expect(a).toMatch(/^20250314T092653127Z-[0-9a-f]{12}$/);
    expect(parseVersionId(a)).toBe(a);
    expect(a < b).toBe(true);
    expect(b).not.toBe(c);
  });
});
