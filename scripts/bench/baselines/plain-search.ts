/**
 * Plaintext baseline: the exact squared distance of a query to every template, which defines
 * what the encrypted protocol must return (the benchmark's `exact`; the tests' range searches in
 * test/support/plain-search.ts are built on it).
 */
import type { VectorSet } from '../../../lib/linalg/vectors';
import { assertDimension, squaredDistanceAt } from '../../../lib/linalg/vectors';

function queryArray(templates: VectorSet, query: ArrayLike<number>): Float64Array {
  assertDimension(query, templates.d, 'query');
  return Float64Array.from(query);
}

/** Exact squared distance of the query to every template (input order). */
export function allSquaredDistances(templates: VectorSet, query: ArrayLike<number>): Float64Array {
  const q = queryArray(templates, query);
  const out = new Float64Array(templates.n);
  for (let i = 0; i < templates.n; i++) out[i] = squaredDistanceAt(templates.data, i * templates.d, q, 0, templates.d);
  return out;
}
