/**
 * Merging distance batches into one. When CS1 evaluates candidates in several places (one
 * worker per shard), it still sends CS2 ONE batch per stage (cut into parts sent together when
 * it is large): CS2 then sees the same thing as
 * from a single evaluator (one batch, its total size, its items shuffled), not how the
 * candidates were spread over shards, and a query costs one round trip per stage.
 *
 * Every backend writes batches as
 *   magic (4) | version u16 | key id (8) | count u32 | count items of one fixed size
 * where an item carries valueSlot.length / count values (bfv: one output ciphertext per record,
 * vectorsPerRecord values; she: one value). Batches merge when magic, version and key id agree;
 * the items are shuffled (secureRandom) so that their order says nothing about which batch, and
 * so which shard, they came from.
 */
import { BinaryWriter } from '../codec/binary';
import { InvalidInputError } from '../core/errors';
import { evenPartSizes } from '../core/even-split';
import { secureRandom, shuffleInPlace } from '../core/random';
import type { RandomSource } from '../core/random';
import type { DistanceBatch } from './types';

/** magic (4) + version (2) + key id (8). */
const PREFIX_BYTES = 14;
const HEADER_BYTES = PREFIX_BYTES + 4;

/** A part of a batch: a batch itself, holding `items` consecutive items of the whole. */
export interface BatchPart {
  readonly bytes: Uint8Array;
  readonly items: number;
}

export interface MergedBatch {
  /**
   * One batch in the backends' format, as parts of at most `maxPartBytes` (a single part when
   * it fits or no limit is given): CS2's answers to the parts, joined in order, are the values
   * that `source` and `valueSlot` describe.
   */
  readonly parts: readonly BatchPart[];
  /** For the i-th value CS2 returns: the batch it came from... */
  readonly source: Int32Array;
  /** ...and its valueSlot in that batch (-1: a filler value). */
  readonly valueSlot: Int32Array;
}

interface Parsed {
  readonly count: number;
  readonly itemBytes: number;
  readonly valuesPerItem: number;
}

/** Item count and size of a batch in the shared format; `what` names it in errors. */
function parse(bytes: Uint8Array, valueCount: number, what: string): Parsed {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) throw new InvalidInputError(`${what} is not a distance batch`);
  const count = new DataView(bytes.buffer, bytes.byteOffset + PREFIX_BYTES, 4).getUint32(0, true);
  const body = bytes.length - HEADER_BYTES;
  if (count < 1 || body % count !== 0 || valueCount % count !== 0) {
    throw new InvalidInputError(`${what} does not hold ${count} items of one size`);
  }
  return { count, itemBytes: body / count, valuesPerItem: valueCount / count };
}

function samePrefix(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < PREFIX_BYTES; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Items a part of at most `maxBytes` holds (at least one); no limit: all of them. */
function itemsPerPart(maxBytes: number | undefined, itemBytes: number): number {
  if (maxBytes === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= HEADER_BYTES) throw new InvalidInputError(`batch parts: maxBytes must be an integer above ${HEADER_BYTES}`);
  return Math.max(1, Math.floor((maxBytes - HEADER_BYTES) / itemBytes));
}

/**
 * One batch holding every item of `batches` (same key and backend), items shuffled, written
 * straight into parts of at most `maxPartBytes` (each item is copied once: at a million
 * templates a stage is about 79 MB, and every copy of it is coordinator time).
 */
export function mergeDistanceBatches(
  batches: readonly DistanceBatch[],
  options: { readonly maxPartBytes?: number; readonly random?: RandomSource } = {},
): MergedBatch {
  if (batches.length === 0) throw new InvalidInputError('merge batches: at least one batch is required');
  const parsed = batches.map(({ bytes, valueSlot }, i) => {
    if (!(valueSlot instanceof Int32Array)) throw new InvalidInputError(`merge batches: batch ${i} is not a distance batch`);
    return parse(bytes, valueSlot.length, `merge batches: batch ${i}`);
  });
  const first = batches[0].bytes;
  const { itemBytes, valuesPerItem } = parsed[0];
  parsed.forEach((p, i) => {
    if (!samePrefix(first, batches[i].bytes) || p.itemBytes !== itemBytes || p.valuesPerItem !== valuesPerItem) {
      throw new InvalidInputError(`merge batches: batch ${i} belongs to another key, backend or format than batch 0`);
    }
  });
  const perPart = itemsPerPart(options.maxPartBytes, itemBytes);
  const items: Array<{ batch: number; item: number }> = [];
  parsed.forEach((p, batch) => {
    for (let item = 0; item < p.count; item++) items.push({ batch, item });
  });
  shuffleInPlace(items, options.random ?? secureRandom);

  const source = new Int32Array(items.length * valuesPerItem);
  const valueSlot = new Int32Array(items.length * valuesPerItem);
  const parts: BatchPart[] = [];
  let i = 0;
  for (const take of evenPartSizes(items.length, perPart)) {
    const writer = new BinaryWriter(HEADER_BYTES + take * itemBytes);
    writer.bytes(first.subarray(0, PREFIX_BYTES)).u32(take);
    for (const end = i + take; i < end; i++) {
      const { batch, item } = items[i];
      const { bytes, valueSlot: slots } = batches[batch];
      writer.bytes(bytes.subarray(HEADER_BYTES + item * itemBytes, HEADER_BYTES + (item + 1) * itemBytes));
      source.fill(batch, i * valuesPerItem, (i + 1) * valuesPerItem);
      valueSlot.set(slots.subarray(item * valuesPerItem, (item + 1) * valuesPerItem), i * valuesPerItem);
    }
    parts.push({ bytes: writer.finish(), items: take });
  }
  return { parts, source, valueSlot };
}

/**
 * A batch cut into consecutive parts of at most `maxBytes` each (at least one item a part),
 * every part a valid batch of the same key and format, the parts as even as the item count
 * allows. CS2 answers each part's values in its items' order, so the parts' answers, joined in
 * order, are the whole batch's answer. A batch that fits is returned as it is.
 */
export function splitDistanceBatch(bytes: Uint8Array, maxBytes: number): BatchPart[] {
  const { count, itemBytes } = parse(bytes, 0, 'split batch: the batch');
  const perPart = itemsPerPart(maxBytes, itemBytes);
  if (bytes.length <= maxBytes) return [{ bytes, items: count }];
  const out: BatchPart[] = [];
  let item = 0;
  for (const take of evenPartSizes(count, perPart)) {
    const writer = new BinaryWriter(HEADER_BYTES + take * itemBytes);
    writer.bytes(bytes.subarray(0, PREFIX_BYTES)).u32(take);
    writer.bytes(bytes.subarray(HEADER_BYTES + item * itemBytes, HEADER_BYTES + (item + take) * itemBytes));
    out.push({ bytes: writer.finish(), items: take });
    item += take;
  }
  return out;
}
