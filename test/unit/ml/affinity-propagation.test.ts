import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { affinityPropagationOnSimilarities, medianSimilarity, similarityMatrix } from '../../../lib/ml/affinity-propagation';
import { affinityPropagation } from '../../support/ml';
import { adjustedRandIndex, distinctCount, gaussianBlobs } from './fixtures';

describe('affinityPropagation', () => {
  const blobs = gaussianBlobs(4, 30, 8, 3);

  it('finds the planted number of clusters with the default median preference', () => {
    const result = affinityPropagation(blobs.vectors);
    expect(result.converged).toBe(true);
    expect(result.exemplars.length).toBe(4);
    expect(adjustedRandIndex(result.assignments, blobs.labels)).toBe(1);
    // Exemplars come from distinct planted clusters, and each one labels its own cluster.
    expect(distinctCount(Array.from(result.exemplars, (e) => blobs.labels[e]))).toBe(4);
    result.exemplars.forEach((e, c) => expect(result.assignments[e]).toBe(c));
    // Exemplars are ascending input indices.
    for (let c = 1; c < result.exemplars.length; c++) expect(result.exemplars[c]).toBeGreaterThan(result.exemplars[c - 1]);
    expect(result.preference).toBeCloseTo(medianSimilarity(similarityMatrix(blobs.vectors)), 9);
  });

  it('assigns every point to its most similar exemplar', () => {
    const result = affinityPropagation(blobs.vectors);
    const { n, d, data } = blobs.vectors;
    for (let i = 0; i < n; i++) {
      const dist = (e: number) => {
        let s = 0;
        for (let j = 0; j < d; j++) s += (data[i * d + j] - data[e * d + j]) ** 2;
        return s;
      };
      const mine = dist(result.exemplars[result.assignments[i]]);
      for (const e of result.exemplars) expect(mine).toBeLessThanOrEqual(dist(e) + 1e-9);
    }
  });

  it('makes more clusters for a higher preference and one point per cluster at preference 0', () => {
    const high = affinityPropagation(blobs.vectors, { preference: 0, damping: 0.7 });
    expect(high.exemplars.length).toBe(blobs.vectors.n);
    const { min } = similarityMatrix(blobs.vectors);
    const low = affinityPropagation(blobs.vectors, { preference: 10 * min, damping: 0.9, maxIterations: 500 });
    expect(low.exemplars.length).toBeLessThan(4);
    expect(low.exemplars.length).toBeGreaterThanOrEqual(1);
  });

  it('is deterministic and breaks the ties of exact duplicates', () => {
    // Every point twice (duplicate images are common in real collections).
    const { n, d, data } = blobs.vectors;
    const doubled = new Float64Array(2 * n * d);
    doubled.set(data);
    doubled.set(data, n * d);
    const vectors: VectorSet = { n: 2 * n, d, data: doubled };
    const a = affinityPropagation(vectors);
    const b = affinityPropagation(vectors);
    expect(a.converged).toBe(true);
    expect(a.exemplars.length).toBe(4);
    for (let i = 0; i < n; i++) expect(a.assignments[i + n]).toBe(a.assignments[i]);
    expect(Array.from(b.exemplars)).toEqual(Array.from(a.exemplars));
    expect(Array.from(b.assignments)).toEqual(Array.from(a.assignments));
    // Two groups of identical points: only the noise can pick the exemplars, and the slow
    // drift of damped messages must not be mistaken for convergence.
    const pairs: VectorSet = { n: 4, d: 2, data: Float64Array.from([0, 0, 0, 0, 5, 5, 5, 5]) };
    const two = affinityPropagation(pairs);
    expect(two.converged).toBe(true);
    expect(Array.from(two.assignments)).toEqual([0, 0, 1, 1]);
    const triples: VectorSet = { n: 6, d: 2, data: Float64Array.from([0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10, 10]) };
    expect(Array.from(affinityPropagation(triples, { damping: 0.5 }).assignments)).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('answers directly when every pair is equally similar', () => {
    const same: VectorSet = { n: 5, d: 3, data: new Float64Array(15).fill(4) };
    const one = affinityPropagation(same);
    expect(Array.from(one.exemplars)).toEqual([0]);
    expect(Array.from(one.assignments)).toEqual([0, 0, 0, 0, 0]);
    // A preference above the (zero) similarity: every point is its own exemplar.
    expect(affinityPropagation(same, { preference: 1 }).exemplars.length).toBe(5);
  });

  it('gives the same clusters with dot-product similarity on unit vectors', () => {
    const { n, d, data } = blobs.vectors;
    const unit = Float64Array.from(data);
    for (let i = 0; i < n; i++) {
      let norm = 0;
      for (let j = 0; j < d; j++) norm += unit[i * d + j] ** 2;
      for (let j = 0; j < d; j++) unit[i * d + j] /= Math.sqrt(norm);
    }
    const euclidean = affinityPropagation({ n, d, data: unit });
    const dot = affinityPropagation({ n, d, data: unit }, { similarity: 'dot-product' });
    expect(adjustedRandIndex(dot.assignments, euclidean.assignments)).toBe(1);
    expect(dot.preference).toBeGreaterThan(euclidean.preference);
  });

  it('reuses one similarity matrix across runs', () => {
    const similarities = similarityMatrix(blobs.vectors);
    const before = similarities.values[1];
    const a = affinityPropagationOnSimilarities(similarities, { preference: -1 });
    const b = affinityPropagationOnSimilarities(similarities);
    expect(similarities.values[1]).toBe(before);
    expect(a.exemplars.length).toBeGreaterThan(b.exemplars.length);
    expect(b.exemplars.length).toBe(4);
  });

  it('reports non-convergence when iterations run out', () => {
    const result = affinityPropagation(blobs.vectors, { maxIterations: 3 });
    expect(result.converged).toBe(false);
    expect(result.iterations).toBe(3);
    expect(result.exemplars.length).toBeGreaterThan(0);
    expect(Math.max(...result.assignments)).toBeLessThan(result.exemplars.length);
  });

  it('validates damping, iteration counts and size', () => {
    for (const damping of [0.4, 1, 1.5, Number.NaN]) {
      expect(() => affinityPropagation(blobs.vectors, { damping })).toThrow(InvalidParametersError);
    }
    expect(affinityPropagation(blobs.vectors, { damping: 0.9 }).exemplars.length).toBe(4);
    expect(() => affinityPropagation(blobs.vectors, { maxIterations: 0 })).toThrow(InvalidParametersError);
    expect(() => affinityPropagation(blobs.vectors, { convergenceIterations: 0 })).toThrow(InvalidParametersError);
    expect(() => affinityPropagation(blobs.vectors, { preference: Number.NaN })).toThrow(InvalidParametersError);
    expect(() => affinityPropagation(blobs.vectors, { maxPoints: 100 })).toThrow(/sample/);
    expect(() => affinityPropagation({ n: 1, d: 2, data: new Float64Array(2) })).toThrow(InvalidInputError);
  });
});

describe('medianSimilarity', () => {
  it('is the median of the pairwise similarities (odd and even counts)', () => {
    const random = seededRandom(4);
    for (const n of [4, 5, 6, 9]) {
      const vectors: VectorSet = { n, d: 3, data: Float64Array.from({ length: n * 3 }, () => random.gaussian()) };
      const similarities = similarityMatrix(vectors);
      const pairs: number[] = [];
      for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) pairs.push(similarities.values[i * n + k]);
      pairs.sort((a, b) => a - b);
      const mid = pairs.length >> 1;
      const expected = pairs.length % 2 ? pairs[mid] : (pairs[mid - 1] + pairs[mid]) / 2;
      expect(medianSimilarity(similarities)).toBe(expected);
    }
  });
});

describe('affinityPropagationOnSimilarities input checks', () => {
  it('rejects inconsistent or non-finite matrices', () => {
    const good = similarityMatrix(gaussianBlobs(2, 3, 2, 1).vectors);
    expect(() => affinityPropagationOnSimilarities({ ...good, values: good.values.subarray(1) })).toThrow();
    const bad = Float64Array.from(good.values);
    bad[1] = Number.NaN;
    expect(() => affinityPropagationOnSimilarities({ ...good, values: bad })).toThrow(InvalidInputError);
    expect(() => affinityPropagationOnSimilarities({ ...good, n: 1, values: new Float64Array(1) })).toThrow(InvalidInputError);
  });
});
