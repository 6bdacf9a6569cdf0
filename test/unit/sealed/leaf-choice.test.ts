/**
 * Leaf choice on the client: real leaves are the nearest centroids, decoys are uniform (a
 * chi-square test over many requests, with a biased chooser as the control that the test can
 * fail), and the same query twice asks for different leaf sets.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { randomInt } from '../../../lib/crypto/web-random';
import { chooseLeaves, nearestLeaves } from '../../../lib/sealed/leaf-choice';
import type { SealedRouting } from '../../../lib/sealed/types';
import { chiSquareUniform } from '../../support/chi-square';
import { sealedWorld } from '../../support/sealed-fixture';

/** Decoy counts per non-real leaf over `requests` requests for one query. */
function decoyCounts(routing: SealedRouting, query: Float64Array, requests: number, choose = chooseLeaves): number[] {
  const real = new Set(chooseLeaves(routing, query).real);
  const counts = new Map<number, number>();
  for (let leaf = 0; leaf < routing.layout.leafCount; leaf++) if (!real.has(leaf)) counts.set(leaf, 0);
  for (let i = 0; i < requests; i++) {
    for (const leaf of choose(routing, query).leaves) if (!real.has(leaf)) counts.set(leaf, counts.get(leaf)! + 1);
  }
  return [...counts.values()];
}

describe('leaf choice', async () => {
  // Many leaves and a small L, so decoys are a real choice.
  const world = await sealedWorld(1200, 8, 11, { leafSize: 16, leavesPerQuery: 12, realLeaves: 3 });
  const { routing } = world.searcher;
  const query = Float64Array.from(world.vectors.data.subarray(5 * 8, 6 * 8));

  it('asks for L distinct leaves in ascending order, its real ones the nearest centroids', () => {
    const request = chooseLeaves(routing, query);
    expect(request.leaves.length).toBe(12);
    expect(new Set(request.leaves).size).toBe(12);
    expect([...request.leaves]).toEqual([...request.leaves].sort((a, b) => a - b));
    expect(request.real).toEqual(nearestLeaves(routing, query, 3));
    for (const leaf of request.real) expect(request.leaves).toContain(leaf);
    // Brute force: the real leaves have the 3 smallest centroid distances.
    const distances = Array.from({ length: routing.layout.leafCount }, (_, leaf) => {
      let s = 0;
      for (let j = 0; j < 8; j++) s += (query[j] - routing.centroids[leaf * 8 + j]) ** 2;
      return { leaf, s };
    }).sort((a, b) => a.s - b.s);
    expect(request.real).toEqual(distances.slice(0, 3).map((e) => e.leaf));
    // A request may read more real leaves, never more than L.
    expect(chooseLeaves(routing, query, { realLeaves: 12 }).real.length).toBe(12);
    expect(() => chooseLeaves(routing, query, { realLeaves: 13 })).toThrow(InvalidInputError);
    expect(() => chooseLeaves(routing, query.subarray(1))).toThrow(/8 dimensions/);
    expect(() => chooseLeaves(routing, Float64Array.from(query).fill(Number.NaN, 2, 3))).toThrow(/query\[2\]/);
  });

  it('draws decoys uniformly (chi-square over many requests)', () => {
    const counts = decoyCounts(routing, query, 6000);
    const { pValue, dof } = chiSquareUniform(counts);
    expect(dof).toBeGreaterThan(40);
    expect(pValue).toBeGreaterThan(1e-6);
  });

  it('the chi-square test catches a decoy choice with a small bias (control)', () => {
    // Decoys drawn with a 1-in-8 preference for even leaf numbers: what a sloppy modulo or a
    // geometry-aware chooser would do.
    const biased = (r: SealedRouting, q: ArrayLike<number>) => {
      const request = chooseLeaves(r, q);
      const real = new Set(request.real);
      const picked = new Set(request.real);
      while (picked.size < r.layout.leavesPerQuery) {
        let leaf = randomInt(r.layout.leafCount);
        if (leaf % 2 === 1 && randomInt(8) === 0) leaf -= 1;
        if (!real.has(leaf)) picked.add(leaf);
      }
      return { leaves: [...picked].sort((a, b) => a - b), real: request.real };
    };
    expect(chiSquareUniform(decoyCounts(routing, query, 6000, biased)).pValue).toBeLessThan(1e-6);
  });

  it('asks for a different leaf set when the same query comes again', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(chooseLeaves(routing, query).leaves.join(','));
    expect(seen.size).toBe(50);
  });
});
