/**
 * Machine-learning helpers for the tests: Affinity Propagation on a vector set in one call, one
 * vector's PCA projection, the PCA reconstruction and explained-variance ratios a fitted model is
 * checked with, and a graph node's neighbour list.
 */
import { DimensionMismatchError } from '../../lib/core/errors';
import type { VectorSet } from '../../lib/linalg/vectors';
import { assertDimension } from '../../lib/linalg/vectors';
import { affinityPropagationOnSimilarities, similarityMatrix } from '../../lib/ml/affinity-propagation';
import { transformPca } from '../../lib/ml/pca';
import type { ProximityGraph } from '../../lib/ml/proximity-graph';
import type { AffinityPropagationParameters, AffinityPropagationResult, PcaModel, SimilarityOptions } from '../../lib/ml/types';
import { assertVectorSet } from '../../lib/ml/validation';
import { assertFinite } from './vectors';

type AffinityPropagationOptions = AffinityPropagationParameters & SimilarityOptions;

/**
 * Clusters `vectors` by Affinity Propagation on the similarity s(i, k) = -||x_i - x_k||^2
 * (or x_i . x_k, see SimilarityKind in lib/ml/types.ts).
 * @throws InvalidInputError for fewer than 2 or non-finite vectors; InvalidParametersError for
 *         n > maxPoints, damping outside [0.5, 1) or bad iteration counts.
 */
export function affinityPropagation(
  vectors: VectorSet,
  options: AffinityPropagationOptions = {},
): AffinityPropagationResult {
  return affinityPropagationOnSimilarities(similarityMatrix(vectors, options), options);
}

/** Projects one vector onto the model's components (the batch transform on a set of one). */
export function transformVector(model: PcaModel, vector: ArrayLike<number>): Float64Array {
  assertDimension(vector, model.inputDimension, 'PCA transform vector');
  assertFinite(vector, 'PCA transform vector');
  return transformPca(model, { n: 1, d: model.inputDimension, data: Float64Array.from(vector) }).data;
}

/** Maps projected vectors back to input space: mean + y basis (the rank-`components` reconstruction). */
export function inverseTransformPca(model: PcaModel, projected: VectorSet): VectorSet {
  assertVectorSet(projected, 'PCA inverse transform input', 0);
  if (projected.d !== model.components) {
    throw new DimensionMismatchError('PCA inverse transform input', model.components, projected.d);
  }
  const d = model.inputDimension;
  const c = model.components;
  const out = new Float64Array(projected.n * d);
  for (let i = 0; i < projected.n; i++) {
    const o = i * d;
    out.set(model.mean, o);
    for (let k = 0; k < c; k++) {
      const y = projected.data[i * c + k];
      const b = k * d;
      for (let j = 0; j < d; j++) out[o + j] += y * model.basis[b + j];
    }
  }
  return { n: projected.n, d, data: out };
}

/** Fraction of the total variance each component explains (0 when the data has no variance). */
export function explainedVarianceRatio(model: PcaModel): Float64Array {
  const out = new Float64Array(model.components);
  if (model.totalVariance > 0) {
    for (let k = 0; k < model.components; k++) out[k] = model.explainedVariance[k] / model.totalVariance;
  }
  return out;
}

/** Neighbours of one node (a view, valid until the node's list changes). */
export function neighboursOf(graph: ProximityGraph, node: number): Uint32Array {
  const start = node * graph.maxDegree;
  return graph.neighbours.subarray(start, start + graph.degree[node]);
}
