import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { buildPartition } from '../../../lib/ml/partition';
import type { Partition } from '../../../lib/ml/types';

function parentsOf(partition: Partition): Int32Array {
  const { childStart, childIds } = partition.tree;
  const parents = new Int32Array(partition.centres.n).fill(-1);
  for (let node = 0; node < partition.centres.n; node++) {
    for (let c = childStart[node]; c < childStart[node + 1]; c++) {
      expect(parents[childIds[c]]).toBe(-1);
      parents[childIds[c]] = node;
    }
  }
  return parents;
}

describe('balanced two-level partition', () => {
  const { vectors } = clusteredVectors({ n: 6000, d: 12, seed: 3 });
  const partition = buildPartition(vectors, { leafSize: 40, random: seededRandom(1) });

  it('puts every vector in exactly one leaf, no leaf above twice the mean size', () => {
    const seen = new Uint8Array(vectors.n);
    for (const members of partition.members) {
      expect(members.length).toBeGreaterThan(0);
      expect(members.length).toBeLessThanOrEqual(80);
      for (const m of members) seen[m]++;
    }
    expect(seen.every((v) => v === 1)).toBe(true);
    // About n / leafSize leaves (K-means may merge or split a few).
    expect(partition.leafCount).toBeGreaterThan(100);
    expect(partition.leafCount).toBeLessThan(250);
  });

  it('is a tree root -> groups -> leaves whose centres are the means of what lies below', () => {
    const parents = parentsOf(partition);
    const { tree, centres, leafCount } = partition;
    expect(parents[tree.root]).toBe(-1);
    const groups = centres.n - leafCount - 1;
    expect(groups).toBeGreaterThan(5);
    for (let node = 0; node < centres.n; node++) {
      expect(tree.leafOf[node] >= 0).toBe(node < leafCount);
      if (node !== tree.root) expect(parents[node]).toBeGreaterThanOrEqual(leafCount);
      if (node < leafCount) expect(parents[parents[node]]).toBe(tree.root);
    }
    const { d } = vectors;
    // The root's centre is the mean of all vectors; a leaf's the mean of its members.
    for (let j = 0; j < d; j++) {
      let mean = 0;
      for (let i = 0; i < vectors.n; i++) mean += vectors.data[i * d + j];
      expect(centres.data[tree.root * d + j]).toBeCloseTo(mean / vectors.n, 10);
      let leafMean = 0;
      for (const m of partition.members[7]) leafMean += vectors.data[m * d + j];
      expect(centres.data[7 * d + j]).toBeCloseTo(leafMean / partition.members[7].length, 10);
    }
  });

  it('is reproducible with the same seed', () => {
    const again = buildPartition(vectors, { leafSize: 40, random: seededRandom(1) });
    expect(again.members.map((m) => Array.from(m))).toEqual(partition.members.map((m) => Array.from(m)));
  });

  it('has no group level for few leaves, and cuts identical vectors into bounded chunks', () => {
    const small = buildPartition({ n: 200, d: 12, data: vectors.data.slice(0, 200 * 12) }, { leafSize: 50, random: seededRandom(2) });
    expect(small.centres.n).toBe(small.leafCount + 1);
    const same = { n: 300, d: 2, data: new Float64Array(600).fill(1) };
    const chunks = buildPartition(same, { leafSize: 20, maxLeafSize: 40, groups: 1, random: seededRandom(2) });
    expect(chunks.members.reduce((s, m) => s + m.length, 0)).toBe(300);
    expect(Math.max(...chunks.members.map((m) => m.length))).toBeLessThanOrEqual(40);
  });

  it('rejects empty input and bad options', () => {
    expect(() => buildPartition({ n: 0, d: 3, data: new Float64Array(0) })).toThrow(InvalidInputError);
    expect(() => buildPartition(vectors, { leafSize: 0 })).toThrow(InvalidParametersError);
    expect(() => buildPartition(vectors, { leafSize: 40, maxLeafSize: 20 })).toThrow(InvalidParametersError);
  });
});
