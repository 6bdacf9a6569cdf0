/**
 * CS1 -> CS2 round trips: blind and evaluate (wherever the records are: the coordinator for the
 * reference points, a shard worker for templates), merge, send, unblind.
 *
 * Whoever evaluates draws a fresh secret blinding for its batch (secureRandom through lib/he):
 * one a per batch, b per value (or per batch, 'shared'). The HE backend computes
 * E(a * dist2 + b) and shuffles the batch. The coordinator merges every batch of a stage into
 * ONE batch for CS2 (lib/he/batch-merge: items shuffled again across batches; a batch larger than
 * the transport's partBytes goes as parts of it in parallel, in the same round trip), and maps each
 * value back through (source batch, valueSlot) and that batch's blinding. A value that does not
 * unblind to an integer in [0, dist2Max], a missing or a duplicated value is a DecryptionError:
 * CS2 answered for another key or the batch was tampered with.
 */
import { DecryptionError, InvalidInputError } from '../../core/errors';
import { mergeDistanceBatches, splitDistanceBatch } from '../../he/batch-merge';
import type { BatchPart } from '../../he/batch-merge';
import { drawBlinding, drawOffset, unblind } from '../../he/blinding';
import type { BlindingRange } from '../../he/blinding';
import type { Blinding, EncryptedQuery, HeDescriptor, HeEvaluator } from '../../he/types';
import type { BlindingMode, Cs2Transport } from './types';

/**
 * An evaluated batch and what its evaluator keeps secret from CS2: the blinding of each
 * requested slot. (Travels from a shard worker to the coordinator inside CS1.)
 */
export interface PreparedBatch {
  /** The backend's batch bytes. */
  readonly bytes: Uint8Array;
  /** valueSlot[e]: the requested slot of the batch's e-th value, -1 for SIMD filler. */
  readonly valueSlot: Int32Array;
  /** The requested slots, in request order. */
  readonly slots: readonly number[];
  /** The batch's multiplier. */
  readonly a: bigint;
  /** Offsets: one per requested slot (request order), or a single shared one. */
  readonly b: readonly bigint[];
}

/**
 * The blinding of a request: one map, or one a with a fresh b per slot. Offsets are uniform
 * below the key's offset bound: mod t for bfv (each value then uniform for CS2), [0, 2^bBits)
 * for she.
 */
export function drawBatchBlinding(mode: BlindingMode, range: BlindingRange, count: number): { a: bigint; b: bigint[] } {
  const shared = drawBlinding(range);
  if (mode === 'shared') return { a: shared.a, b: [shared.b] };
  const b: bigint[] = new Array(count);
  for (let i = 0; i < count; i++) b[i] = drawOffset(range);
  return { a: shared.a, b };
}

/** Blinds and evaluates the distances of `slots` of `records` (whole records, in request order). */
export function prepareBatch(
  evaluator: HeEvaluator,
  query: EncryptedQuery,
  records: readonly Uint8Array[],
  slots: readonly number[],
  mode: BlindingMode,
): PreparedBatch {
  const { a, b } = drawBatchBlinding(mode, evaluator.descriptor, slots.length);
  const blinding: Blinding | Blinding[] = b.length === 1 && mode === 'shared' ? { a, b: b[0] } : b.map((offset) => ({ a, b: offset }));
  const batch = evaluator.distanceBatch(query, { records, slots, blinding });
  return { bytes: batch.bytes, valueSlot: batch.valueSlot, slots: [...slots], a, b };
}

export interface ExchangeOutcome {
  /** dist2[i][j]: exact squared distance of batches[i].slots[j]. */
  readonly dist2: Float64Array[];
  /** Bytes sent to CS2. */
  readonly bytes: number;
  /** Batches the stage was sent as (1 unless it was cut into parts). */
  readonly parts: number;
}

/** Request index of every slot of a batch (slots are small integers: index them directly). */
function slotIndex(batch: PreparedBatch): Int32Array {
  let maxSlot = 0;
  for (const s of batch.slots) {
    if (!Number.isInteger(s) || s < 0) throw new InvalidInputError('prepared batch: slots must be integers >= 0');
    if (s > maxSlot) maxSlot = s;
  }
  const index = new Int32Array(maxSlot + 1).fill(-1);
  batch.slots.forEach((s, i) => {
    if (index[s] !== -1) throw new InvalidInputError('prepared batch: a slot is listed twice');
    index[s] = i;
  });
  return index;
}

