import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { nearestCentroid } from '../../support/vectors';
import { cakMeans } from '../../../lib/ml/cak-means';
import { adjustedRandIndex, clusterSizes, distinctCount, gaussianBlobs } from './fixtures';

describe('cakMeans', () => {
  const blobs = gaussianBlobs(6, 60, 10, 12);

  it('finds the planted clusters when AP sees every vector', () => {
    const result = cakMeans(blobs.vectors, { random: seededRandom(1) });
    expect(result.source).toBe('affinity-propagation');
    expect(result.apSampleSize).toBe(360);
    expect(result.apRuns).toBe(1);
    expect(result.apConverged).toBe(true);
    expect(result.k).toBe(6);
    expect(result.centroids.n).toBe(6);
    expect(result.centroids.d).toBe(10);
    expect(result.kMeansConverged).toBe(true);
    expect(adjustedRandIndex(result.assignments, blobs.labels)).toBe(1);
    // Each refined centre lies next to a distinct planted centre (spread 0.5, separation ~45).
    const matched = new Set<number>();
    for (let c = 0; c < 6; c++) {
      const near = nearestCentroid(Array.from(result.centroids.data.subarray(c * 10, (c + 1) * 10)), blobs.centres);
      expect(near.squaredDistance).toBeLessThan(0.1);
      matched.add(near.index);
    }
    expect(matched.size).toBe(6);
  });

  it('runs AP on a sample when n exceeds apSampleSize and still clusters every vector', () => {
    const large = gaussianBlobs(5, 400, 12, 13);
    const result = cakMeans(large.vectors, { apSampleSize: 250, random: seededRandom(2) });
    expect(result.apSampleSize).toBe(250);
    expect(result.k).toBe(5);
    expect(result.assignments.length).toBe(2000);
    expect(adjustedRandIndex(result.assignments, large.labels)).toBe(1);
  });

  it('searches the preference when K exceeds maxClusters', () => {
    const result = cakMeans(blobs.vectors, { maxClusters: 3, random: seededRandom(3) });
    expect(result.source).toBe('affinity-propagation-adjusted');
    expect(result.apRuns).toBeGreaterThan(1);
    expect(result.k).toBeLessThanOrEqual(3);
    expect(result.k).toBeGreaterThanOrEqual(1);
    // Merging whole blobs: each planted cluster stays within one result cluster.
    for (let label = 0; label < 6; label++) {
      const members = Array.from(result.assignments).filter((_, i) => blobs.labels[i] === label);
      expect(distinctCount(members)).toBe(1);
    }
    expect(result.preference).toBeLessThan(cakMeans(blobs.vectors, { random: seededRandom(3) }).preference);
  });

  it('searches the preference when K is below minClusters', () => {
    const result = cakMeans(blobs.vectors, { minClusters: 10, maxClusters: 40, random: seededRandom(4) });
    expect(result.source).toBe('affinity-propagation-adjusted');
    expect(result.k).toBeGreaterThanOrEqual(10);
    expect(result.k).toBeLessThanOrEqual(40);
    // Splitting blobs: every result cluster lies inside one planted cluster.
    for (let c = 0; c < result.k; c++) {
      const labels = Array.from(blobs.labels).filter((_, i) => result.assignments[i] === c);
      expect(distinctCount(labels)).toBe(1);
    }
    expect(Math.min(...clusterSizes(result.assignments, result.k))).toBeGreaterThan(0);
  });

  it('falls back to kmeans++ with the clamped K when the search is disabled', () => {
    const result = cakMeans(blobs.vectors, { maxClusters: 4, preferenceSearchSteps: 0, random: seededRandom(5) });
    expect(result.source).toBe('kmeans++-fallback');
    expect(result.apRuns).toBe(1);
    expect(result.k).toBe(4);
    expect(Math.min(...clusterSizes(result.assignments, 4))).toBeGreaterThan(0);
  });

  it('passes K-means options through and is reproducible', () => {
    const a = cakMeans(blobs.vectors, { kMeans: { maxIterations: 1 }, random: seededRandom(6) });
    const b = cakMeans(blobs.vectors, { kMeans: { maxIterations: 1 }, random: seededRandom(6) });
    expect(a.kMeansIterations).toBe(1);
    expect(Array.from(a.centroids.data)).toEqual(Array.from(b.centroids.data));
    expect(Array.from(a.assignments)).toEqual(Array.from(b.assignments));
  });

  it('handles a single vector and identical vectors', () => {
    const one = cakMeans({ n: 1, d: 3, data: Float64Array.from([1, 2, 3]) });
    expect(one.source).toBe('single-point');
    expect(one.k).toBe(1);
    expect(Array.from(one.centroids.data)).toEqual([1, 2, 3]);
    const same = cakMeans({ n: 20, d: 2, data: new Float64Array(40).fill(3) }, { random: seededRandom(7) });
    expect(same.k).toBe(1);
    expect(same.inertia).toBe(0);
  });

  it('rejects inconsistent bounds and bad input', () => {
    expect(() => cakMeans(blobs.vectors, { minClusters: 5, maxClusters: 4 })).toThrow(InvalidParametersError);
    expect(() => cakMeans(blobs.vectors, { minClusters: 361 })).toThrow(InvalidParametersError);
    expect(() => cakMeans(blobs.vectors, { apSampleSize: 1 })).toThrow(InvalidParametersError);
    expect(() => cakMeans(blobs.vectors, { damping: 0.2 })).toThrow(InvalidParametersError);
    expect(() => cakMeans({ n: 0, d: 2, data: new Float64Array(0) })).toThrow(InvalidInputError);
  });
});
