import { describe, expect, it } from 'vitest';
import { DimensionMismatchError, InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { nearestCentroid, squaredDistance } from '../../support/vectors';
import { assignToNearest, kMeans, kMeansPlusPlusSeeds } from '../../../lib/ml/kmeans';
import { centroidNorms, countMembers, scanCentres, updateCentroids } from '../../../lib/ml/kmeans-kernels';
import { HamerlyBounds, reassignAfterMove } from '../../../lib/ml/lloyd';
import { adjustedRandIndex, clusterSizes, gaussianBlobs } from './fixtures';

function rowOf(set: VectorSet, i: number): Float64Array {
  return set.data.subarray(i * set.d, (i + 1) * set.d);
}

/** Sum of squared distances of each vector to its assigned centre, computed naively. */
function naiveInertia(vectors: VectorSet, centroids: VectorSet, assignments: Uint32Array): number {
  let s = 0;
  for (let i = 0; i < vectors.n; i++) s += squaredDistance(rowOf(vectors, i), rowOf(centroids, assignments[i]));
  return s;
}

describe('adjustedRandIndex (test helper)', () => {
  it('is 1 for renamed partitions and low for unrelated ones', () => {
    expect(adjustedRandIndex([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])).toBe(1);
    expect(adjustedRandIndex([0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1])).toBeLessThan(0.1);
  });
});

describe('kMeans', () => {
  const blobs = gaussianBlobs(5, 100, 16, 1);

  it('finds five well-separated planted clusters', () => {
    const result = kMeans(blobs.vectors, { k: 5, random: seededRandom(2) });
    expect(result.centroids.n).toBe(5);
    expect(result.centroids.d).toBe(16);
    expect(result.converged).toBe(true);
    expect(adjustedRandIndex(result.assignments, blobs.labels)).toBe(1);
    expect(result.inertia).toBeCloseTo(naiveInertia(blobs.vectors, result.centroids, result.assignments), 6);
    // Every vector sits with its nearest centre, and each centre is its members' mean.
    const nearest = assignToNearest(blobs.vectors, result.centroids);
    expect(Array.from(nearest.assignments)).toEqual(Array.from(result.assignments));
    const sizes = clusterSizes(result.assignments, 5);
    for (let c = 0; c < 5; c++) {
      for (let j = 0; j < 16; j++) {
        let mean = 0;
        for (let i = 0; i < blobs.vectors.n; i++) {
          if (result.assignments[i] === c) mean += blobs.vectors.data[i * 16 + j] / sizes[c];
        }
        expect(result.centroids.data[c * 16 + j]).toBeCloseTo(mean, 9);
      }
    }
  });

  it('is reproducible with the same random source', () => {
    const a = kMeans(blobs.vectors, { k: 7, random: seededRandom(9) });
    const b = kMeans(blobs.vectors, { k: 7, random: seededRandom(9) });
    expect(Array.from(a.centroids.data)).toEqual(Array.from(b.centroids.data));
    expect(a.iterations).toBe(b.iterations);
  });

  it('with k = 1 returns the mean', () => {
    const result = kMeans(blobs.vectors, { k: 1, random: seededRandom(3) });
    expect(Array.from(result.assignments).every((a) => a === 0)).toBe(true);
    for (let j = 0; j < 16; j++) {
      let mean = 0;
      for (let i = 0; i < blobs.vectors.n; i++) mean += blobs.vectors.data[i * 16 + j] / blobs.vectors.n;
      expect(result.centroids.data[j]).toBeCloseTo(mean, 9);
    }
  });

  it('starts from given centres (k taken from them)', () => {
    const result = kMeans(blobs.vectors, { init: blobs.centres, maxIterations: 0 });
    expect(result.iterations).toBe(0);
    expect(Array.from(result.centroids.data)).toEqual(Array.from(blobs.centres.data));
    expect(adjustedRandIndex(result.assignments, blobs.labels)).toBe(1);
    // The caller's centres are not modified.
    const before = Float64Array.from(blobs.centres.data);
    kMeans(blobs.vectors, { init: blobs.centres });
    expect(Array.from(blobs.centres.data)).toEqual(Array.from(before));
  });

  it('re-seeds an empty cluster from the farthest point', () => {
    const two = gaussianBlobs(2, 50, 4, 5);
    // Centre 2 is far from every point: after the first assignment it is empty.
    const init = new Float64Array(3 * 4);
    init.set(two.centres.data, 0);
    init.fill(1e6, 8);
    const result = kMeans(two.vectors, { init: { n: 3, d: 4, data: init }, random: seededRandom(4) });
    const sizes = clusterSizes(result.assignments, 3);
    expect(Math.min(...sizes)).toBeGreaterThan(0);
    for (let j = 0; j < 4; j++) expect(Math.abs(result.centroids.data[8 + j])).toBeLessThan(100);
    expect(result.inertia).toBeCloseTo(naiveInertia(two.vectors, result.centroids, result.assignments), 6);
  });

  it('keeps every cluster non-empty with duplicated points', () => {
    const data = new Float64Array(6 * 3).fill(2);
    data.fill(7, 15);
    const result = kMeans({ n: 6, d: 3, data }, { k: 4, random: seededRandom(5) });
    expect(Math.min(...clusterSizes(result.assignments, 4))).toBeGreaterThan(0);
    expect(result.inertia).toBe(0);
  });

  it('fits on a sample and assigns every vector', () => {
    const many = gaussianBlobs(6, 500, 8, 6);
    const result = kMeans(many.vectors, { k: 6, sampleSize: 300, random: seededRandom(7) });
    expect(result.assignments.length).toBe(3000);
    expect(adjustedRandIndex(result.assignments, many.labels)).toBe(1);
    expect(result.inertia).toBeCloseTo(naiveInertia(many.vectors, result.centroids, result.assignments), 6);
  });

  it('rejects impossible options', () => {
    expect(() => kMeans(blobs.vectors, { k: 501 })).toThrow(InvalidParametersError);
    expect(() => kMeans(blobs.vectors, { k: 0 })).toThrow(InvalidParametersError);
    expect(() => kMeans(blobs.vectors, {})).toThrow(InvalidParametersError);
    expect(() => kMeans(blobs.vectors, { k: 2, init: blobs.centres })).toThrow(InvalidParametersError);
    expect(() => kMeans(blobs.vectors, { init: { n: 1, d: 3, data: new Float64Array(3) } })).toThrow(
      DimensionMismatchError,
    );
    expect(() => kMeans(blobs.vectors, { k: 2, maxIterations: -1 })).toThrow(InvalidParametersError);
    expect(() => kMeans(blobs.vectors, { k: 2, tolerance: Number.NaN })).toThrow(InvalidParametersError);
    expect(() => kMeans(blobs.vectors, { k: 5, sampleSize: 4 })).toThrow(InvalidParametersError);
    expect(() => kMeans({ n: 0, d: 2, data: new Float64Array(0) }, { k: 1 })).toThrow(InvalidInputError);
    expect(() => kMeans({ n: 2, d: 1, data: Float64Array.from([1, NaN]) }, { k: 1 })).toThrow(InvalidInputError);
  });
});

describe('assignToNearest / nearestCentroid', () => {
  it('agree with brute force (k not a multiple of the 4-centre tile)', () => {
    const random = seededRandom(8);
    const vectors: VectorSet = { n: 200, d: 5, data: Float64Array.from({ length: 1000 }, () => random.gaussian()) };
    const centroids: VectorSet = { n: 7, d: 5, data: Float64Array.from({ length: 35 }, () => random.gaussian()) };
    const { assignments, squaredDistances } = assignToNearest(vectors, centroids);
    for (let i = 0; i < vectors.n; i++) {
      let best = 0;
      for (let c = 1; c < 7; c++) {
        if (squaredDistance(rowOf(vectors, i), rowOf(centroids, c)) < squaredDistance(rowOf(vectors, i), rowOf(centroids, best))) best = c;
      }
      expect(assignments[i]).toBe(best);
      expect(squaredDistances[i]).toBeCloseTo(squaredDistance(rowOf(vectors, i), rowOf(centroids, best)), 12);
      const single = nearestCentroid(Array.from(rowOf(vectors, i)), centroids);
      expect(single.index).toBe(best);
      expect(single.squaredDistance).toBeCloseTo(squaredDistances[i], 12);
    }
  });

  it('breaks ties towards the lowest index and checks dimensions', () => {
    const centroids: VectorSet = { n: 2, d: 1, data: Float64Array.from([-1, 1]) };
    expect(nearestCentroid([0], centroids).index).toBe(0);
    expect(assignToNearest({ n: 1, d: 1, data: Float64Array.from([0]) }, centroids).assignments[0]).toBe(0);
    expect(() => nearestCentroid([0, 1], centroids)).toThrow();
    expect(() => assignToNearest({ n: 1, d: 2, data: new Float64Array(2) }, centroids)).toThrow(DimensionMismatchError);
  });
});

describe('scanCentres', () => {
  it('reports the nearest centre and the runner-up (the index and score the Hamerly lower bound is built from)', () => {
    const random = seededRandom(18);
    const d = 7;
    const vectors: VectorSet = { n: 200, d, data: Float64Array.from({ length: 200 * d }, () => random.gaussian()) };
    for (const k of [1, 2, 3, 4, 5, 9, 12]) {
      const centres = Float64Array.from({ length: k * d }, () => random.gaussian());
      const norms = centroidNorms(centres, k, d);
      const out = new Float64Array(4);
      for (let i = 0; i < vectors.n; i++) {
        scanCentres(vectors.data, i * d, d, centres, k, norms, out);
        const distances = Array.from({ length: k }, (_, c) => squaredDistance(rowOf(vectors, i), centres.subarray(c * d, (c + 1) * d)));
        const order = distances.map((_, c) => c).sort((a, b) => distances[a] - distances[b]);
        const pointNorm = squaredDistance(rowOf(vectors, i), new Float64Array(d));
        expect(out[0]).toBe(order[0]);
        expect(out[1] + pointNorm).toBeCloseTo(distances[order[0]], 9);
        if (k === 1) {
          expect(out[2]).toBe(Infinity);
          expect(out[3]).toBe(-1);
        } else {
          expect(out[3]).toBe(order[1]);
          expect(out[2] + pointNorm).toBeCloseTo(distances[order[1]], 9);
        }
      }
    }
  });
});

describe('kMeansPlusPlusSeeds', () => {
  it('picks distinct input vectors, one per planted cluster on separated blobs', () => {
    const blobs = gaussianBlobs(4, 50, 6, 10, 50, 0.1);
    const seeds = kMeansPlusPlusSeeds(blobs.vectors, 4, { random: seededRandom(1) });
    const clusters = new Set<number>();
    for (let c = 0; c < 4; c++) {
      const nearest = nearestCentroid(Array.from(rowOf(seeds, c)), blobs.centres);
      clusters.add(nearest.index);
      // Each seed is one of the input vectors.
      const found = assignToNearest(seeds, blobs.vectors);
      expect(found.squaredDistances[c]).toBe(0);
    }
    expect(clusters.size).toBe(4);
  });
});

describe('bounded Lloyd iterations', () => {
  /** Textbook Lloyd: assign by brute force, move centres to the means, fixed iteration count. */
  function plainLloyd(vectors: VectorSet, init: VectorSet, iterations: number) {
    const { n, d } = vectors;
    const k = init.n;
    const centres = Float64Array.from(init.data);
    const assignments = new Uint32Array(n);
    const assign = () => {
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) {
          const dc = squaredDistance(rowOf(vectors, i), centres.subarray(c * d, (c + 1) * d));
          if (dc < squaredDistance(rowOf(vectors, i), centres.subarray(best * d, (best + 1) * d))) best = c;
        }
        assignments[i] = best;
      }
    };
    assign();
    for (let it = 0; it < iterations; it++) {
      const sums = new Float64Array(k * d);
      const counts = new Array<number>(k).fill(0);
      for (let i = 0; i < n; i++) {
        counts[assignments[i]]++;
        for (let j = 0; j < d; j++) sums[assignments[i] * d + j] += vectors.data[i * d + j];
      }
      for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) centres[c * d + j] = sums[c * d + j] / counts[c];
      assign();
    }
    return { centres, assignments };
  }

  it('match textbook Lloyd step for step', () => {
    // Overlapping clusters so assignments keep changing for several iterations.
    const random = seededRandom(12);
    const n = 600;
    const d = 6;
    const vectors: VectorSet = { n, d, data: Float64Array.from({ length: n * d }, () => random.gaussian()) };
    const init = kMeansPlusPlusSeeds(vectors, 9, { random: seededRandom(13) });
    for (const iterations of [1, 3, 8, 20]) {
      const fast = kMeans(vectors, { init, maxIterations: iterations, tolerance: 0 });
      const slow = plainLloyd(vectors, init, fast.iterations);
      expect(Array.from(fast.assignments)).toEqual(Array.from(slow.assignments));
      for (let i = 0; i < slow.centres.length; i++) expect(fast.centroids.data[i]).toBeCloseTo(slow.centres[i], 10);
    }
    const full = kMeans(vectors, { init, maxIterations: 500, tolerance: 0 });
    expect(full.converged).toBe(true);
    expect(full.iterations).toBeGreaterThan(5);
    // Converged with tolerance 0: one more Lloyd step changes nothing.
    const again = plainLloyd(vectors, full.centroids, 1);
    expect(Array.from(again.assignments)).toEqual(Array.from(full.assignments));
  });

  it("keep Hamerly's bounds true after every move: upper >= distance to the own centre, lower <= distance to any other", () => {
    const random = seededRandom(16);
    const n = 700;
    const d = 5;
    const k = 11;
    const set: VectorSet = { n, d, data: Float64Array.from({ length: n * d }, () => random.gaussian()) };
    const centroids = Float64Array.from(kMeansPlusPlusSeeds(set, k, { random: seededRandom(17) }).data);
    const bounds = new HamerlyBounds(set, centroids, k);
    const assignments = Uint32Array.from({ length: n }, (_, i) => bounds.rescan(i));
    const counts = new Uint32Array(k);
    countMembers(assignments, counts);
    const check = () => {
      let tightLower = 0;
      for (let i = 0; i < n; i++) {
        const distances = Array.from({ length: k }, (_, c) => Math.sqrt(squaredDistance(rowOf(set, i), centroids.subarray(c * d, (c + 1) * d))));
        const own = distances[assignments[i]];
        const other = Math.min(...distances.filter((_, c) => c !== assignments[i]));
        expect(own).toBeLessThanOrEqual(other);
        expect(bounds.upper[i]).toBeGreaterThanOrEqual(own * (1 - 1e-12));
        expect(bounds.lower[i]).toBeLessThanOrEqual(other * (1 + 1e-12));
        if (bounds.lower[i] > 0.5 * other) tightLower++;
      }
      // Bounds that hold only because they are void (0 and Infinity) would prune nothing.
      expect(tightLower).toBeGreaterThan(n / 2);
    };
    check();
    const sums = new Float64Array(k * d);
    const moved = new Float64Array(k);
    const half = new Float64Array(k);
    for (let iteration = 0; iteration < 6; iteration++) {
      updateCentroids(set, assignments, centroids, k, counts, sums, moved);
      reassignAfterMove(bounds, assignments, counts, moved, half);
      check();
    }
  });

  it('stops earlier with a looser tolerance', () => {
    const random = seededRandom(14);
    const vectors: VectorSet = { n: 800, d: 4, data: Float64Array.from({ length: 3200 }, () => random.gaussian()) };
    const init = kMeansPlusPlusSeeds(vectors, 12, { random: seededRandom(15) });
    const strict = kMeans(vectors, { init, maxIterations: 500, tolerance: 0 });
    const loose = kMeans(vectors, { init, maxIterations: 500, tolerance: 1e-2 });
    expect(loose.converged).toBe(true);
    expect(loose.iterations).toBeLessThan(strict.iterations);
    expect(loose.inertia).toBeGreaterThanOrEqual(strict.inertia * (1 - 1e-12));
  });
});
