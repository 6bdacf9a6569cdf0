/**
 * Stage-2 batch padding: what CS2 learns from a batch's SIZE. Without padding a batch of
 * distances holds exactly the candidate records, so its size tells CS2 how many templates lie
 * near the query (and a one-value batch says "no candidates"). CS1 pads every stage-2 batch
 * with decoy records, drawn uniformly (secureRandom) among the records it did not need, up to
 *   max(minimum, next power of two of the real record count), capped at all records,
 * where the minimum is minValues rounded up to whole records. CS2 then learns only the
 * power-of-two bucket of the candidate count, and "no candidates" looks like any batch of the
 * minimum size. Decoys cost reads and CS1 time (at most 2x, about 1.4x on average).
 */
import { InvalidInputError } from '../../core/errors';
import { secureRandom } from '../../core/random';
import type { RandomSource } from '../../core/random';

export interface BatchPadding {
  /** Every stage-2 batch carries at least this many values (whole records). */
  readonly minValues: number;
  /** Round the record count up to a power of two. */
  readonly powerOfTwo: boolean;
}

/** 16 values: one bfv record, 16 she templates. */
export const DEFAULT_BATCH_PADDING: BatchPadding = { minValues: 16, powerOfTwo: true };

/** No decoys beyond the one record that keeps the two-call pattern when nothing matches. */
export const NO_BATCH_PADDING: BatchPadding = { minValues: 1, powerOfTwo: false };

export function resolveBatchPadding(option: Partial<BatchPadding> | false | undefined): BatchPadding {
  if (option === false) return NO_BATCH_PADDING;
  const padding = { ...DEFAULT_BATCH_PADDING, ...(option ?? {}) };
  if (!Number.isInteger(padding.minValues) || padding.minValues < 1) {
    throw new InvalidInputError('CS1: padding.minValues must be a positive integer');
  }
  if (typeof padding.powerOfTwo !== 'boolean') throw new InvalidInputError('CS1: padding.powerOfTwo must be a boolean');
  return padding;
}

/** Records a stage-2 batch carries when `real` records hold candidates (of `total`). */
export function paddedRecordCount(real: number, total: number, vectorsPerRecord: number, padding: BatchPadding): number {
  const minimum = Math.max(1, Math.ceil(padding.minValues / vectorsPerRecord));
  let target = Math.max(real, minimum);
  if (padding.powerOfTwo) target = 2 ** Math.ceil(Math.log2(target));
  return Math.min(total, Math.max(real, target));
}

/**
 * `count` distinct records outside the sorted list `taken`, uniform among the `total - taken`
 * free ones (partial Fisher-Yates over a virtual list of free records).
 */
export function drawDecoyRecords(taken: readonly number[], count: number, total: number, random: RandomSource = secureRandom): number[] {
  const free = total - taken.length;
  if (count > free) throw new InvalidInputError(`CS1: ${count} decoy records requested but only ${free} are free`);
  // free index i -> record: skip the taken records (sorted) below it.
  const recordOfFree = (i: number): number => {
    let record = i;
    for (const t of taken) {
      if (t <= record) record++;
      else break;
    }
    return record;
  };
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const j = k + random.int(free - k);
    const pick = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(k) ?? k);
    out.push(recordOfFree(pick));
  }
  return out.sort((a, b) => a - b);
}
