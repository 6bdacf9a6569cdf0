import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import { planLeaves } from '../../../lib/ml/leaf-routing';
import { buildPartition } from '../../../lib/ml/partition';
import type { RoutingSettings } from '../../../lib/ml/types';

describe('leaf routing', () => {
  const { vectors } = clusteredVectors({ n: 4000, d: 10, seed: 8 });
  const partition = buildPartition(vectors, { leafSize: 25, random: seededRandom(4) });
  const { tree, centres, leafCount } = partition;
  const sizes = (leaf: number) => partition.members[leaf].length;
  const groups = centres.n - leafCount - 1;
  const query = Float64Array.from(vectors.data.subarray(17 * 10, 18 * 10));
  const score = (node: number) => squaredDistanceAt(query, 0, centres.data, node * centres.d, centres.d);

  it('beam over every group ranks every leaf centre flatly', () => {
    const plan = planLeaves(tree, score, { strategy: 'beam', probes: 12, beam: groups }, { leafSize: sizes });
    const flat = Array.from({ length: leafCount }, (_, l) => l).sort((a, b) => score(a) - score(b));
    expect(plan.leaves).toEqual(flat.slice(0, 12));
    expect(plan.nodesScored).toBe(groups + leafCount);
  });

  it('descent with one probe is the greedy descent to the best child at every level', () => {
    let node = tree.root;
    while (tree.leafOf[node] < 0) {
      const children = Array.from(tree.childIds.subarray(tree.childStart[node], tree.childStart[node + 1]));
      node = children.reduce((best, c) => (score(c) < score(best) ? c : best));
    }
    expect(planLeaves(tree, score, { strategy: 'descent', probes: 1, beam: 1 }, { leafSize: sizes }).leaves).toEqual([tree.leafOf[node]]);
  });

  it('plans for fewer probes are prefixes of plans for more, for both strategies', () => {
    for (const base of [{ strategy: 'beam', beam: 2 }, { strategy: 'descent', beam: 1 }] as const) {
      const longest = planLeaves(tree, score, { ...base, probes: 30 }, { leafSize: sizes }).leaves;
      for (const probes of [1, 2, 5, 13, 29]) {
        expect(planLeaves(tree, score, { ...base, probes }, { leafSize: sizes }).leaves).toEqual(longest.slice(0, probes));
      }
    }
  });

  it('plans enough leaves for k results, widening past the beam when needed', () => {
    for (const settings of [
      { strategy: 'beam', probes: 1, beam: 1 },
      { strategy: 'descent', probes: 1, beam: 1 },
    ] satisfies RoutingSettings[]) {
      const plan = planLeaves(tree, score, settings, { leafSize: sizes, minImages: 2000 });
      expect(plan.leaves.reduce((s, l) => s + sizes(l), 0)).toBeGreaterThanOrEqual(2000);
      expect(new Set(plan.leaves).size).toBe(plan.leaves.length);
    }
    const all = planLeaves(tree, score, { strategy: 'beam', probes: leafCount + 5, beam: 1 }, { leafSize: sizes });
    expect(new Set(all.leaves).size).toBe(leafCount);
  });
});
