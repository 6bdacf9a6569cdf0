import { describe, expect, it } from 'vitest';
import { toVersionId } from '../../support/ids';
import { InvalidInputError, NotFoundError } from '../../../lib/core/errors';
import { decodeSealedBuild, encodeSealedBuild } from '../../../lib/sealed/build-file';
import { sealIndex } from '../../../lib/sealed/build';
import type { SealedIndexBuild } from '../../../lib/sealed/build';
import { SealedSearcher } from '../../../lib/sealed/search';
import type { LeafFetcher } from '../../../lib/sealed/search';
import { addToSealedBuild, deleteFromSealedBuild, findSealedImage } from '../../../lib/sealed/update';
import { BINDING, sealedWorld } from '../../support/sealed-fixture';
import type { SealedWorld } from '../../support/sealed-fixture';

/** Seals `build` for a new version and returns a searcher with its leaf fetcher. */
async function sealed(world: SealedWorld, build: SealedIndexBuild, version: string): Promise<{ searcher: SealedSearcher; fetch: LeafFetcher }> {
  const binding = { ...BINDING, version: toVersionId(version) };
  const parts = await sealIndex(build, world.key, binding);
  const searcher = await SealedSearcher.open(world.key, binding, parts.routing);
  const leafBytes = searcher.routing.layout.leafBytes;
  return { searcher, fetch: async (wanted) => new Map(wanted.map((leaf) => [leaf, parts.leaves.slice(leaf * leafBytes, (leaf + 1) * leafBytes)])) };
}

function row(world: SealedWorld, i: number): Float64Array {
  const { d, data } = world.vectors;
  return data.slice(i * d, (i + 1) * d);
}

describe('sealed build updates', () => {
  it('an added image is found by a search for it; a deleted one is never returned; every leaf keeps one size', async () => {
    const world = await sealedWorld(300, 16, 41, { quantisation: 'float32' });
    // A new image: a gallery vector moved a little (float32 keeps it exact enough to be its own nearest).
    const fresh = row(world, 7).map((v, j) => v + (j === 0 ? 1e-3 : 0));
    const added = addToSealedBuild(world.build, fresh, 'img-new');
    expect(added.build.imageCount).toBe(301);
    expect(findSealedImage(added.build, 'img-new')?.leaf).toBe(added.leaf);
    expect(new Set(added.build.leafPlaintexts.map((leaf) => leaf.length))).toEqual(new Set([added.build.leafPlaintextBytes]));

    // The build file round-trips the updated build.
    const reread = decodeSealedBuild(encodeSealedBuild(added.build));
    expect(reread.routing.leafSizes).toEqual(added.build.routing.leafSizes);

    const v2 = await sealed(world, reread, '20250101T000000000Z-000000000002');
    const found = await v2.searcher.search(fresh, { k: 1, realLeaves: 1 }, v2.fetch);
    expect(found.hits[0].imageId).toBe('img-new');
    expect(found.hits[0].distance).toBeLessThan(1e-9);

    // Delete the original image 7 and the new one: no search, however wide, returns either.
    const without7 = deleteFromSealedBuild(added.build, 'img-7').build;
    const without = deleteFromSealedBuild(without7, 'img-new').build;
    expect(without.imageCount).toBe(299);
    const v3 = await sealed(world, without, '20250101T000000000Z-000000000003');
    const all = await v3.searcher.search(row(world, 7), { k: 299, realLeaves: v3.searcher.routing.layout.leavesPerQuery }, v3.fetch);
    const ids = all.hits.map((hit) => hit.imageId);
    expect(ids).not.toContain('img-7');
    expect(ids).not.toContain('img-new');
    expect(ids).toHaveLength(299);
  });

  it('a leaf that outgrows the padded size pads every leaf to the new one', async () => {
    const world = await sealedWorld(120, 8, 43);
    let build = world.build;
    const biggest = build.routing.leafSizes.indexOf(Math.max(...build.routing.leafSizes));
    // Add copies of the biggest leaf's centroid: they all join that leaf.
    const centroid = Array.from(build.routing.centroids.subarray(biggest * 8, (biggest + 1) * 8));
    for (let i = 0; i < 3; i++) build = addToSealedBuild(build, centroid, `extra-${i}`).build;
    expect(build.routing.leafSizes[biggest]).toBe(world.build.routing.leafSizes[biggest] + 3);
    expect(build.leafCapacity).toBe(world.build.leafCapacity + 3);
    expect(build.leafPlaintextBytes).toBeGreaterThan(world.build.leafPlaintextBytes);
    expect(new Set(build.leafPlaintexts.map((leaf) => leaf.length))).toEqual(new Set([build.leafPlaintextBytes]));
    // int8 codes survive the re-encoding of a leaf: the untouched images decode as before.
    const v2 = await sealed(world, build, '20250101T000000000Z-000000000002');
    const hit = await v2.searcher.search(row(world, 0), { k: 1, realLeaves: v2.searcher.routing.layout.leavesPerQuery }, v2.fetch);
    const before = await world.searcher.search(row(world, 0), { k: 1, realLeaves: world.searcher.routing.layout.leavesPerQuery }, world.fetch());
    expect(hit.hits[0]).toEqual(before.hits[0]);
  });

  it('refuses a duplicate id, a wrong dimension, a bad vector and an unknown id, changing nothing', async () => {
    const world = await sealedWorld(60, 8, 47);
    const before = encodeSealedBuild(world.build);
    expect(() => addToSealedBuild(world.build, row(world, 1), 'img-1')).toThrow(/in the index already/);
    expect(() => addToSealedBuild(world.build, [1, 2, 3], 'x')).toThrow(InvalidInputError);
    expect(() => addToSealedBuild(world.build, Array(8).fill(Number.NaN), 'x')).toThrow(/non-finite/);
    expect(() => addToSealedBuild(world.build, row(world, 1), '')).toThrow(/1-255 bytes/);
    expect(() => deleteFromSealedBuild(world.build, 'nope')).toThrow(NotFoundError);
    expect(encodeSealedBuild(world.build)).toEqual(before);
  });
});
