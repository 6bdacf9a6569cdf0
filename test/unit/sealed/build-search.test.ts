/** The owner's build (padding, calibration, L from the budget) and the client's exact ranking. */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { buildSealedIndex, sealIndex } from '../../../lib/sealed/build';
import { SealedSearcher } from '../../../lib/sealed/search';
import { decodeSealedBuild, encodeSealedBuild } from '../../../lib/sealed/build-file';
import { BINDING, sealedWorld } from '../../support/sealed-fixture';

describe('sealed build', async () => {
  const world = await sealedWorld(600, 8, 21, { leafSize: 24 });
  const { build, searcher } = world;

  it('pads every leaf to the largest one and never overfills a leaf', () => {
    expect(build.leafCapacity).toBeLessThanOrEqual(24);
    expect(Math.max(...build.routing.leafSizes)).toBe(build.leafCapacity);
    expect(build.routing.leafSizes.reduce((a, b) => a + b, 0)).toBe(600);
    expect(build.leafPlaintexts.every((p) => p.length === build.leafPlaintextBytes)).toBe(true);
  });

  it('chooses the real leaves for the target recall and spends the byte budget on decoys', () => {
    // R is the smallest number of leaves that reaches the target with 95% confidence on the owner's sample.
    const { recall, standardError } = build.recallCurve;
    const R = build.realLeaves;
    expect(recall[R - 1] - 1.645 * standardError[R - 1]).toBeGreaterThanOrEqual(0.95);
    expect(build.recallEstimate).toBe(recall[R - 1]);
    if (R > 1) expect(recall[R - 2] - 1.645 * standardError[R - 2]).toBeLessThan(0.95);
    const leafBytes = searcher.routing.layout.leafBytes;
    expect(build.leavesPerQuery).toBe(Math.min(build.leafCount, Math.max(2 * build.realLeaves, Math.floor((1 << 20) / leafBytes))));
    const small = buildSealedIndex(world.vectors, world.ids, { leafSize: 24, bytesPerQuery: leafBytes * 3, realLeaves: 2, calibrationQueries: 10, random: seededRandom(1) });
    expect(small.leavesPerQuery).toBe(4); // the budget allows 3, but decoys are at least as many as real leaves
  });

  it('ranks exactly: with every leaf read, the answer is the exact kNN over the stored vectors', async () => {
    const everything = buildSealedIndex(world.vectors, world.ids, { leafSize: 24, quantisation: 'float32', calibrationQueries: 10, random: seededRandom(2) });
    const key = world.key;
    const parts = await sealIndex(everything, key, BINDING);
    const s = await SealedSearcher.open(key, BINDING, parts.routing);
    const leafBytes = s.routing.layout.leafBytes;
    const fetch = async (leaves: readonly number[]) => new Map(leaves.map((leaf) => [leaf, parts.leaves.subarray(leaf * leafBytes, (leaf + 1) * leafBytes)]));
    const { d, data } = world.vectors;
    // Small leaves: the 1 MiB budget covers every leaf, so a query may read all of them.
    expect(s.routing.layout.leavesPerQuery).toBe(everything.leafCount);
    for (const q of [0, 17, 333]) {
      const query = Float64Array.from(data.subarray(q * d, (q + 1) * d), (v) => v + 0.01);
      const { hits } = await s.search(query, { k: 7, realLeaves: everything.leafCount }, fetch);
      const stored = Float32Array.from(data);
      const exact = Array.from({ length: 600 }, (_, i) => {
        let dist = 0;
        for (let j = 0; j < d; j++) dist += (query[j] - stored[i * d + j]) ** 2;
        return { id: `img-${i}`, dist };
      }).sort((a, b) => a.dist - b.dist);
      expect(hits.map((h) => h.imageId)).toEqual(exact.slice(0, 7).map((e) => e.id));
      hits.forEach((hit, i) => expect(hit.distance).toBeCloseTo(exact[i].dist, 9));
    }
  });

  it('finds an image itself first, and its neighbours with the default leaves', async () => {
    let recall = 0;
    const { d, data } = world.vectors;
    for (let q = 0; q < 40; q++) {
      const query = data.subarray(q * d, (q + 1) * d);
      const { hits, request, stats } = await searcher.search(query, { k: 10 }, world.fetch());
      expect(hits[0].imageId).toBe(`img-${q}`);
      expect(request.leaves.length).toBe(build.leavesPerQuery);
      expect(stats.bytes).toBe(build.leavesPerQuery * searcher.routing.layout.leafBytes);
      const exact = Array.from({ length: 600 }, (_, i) => ({ i, dist: data.subarray(i * d, (i + 1) * d).reduce((s, v, j) => s + (v - query[j]) ** 2, 0) }))
        .sort((a, b) => a.dist - b.dist)
        .slice(0, 10)
        .map((e) => `img-${e.i}`);
      recall += hits.filter((h) => exact.includes(h.imageId)).length / 10;
    }
    expect(recall / 40).toBeGreaterThan(0.85);
  });

  it('keeps the unsealed build in a file that seals to the same index', async () => {
    const bytes = encodeSealedBuild(build);
    const back = decodeSealedBuild(bytes);
    expect(back.leafPlaintexts.map((p) => Buffer.from(p).toString('hex'))).toEqual(build.leafPlaintexts.map((p) => Buffer.from(p).toString('hex')));
    expect({ ...back, leafPlaintexts: [], routing: null }).toEqual({ ...build, leafPlaintexts: [], routing: null });
    const parts = await sealIndex(back, world.key, BINDING);
    const reopened = await SealedSearcher.open(world.key, BINDING, parts.routing);
    expect(Array.from(reopened.routing.centroids)).toEqual(Array.from(searcher.routing.centroids));
    expect(() => decodeSealedBuild(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeSealedBuild(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
  });

  it('refuses input it cannot seal, with messages naming the problem', () => {
    const { vectors } = clusteredVectors({ n: 20, d: 4, seed: 1 });
    const ids = Array.from({ length: 20 }, (_, i) => `i${i}`);
    expect(() => buildSealedIndex(vectors, ids.slice(1))).toThrow(/19 ids for 20 vectors/);
    expect(() => buildSealedIndex(vectors, [...ids.slice(1), 'i1'])).toThrow(/duplicate image id "i1"/);
    expect(() => buildSealedIndex(vectors, ids, { leafSize: 0 })).toThrow(InvalidInputError);
    expect(() => buildSealedIndex({ ...vectors, data: Float64Array.from(vectors.data).fill(Infinity, 5, 6) }, ids)).toThrow(/vector 1 has a non-finite/);
    expect(() => buildSealedIndex({ ...vectors, data: Float64Array.from(vectors.data).fill(1e6, 0, 1) }, ids, { quantisation: 'float16' })).toThrow(/float16 holds values up to/);
    expect(() => buildSealedIndex(vectors, ids, { targetRecall: 1.5 })).toThrow(/targetRecall/);
    expect(() => buildSealedIndex(vectors, ids, { realLeaves: 2, leavesPerQuery: 1 })).toThrow(/at least the real leaves/);
  });
});
