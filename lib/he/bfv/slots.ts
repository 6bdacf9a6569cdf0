/**
 * SIMD slot layout of the bfv backend: a record packs vectorsPerRecord = floor(N / d) vectors,
 * vector k in slots [k d, (k+1) d); a query is the vector replicated in every block, so one
 * slot-wise subtraction compares it with every vector of a record. Slots past the last block
 * are zero.
 */
import type { VectorSet } from '../../linalg/vectors';
import { assertIntegerCoordinate } from '../inputs';

/** Slots of a vector replicated into `copies` blocks of d. */
export function packQuery(query: ArrayLike<number>, slots: number, d: number, copies: number): Int32Array {
  const out = new Int32Array(slots);
  for (let k = 0; k < copies; k++) for (let j = 0; j < d; j++) out[k * d + j] = query[j];
  return out;
}

/**
 * Slots of record `recordIndex`: vectors [r vpr, min(n, (r+1) vpr)), zero-padded. Every
 * coordinate is checked to be an integer with |x| <= maxAbs (InvalidInputError).
 */
export function packRecord(vectors: VectorSet, recordIndex: number, slots: number, vectorsPerRecord: number, maxAbs: number): Int32Array {
  const { d } = vectors;
  const out = new Int32Array(slots);
  const first = recordIndex * vectorsPerRecord;
  const last = Math.min(vectors.n, first + vectorsPerRecord);
  for (let i = first; i < last; i++) {
    for (let j = 0; j < d; j++) {
      const v = vectors.data[i * d + j];
      assertIntegerCoordinate(v, maxAbs, `vectors[${i}][${j}]`);
      out[(i - first) * d + j] = v;
    }
  }
  return out;
}