/**
 * Sends the batches of one stage to CS2 as ONE batch (merged and reshuffled when there are
 * several) and returns every requested slot's exact squared distance.
 */
export async function exchangeBatches(descriptor: HeDescriptor, transport: Cs2Transport, batches: readonly PreparedBatch[]): Promise<ExchangeOutcome> {
  if (batches.length === 0) throw new InvalidInputError('exchange: at least one batch is required');
  for (const batch of batches) {
    if (batch.b.length !== 1 && batch.b.length !== batch.slots.length) throw new InvalidInputError('prepared batch: one offset, or one per slot');
  }
  const merged =
    batches.length === 1
      ? { parts: partsOf(transport, batches[0].bytes), source: new Int32Array(batches[0].valueSlot.length), valueSlot: batches[0].valueSlot }
      : mergeDistanceBatches(batches, { maxPartBytes: transport.partBytes });
  const { values, parts } = await decryptParts(transport, merged.parts, merged.valueSlot.length);
  if (!Array.isArray(values) || values.length !== merged.valueSlot.length) {
    throw new DecryptionError(`CS2 returned ${Array.isArray(values) ? values.length : 'no'} values for a batch of ${merged.valueSlot.length}`);
  }
  const indexes = batches.map(slotIndex);
  const dist2 = batches.map((batch) => new Float64Array(batch.slots.length).fill(-1));
  for (let e = 0; e < values.length; e++) {
    const slot = merged.valueSlot[e];
    if (slot < 0) continue; // filler value of a SIMD block: not a requested distance
    const source = merged.source[e];
    const batch = batches[source];
    const index = indexes[source];
    const i = slot < index.length ? index[slot] : -1;
    if (i < 0 || dist2[source][i] !== -1) throw new DecryptionError('CS2 batch does not match the request (unknown or repeated slot)');
    if (typeof values[e] !== 'bigint') throw new DecryptionError('CS2 returned a value that is not an integer');
    const blinding = { a: batch.a, b: batch.b.length === 1 ? batch.b[0] : batch.b[i] };
    dist2[source][i] = unblind(values[e], blinding, descriptor.dist2Max, descriptor.valueModulus);
  }
  for (const list of dist2) {
    for (let i = 0; i < list.length; i++) if (list[i] === -1) throw new DecryptionError('CS2 batch is missing a requested distance');
  }
  return { dist2, bytes: merged.parts.reduce((sum, part) => sum + part.bytes.length, 0), parts };
}

/** A single (unmerged) batch as the parts the transport takes. */
function partsOf(transport: Cs2Transport, bytes: Uint8Array): readonly BatchPart[] {
  return splitDistanceBatch(bytes, transport.partBytes ?? Number.MAX_SAFE_INTEGER);
}

/**
 * One round trip: the batch, or its parts sent together. The items were shuffled (by the
 * backend, and again when merged), so each part is a random subset: CS2 learns the stage's
 * size, as from one batch, and the parts' sizes follow from it.
 */
async function decryptParts(transport: Cs2Transport, parts: readonly BatchPart[], valueCount: number): Promise<{ values: bigint[]; parts: number }> {
  if (parts.length === 1) return { values: await transport.decryptBatch(parts[0].bytes), parts: 1 };
  const answers =
    transport.decryptParts !== undefined
      ? await transport.decryptParts(parts.map((part) => part.bytes))
      : await Promise.all(parts.map((part) => transport.decryptBatch(part.bytes)));
  // Each part's answer alone must have its items' values: a short part and a long one must not even out.
  const valuesPerItem = valueCount / parts.reduce((sum, part) => sum + part.items, 0);
  if (answers.length !== parts.length || answers.some((answer, i) => !Array.isArray(answer) || answer.length !== parts[i].items * valuesPerItem)) {
    throw new DecryptionError(`CS2's answers do not match the ${parts.length} parts of the batch sent`);
  }
  return { values: answers.flat(), parts: parts.length };
}
