/**
 * Choosing how many leaves a search ranks (probes, and the beam for beam routing) so that
 * recall@k reaches a target the owner sets, measured at build time on held-out vectors: queries
 * that are not in the partitioned set, whose exact k nearest neighbours in that set are known.
 *
 * Ranking inside the chosen leaves is exact, so a query's recall with some settings is the share
 * of its true neighbours that lie in the planned leaves; plans are prefixes of each other
 * (leaf-routing.ts), so one plan of `maxProbes` leaves per query and beam gives the recall and
 * the cost of every smaller probe count at once. Among the settings whose mean recall minus one
 * standard error reaches the target, the one that scores the fewest vectors wins.
 */
import { InvalidParametersError } from '../core/errors';
import { squaredDistanceAt, type VectorSet } from '../linalg/vectors';
import { planLeaves } from './leaf-routing';
import type { CentroidTree, ProbeCalibration, RoutingStrategy } from './types';
import { checkInteger } from './validation';

/** Beams tried for beam routing (those up to the number of groups, and that number itself). */
const BEAM_STEPS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256];

export interface CalibrationInput {
  readonly tree: CentroidTree;
  /** Plaintext centre of every node (node order): routing scores are squared distances to them. */
  readonly centres: VectorSet;
  /** Leaf of every vector of the partitioned set. */
  readonly leafOfVector: ArrayLike<number>;
  /** Vectors per leaf. */
  readonly leafSizes: ArrayLike<number>;
  /** Held-out queries and, per query, its k nearest vectors of the partitioned set (exactNearest). */
  readonly queries: VectorSet;
  readonly truth: readonly Uint32Array[];
}

export interface CalibrationOptions {
  /** Mean recall@k to reach, in (0, 1]. */
  readonly targetRecall: number;
  /** Probes are chosen in [1, maxProbes]. */
  readonly maxProbes: number;
  readonly strategy: RoutingStrategy;
}

/** Beams worth trying on this tree: 1 for descent, else up to the widest level of internal nodes. */
export function candidateBeams(tree: CentroidTree, strategy: RoutingStrategy): number[] {
  if (strategy === 'descent') return [1];
  const { childStart, childIds, leafOf } = tree;
  let widest = 1;
  let level = leafOf[tree.root] < 0 ? [tree.root] : [];
  while (level.length > 0) {
    const next: number[] = [];
    for (const node of level) {
      for (let c = childStart[node]; c < childStart[node + 1]; c++) if (leafOf[childIds[c]] < 0) next.push(childIds[c]);
    }
    widest = Math.max(widest, next.length);
    level = next;
  }
  const beams = BEAM_STEPS.filter((b) => b < widest);
  beams.push(widest);
  return beams;
}

interface Curve {
  /** Per probe count p (index p - 1): mean recall, its standard error, mean vectors + nodes scored. */
  readonly recall: Float64Array;
  readonly standardError: Float64Array;
  readonly cost: Float64Array;
}

/** Recall and cost of every probe count 1..maxProbes for one beam. */
function curveFor(input: CalibrationInput, strategy: RoutingStrategy, beam: number, maxProbes: number): Curve {
  const { tree, centres, queries, truth, leafOfVector, leafSizes } = input;
  const k = truth[0]?.length ?? 1;
  const sum = new Float64Array(maxProbes);
  const sumSquares = new Float64Array(maxProbes);
  const cost = new Float64Array(maxProbes);
  const position = new Int32Array(leafSizes.length).fill(-1);
  const hitsAt = new Float64Array(maxProbes + 1);
  const { d } = centres;
  for (let q = 0; q < queries.n; q++) {
    const score = (node: number) => squaredDistanceAt(queries.data, q * d, centres.data, node * d, d);
    const plan = planLeaves(tree, score, { strategy, probes: maxProbes, beam }, { minImages: k, leafSize: (leaf) => leafSizes[leaf] });
    plan.leaves.forEach((leaf, i) => (position[leaf] = i));
    hitsAt.fill(0);
    for (const neighbour of truth[q]) {
      const at = position[leafOfVector[neighbour]];
      if (at >= 0) hitsAt[at]++;
    }
    // A search plans at least enough leaves for k results: probe counts below that behave alike.
    let images = 0;
    let minimum = plan.leaves.length;
    for (let i = 0; i < plan.leaves.length; i++) {
      images += leafSizes[plan.leaves[i]];
      if (images >= k) {
        minimum = i + 1;
        break;
      }
    }
    let hits = 0;
    let scored = 0;
    for (let p = 1; p <= maxProbes; p++) {
      const used = Math.min(plan.leaves.length, Math.max(p, minimum));
      while (scored < used) {
        hits += hitsAt[scored];
        scored++;
      }
      let vectors = 0;
      for (let i = 0; i < used; i++) vectors += leafSizes[plan.leaves[i]];
      const recall = hits / truth[q].length;
      sum[p - 1] += recall;
      sumSquares[p - 1] += recall * recall;
      cost[p - 1] += vectors + (used > 0 ? plan.nodesScoredAt[used - 1] : plan.nodesScored);
    }
    for (const leaf of plan.leaves) position[leaf] = -1;
  }
  const count = queries.n;
  const recall = sum.map((s) => s / count);
  const standardError = recall.map((mean, i) => {
    const variance = Math.max(0, sumSquares[i] / count - mean * mean);
    return count > 1 ? Math.sqrt(variance / (count - 1)) : 0;
  });
  return { recall, standardError, cost: cost.map((c) => c / count) };
}

/**
 * The cheapest settings whose recall (mean minus one standard error over the held-out queries)
 * reaches the target; if none does, the most thorough ones tried (reached: false).
 */
export function calibrateProbes(input: CalibrationInput, options: CalibrationOptions): ProbeCalibration {
  const { targetRecall, strategy } = options;
  if (!(targetRecall > 0 && targetRecall <= 1)) throw new InvalidParametersError('targetRecall must be in (0, 1]');
  const maxProbes = checkInteger(options.maxProbes, 'maxProbes', 1);
  if (input.queries.n < 1 || input.truth.length !== input.queries.n) {
    throw new InvalidParametersError('calibration needs at least one held-out query with its true neighbours');
  }
  const k = input.truth[0].length;
  let best: ProbeCalibration | undefined;
  let fallback: ProbeCalibration | undefined;
  for (const beam of candidateBeams(input.tree, strategy)) {
    const curve = curveFor(input, strategy, beam, maxProbes);
    const result = (p: number, reached: boolean): ProbeCalibration => ({
      settings: { strategy, probes: p, beam },
      targetRecall,
      recall: curve.recall[p - 1],
      standardError: curve.standardError[p - 1],
      scoredPerQuery: curve.cost[p - 1],
      queries: input.queries.n,
      k,
      reached,
    });
    for (let p = 1; p <= maxProbes; p++) {
      if (curve.recall[p - 1] - curve.standardError[p - 1] >= targetRecall) {
        if (best === undefined || curve.cost[p - 1] < best.scoredPerQuery) best = result(p, true);
        break;
      }
    }
    if (fallback === undefined || curve.recall[maxProbes - 1] > fallback.recall) fallback = result(maxProbes, false);
  }
  return best ?? fallback!;
}
