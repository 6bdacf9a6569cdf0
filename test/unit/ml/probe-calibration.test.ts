import { describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import { exactNearest } from '../../../lib/ml/exact-knn';
import { planLeaves } from '../../../lib/ml/leaf-routing';
import { buildPartition } from '../../../lib/ml/partition';
import { calibrateProbes } from '../../../lib/ml/probe-calibration';
import type { RoutingSettings } from '../../../lib/ml/types';

describe('probe calibration', () => {
  const { vectors } = clusteredVectors({ n: 5200, d: 16, seed: 21 });
  const gallery = { n: 5000, d: 16, data: vectors.data.slice(0, 5000 * 16) };
  const held = { n: 200, d: 16, data: vectors.data.slice(5000 * 16) };
  const partition = buildPartition(gallery, { leafSize: 30, random: seededRandom(9) });
  const leafOfVector = new Uint32Array(gallery.n);
  partition.members.forEach((members, leaf) => members.forEach((m) => (leafOfVector[m] = leaf)));
  const input = {
    tree: partition.tree,
    centres: partition.centres,
    leafOfVector,
    leafSizes: partition.members.map((m) => m.length),
    queries: { n: 100, d: 16, data: held.data.slice(0, 100 * 16) },
    truth: exactNearest(gallery, { n: 100, d: 16, data: held.data.slice(0, 100 * 16) }, 10),
  };
  const fresh = { n: 100, d: 16, data: held.data.slice(100 * 16) };
  const freshTruth = exactNearest(gallery, fresh, 10);

  /** Recall@10 of routing + exact ranking inside the planned leaves, on queries calibration never saw. */
  function recallOn(settings: RoutingSettings): number {
    let sum = 0;
    for (let q = 0; q < fresh.n; q++) {
      const score = (node: number) => squaredDistanceAt(fresh.data, q * 16, partition.centres.data, node * 16, 16);
      const plan = planLeaves(partition.tree, score, settings, { leafSize: (l) => partition.members[l].length, minImages: 10 });
      const candidates = plan.leaves.flatMap((l) => Array.from(partition.members[l]));
      candidates.sort((a, b) => squaredDistanceAt(fresh.data, q * 16, gallery.data, a * 16, 16) - squaredDistanceAt(fresh.data, q * 16, gallery.data, b * 16, 16));
      const found = new Set(candidates.slice(0, 10));
      sum += Array.from(freshTruth[q]).filter((t) => found.has(t)).length / 10;
    }
    return sum / fresh.n;
  }

  it('chooses settings that reach the target on the held-out queries and on fresh ones', () => {
    const result = calibrateProbes(input, { targetRecall: 0.95, maxProbes: 64, strategy: 'beam' });
    expect(result.reached).toBe(true);
    expect(result.recall - result.standardError).toBeGreaterThanOrEqual(0.95);
    expect(result.queries).toBe(100);
    expect(recallOn(result.settings)).toBeGreaterThan(0.92);
  });

  it('costs less for a lower target, and reports an unreachable one', () => {
    const high = calibrateProbes(input, { targetRecall: 0.99, maxProbes: 64, strategy: 'beam' });
    const low = calibrateProbes(input, { targetRecall: 0.8, maxProbes: 64, strategy: 'beam' });
    expect(low.scoredPerQuery).toBeLessThan(high.scoredPerQuery);
    expect(low.settings.probes).toBeLessThanOrEqual(high.settings.probes);
    const capped = calibrateProbes(input, { targetRecall: 1, maxProbes: 1, strategy: 'descent' });
    expect(capped.reached).toBe(false);
    expect(capped.settings).toEqual({ strategy: 'descent', probes: 1, beam: 1 });
    expect(() => calibrateProbes(input, { targetRecall: 1.5, maxProbes: 4, strategy: 'beam' })).toThrow(InvalidParametersError);
  });

  it('exact neighbours are the k smallest distances, nearest first', () => {
    const [first] = exactNearest(gallery, { n: 1, d: 16, data: fresh.data.slice(0, 16) }, 5);
    const order = Array.from({ length: gallery.n }, (_, i) => i).sort(
      (a, b) => squaredDistanceAt(fresh.data, 0, gallery.data, a * 16, 16) - squaredDistanceAt(fresh.data, 0, gallery.data, b * 16, 16),
    );
    expect(Array.from(first)).toEqual(order.slice(0, 5));
    const [self] = exactNearest(gallery, { n: 1, d: 16, data: gallery.data.slice(0, 16) }, 3, () => 0);
    expect(Array.from(self)).not.toContain(0);
  });
});
