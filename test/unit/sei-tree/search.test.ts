import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { searchIndexTree, searchIndexTreeExhaustive } from '../../../lib/sei/index-tree/search';
import { searchIndexTreeBatch } from '../../support/sei-tree';
import { plaintextNearest, row, seiWorld } from '../../support/sei-fixture';

describe('index tree search', () => {
  const world = seiWorld(1500, 16, 11, { maxLeafSize: 40 });
  const { tree, generator, vectors } = world;

  it('builds a real hierarchy: several leaves, bounded leaf size, every image in one leaf', () => {
    expect(world.plain.stats.leafCount).toBeGreaterThan(10);
    expect(Math.max(...tree.leaves.map((l) => l.count))).toBeLessThanOrEqual(40);
    expect(tree.leaves.reduce((s, l) => s + l.count, 0)).toBe(1500);
    expect(tree.locations.size).toBe(1500);
  });

  it('always returns exactly k results, sorted by score, for any k and probes = 1', () => {
    for (const k of [1, 10, 41, 100, 399, 1500]) {
      const t = generator.trapdoor(row(vectors, k % vectors.n));
      const { hits } = searchIndexTree(tree, t, { k, probes: 1 });
      expect(hits.length).toBe(k);
      expect(new Set(hits.map((h) => h.id)).size).toBe(k);
      for (let i = 1; i < hits.length; i++) expect(hits[i].score).toBeGreaterThanOrEqual(hits[i - 1].score);
    }
  });

  it('returns every image when k exceeds the index size', () => {
    const t = generator.trapdoor(row(vectors, 3));
    expect(searchIndexTree(tree, t, { k: 2000 }).hits.length).toBe(1500);
  });

  it('with enough probes equals the exhaustive ranking, which equals plaintext ranking', () => {
    for (let q = 0; q < 10; q++) {
      const query = row(vectors, q * 97);
      const t = generator.trapdoor(query);
      const all = searchIndexTree(tree, t, { k: 10, probes: tree.leaves.length });
      const exact = searchIndexTreeExhaustive(tree, t, 10);
      expect(all.hits.map((h) => h.id)).toEqual(exact.hits.map((h) => h.id));
      expect(exact.hits.map((h) => h.id)).toEqual(plaintextNearest(vectors, query, 10));
    }
  });

  it('finds the query image itself first and reaches high recall with a few probes', () => {
    let recall = 0;
    const queries = 40;
    for (let q = 0; q < queries; q++) {
      const query = row(vectors, q * 31);
      const t = generator.trapdoor(query);
      const { hits } = searchIndexTree(tree, t, { k: 10, probes: 4 });
      expect(hits[0].id).toBe(`img-${q * 31}`);
      const truth = new Set(plaintextNearest(vectors, query, 10));
      recall += hits.filter((h) => truth.has(h.id)).length / 10;
    }
    expect(recall / queries).toBeGreaterThan(0.9);
  });

  it('scores fewer images than a linear scan', () => {
    const t = generator.trapdoor(row(vectors, 5));
    const { stats } = searchIndexTree(tree, t, { k: 10, probes: 2 });
    expect(stats.vectorsScored).toBeLessThan(300);
    expect(stats.leavesVisited).toBeGreaterThanOrEqual(2);
  });

  it('answers a K-anonymous batch: one result list per trapdoor', () => {
    const trapdoors = [0, 1, 2, 3].map((i) => generator.trapdoor(row(vectors, i * 100)));
    const results = searchIndexTreeBatch(tree, trapdoors, { k: 5, probes: 2 });
    expect(results.length).toBe(4);
    results.forEach((r, i) => expect(r.hits[0].id).toBe(`img-${i * 100}`));
    expect(() => searchIndexTreeBatch(tree, [], { k: 5 })).toThrow(InvalidInputError);
  });

  it('rejects malformed trapdoors and options with clear errors', () => {
    const t = generator.trapdoor(row(vectors, 0));
    expect(() => searchIndexTree(tree, t.subarray(1), { k: 5 })).toThrow(/entries, this index needs 34/);
    const bad = Float64Array.from(t);
    bad[3] = Number.NaN;
    expect(() => searchIndexTree(tree, bad, { k: 5 })).toThrow(/not a finite number/);
    bad[3] = Number.POSITIVE_INFINITY;
    expect(() => searchIndexTree(tree, bad, { k: 5 })).toThrow(InvalidInputError);
    expect(() => searchIndexTree(tree, t, { k: 0 })).toThrow(/k must be/);
    expect(() => searchIndexTree(tree, t, { k: 2.5 })).toThrow(/k must be/);
    expect(() => searchIndexTree(tree, t, { k: 5, probes: 0 })).toThrow(/probes/);
  });
});
