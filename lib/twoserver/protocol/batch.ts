/**
 * One CS1 -> CS2 round trip: blind, evaluate, send, unblind.
 *
 * CS1 draws a fresh secret blinding for every batch (secureRandom through lib/he), the HE
 * backend computes E(a * dist2 + b) and shuffles the batch, CS2 decrypts, and CS1 maps each
 * value back through the batch's valueSlot and inverts the blinding exactly. A value that does
 * not unblind to an integer in [0, dist2Max], a missing or a duplicated value is a
 * DecryptionError: CS2 answered for another key or the batch was tampered with.
 */
import { DecryptionError } from '../../core/errors';
import { drawBlinding, drawOffset, unblind } from '../../he/blinding';
import type { BlindingRange } from '../../he/blinding';
import type { Blinding, EncryptedQuery, HeEvaluator } from '../../he/types';
import type { BlindingMode, Cs2Transport } from './types';

export interface BatchOutcome {
  /** dist2[i] is the exact squared distance of slots[i]. */
  readonly dist2: Float64Array;
  /** Bytes sent to CS2. */
  readonly bytes: number;
}

/**
 * The blinding of a request: one map, or one a with a fresh b per slot. Offsets are uniform
 * below the key's offset bound: mod t for bfv (each value then uniform for CS2), [0, 2^bBits)
 * for she.
 */
export function drawBatchBlinding(
  mode: BlindingMode,
  range: BlindingRange,
  count: number,
): { request: Blinding | Blinding[]; of: (i: number) => Blinding } {
  const shared = drawBlinding(range);
  if (mode === 'shared') return { request: shared, of: () => shared };
  const list: Blinding[] = new Array(count);
  for (let i = 0; i < count; i++) list[i] = { a: shared.a, b: drawOffset(range) };
  return { request: list, of: (i) => list[i] };
}

export async function evaluateBatch(
  evaluator: HeEvaluator,
  transport: Cs2Transport,
  query: EncryptedQuery,
  records: readonly Uint8Array[],
  slots: readonly number[],
  mode: BlindingMode,
): Promise<BatchOutcome> {
  const descriptor = evaluator.descriptor;
  const blinding = drawBatchBlinding(mode, descriptor, slots.length);
  const batch = evaluator.distanceBatch(query, { records, slots, blinding: blinding.request });
  const values = await transport.decryptBatch(batch.bytes);
  if (!Array.isArray(values) || values.length !== batch.valueSlot.length) {
    throw new DecryptionError(`CS2 returned ${Array.isArray(values) ? values.length : 'no'} values for a batch of ${batch.valueSlot.length}`);
  }
  // Slots are small integers (records read * vectorsPerRecord): index them directly.
  let maxSlot = 0;
  for (const s of slots) if (s > maxSlot) maxSlot = s;
  const indexOfSlot = new Int32Array(maxSlot + 1).fill(-1);
  slots.forEach((s, i) => {
    indexOfSlot[s] = i;
  });
  const dist2 = new Float64Array(slots.length).fill(-1);
  for (let e = 0; e < values.length; e++) {
    const slot = batch.valueSlot[e];
    if (slot < 0) continue; // filler value of a SIMD block: not a requested distance
    const i = slot <= maxSlot ? indexOfSlot[slot] : -1;
    if (i < 0 || dist2[i] !== -1) throw new DecryptionError('CS2 batch does not match the request (unknown or repeated slot)');
    if (typeof values[e] !== 'bigint') throw new DecryptionError('CS2 returned a value that is not an integer');
    dist2[i] = unblind(values[e], blinding.of(i), descriptor.dist2Max, descriptor.valueModulus);
  }
  for (let i = 0; i < dist2.length; i++) {
    if (dist2[i] === -1) throw new DecryptionError('CS2 batch is missing a requested distance');
  }
  return { dist2, bytes: batch.bytes.length };
}
