/**
 * L2 normalisation of pooled activations. Features are compared by Euclidean distance, which on
 * unit vectors is a monotone function of cosine similarity: normalising removes the overall
 * activation strength (exposure, contrast) and keeps the pattern.
 */
import { InvalidParametersError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';

/**
 * Writes src[srcOffset..+d) into dst as a unit vector of doubles (a zero vector stays zero).
 * With `power`, each value x first becomes sign(x) sqrt(|x|) (power normalisation, as in
 * Perronnin et al.'s improved Fisher vectors): it damps channels that fire far above the rest.
 */
export function l2NormaliseInto(src: Float32Array, srcOffset: number, dst: Float64Array, dstOffset: number, d: number, power = false): void {
  let sum = 0;
  for (let j = 0; j < d; j++) {
    const x = src[srcOffset + j];
    const v = power ? Math.sign(x) * Math.sqrt(Math.abs(x)) : x;
    dst[dstOffset + j] = v;
    sum += v * v;
  }
  const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  for (let j = 0; j < d; j++) dst[dstOffset + j] *= inv;
}

/** Unit-length float64 rows of n x d float32 activations (optionally power-normalised first). */
export function normaliseRows(raw: Float32Array, n: number, d: number, power = false): VectorSet {
  if (raw.length !== n * d) throw new InvalidParametersError(`activations hold ${raw.length} values, expected ${n} x ${d}`);
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) l2NormaliseInto(raw, i * d, out, i * d, d, power);
  return { n, d, data: out };
}
