/**
 * Seeded synthetic feature vectors for tests and benchmarks. Clustered data is a mixture of
 * Gaussian clusters, each spread mostly along a few random directions of its own plus a little
 * isotropic noise: like CNN features, the data has a low intrinsic dimension inside a high
 * ambient one. (Isotropic noise in 128 dimensions would make all members of a cluster almost
 * equidistant, so "nearest neighbours" would be meaningless and recall a coin toss.)
 */
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';

export interface ClusteredDataOptions {
  readonly n: number;
  readonly d: number;
  /** Number of clusters. Default max(8, round(sqrt(n) / 2)). */
  readonly clusters?: number;
  /** Directions of spread inside a cluster. Default 8. */
  readonly intrinsicDimension?: number;
  /** Spread along those directions, relative to the distance scale between centres. Default 0.35. */
  readonly spread?: number;
  /** Isotropic noise per coordinate. Default 0.02. */
  readonly noise?: number;
  readonly seed: number;
}

export interface LabelledVectors {
  readonly vectors: VectorSet;
  /** Cluster (or class) of each vector. */
  readonly labels: Uint32Array;
}

/** Mixture of low-rank Gaussian clusters (see the module comment). */
export function clusteredVectors(options: ClusteredDataOptions): LabelledVectors {
  const { n, d, seed } = options;
  const clusters = options.clusters ?? Math.max(8, Math.round(Math.sqrt(n) / 2));
  const rank = Math.min(d, options.intrinsicDimension ?? 8);
  const spread = options.spread ?? 0.35;
  const noise = options.noise ?? 0.02;
  const random = seededRandom(seed);
  // Centres ~ N(0, 1/d) per coordinate: pairwise centre distances are about sqrt(2).
  const scale = 1 / Math.sqrt(d);
  const centres = new Float64Array(clusters * d);
  for (let i = 0; i < centres.length; i++) centres[i] = random.gaussian() * scale;
  const bases = new Float64Array(clusters * rank * d);
  for (let i = 0; i < bases.length; i++) bases[i] = random.gaussian() * scale;

  const data = new Float64Array(n * d);
  const labels = new Uint32Array(n);
  const coefficients = new Float64Array(rank);
  for (let i = 0; i < n; i++) {
    const c = random.int(clusters);
    labels[i] = c;
    for (let r = 0; r < rank; r++) coefficients[r] = random.gaussian() * spread;
    const off = i * d;
    for (let j = 0; j < d; j++) {
      let v = centres[c * d + j] + random.gaussian() * noise * scale;
      for (let r = 0; r < rank; r++) v += coefficients[r] * bases[(c * rank + r) * d + j];
      data[off + j] = v;
    }
  }
  return { vectors: { n, d, data }, labels };
}
