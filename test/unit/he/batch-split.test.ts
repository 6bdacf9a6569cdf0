import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { mergeDistanceBatches, splitDistanceBatch } from '../../../lib/he/batch-merge';

/** A batch in the backends' shared format: magic (4) | version u16 | key id (8) | count u32 | items. */
function batch(count: number, itemBytes: number): Uint8Array {
  const bytes = new Uint8Array(18 + count * itemBytes);
  bytes.set([66, 83, 66, 84, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  new DataView(bytes.buffer).setUint32(14, count, true);
  for (let i = 0; i < count * itemBytes; i++) bytes[18 + i] = (i * 7 + Math.floor(i / itemBytes)) & 0xff;
  return bytes;
}

function countOf(part: Uint8Array): number {
  return new DataView(part.buffer, part.byteOffset + 14, 4).getUint32(0, true);
}

/** A batch whose item j of batch b is filled with (b * 16 + j) & 0xff; valueSlot v of item j = j * 2 + v. */
function labelled(b: number, count: number, itemBytes: number): { bytes: Uint8Array; valueSlot: Int32Array } {
  const bytes = batch(count, itemBytes);
  for (let j = 0; j < count; j++) bytes.fill((b * 16 + j) & 0xff, 18 + j * itemBytes, 18 + (j + 1) * itemBytes);
  return { bytes, valueSlot: Int32Array.from({ length: count * 2 }, (_, v) => v) };
}

describe('mergeDistanceBatches', () => {
  it('writes the shuffled items of every batch straight into parts of at most maxPartBytes, source and valueSlot in the parts\' order', () => {
    const itemBytes = 40;
    const batches = [labelled(0, 5, itemBytes), labelled(1, 3, itemBytes), labelled(2, 9, itemBytes)];
    for (const maxPartBytes of [undefined, 18 + 4 * itemBytes, 18 + itemBytes]) {
      const merged = mergeDistanceBatches(batches, { maxPartBytes, random: seededRandom(3) });
      const items = merged.parts.flatMap((part) => {
        expect(new DataView(part.bytes.buffer, part.bytes.byteOffset + 14, 4).getUint32(0, true)).toBe(part.items);
        if (maxPartBytes !== undefined) expect(part.bytes.length).toBeLessThanOrEqual(maxPartBytes);
        return Array.from({ length: part.items }, (_, j) => part.bytes[18 + j * itemBytes]);
      });
      expect(items).toHaveLength(17);
      expect(merged.parts.length).toBe(maxPartBytes === undefined ? 1 : Math.ceil(17 / Math.floor((maxPartBytes - 18) / itemBytes)));
      // Item i came from batch source[2i], its item valueSlot[2i] / 2: its bytes say so.
      items.forEach((label, i) => expect(label).toBe(merged.source[2 * i] * 16 + merged.valueSlot[2 * i] / 2));
      expect(new Set(items).size).toBe(17);
    }
  });
});

describe('splitDistanceBatch', () => {
  it('returns a batch that fits as it is', () => {
    const whole = batch(5, 100);
    expect(splitDistanceBatch(whole, whole.length)).toEqual([{ bytes: whole, items: 5 }]);
  });

  it('cuts a larger batch into even, valid parts of at most maxBytes whose items, in order, are the batch', () => {
    for (const [count, itemBytes, maxBytes] of [
      [10, 100, 18 + 300],
      [7, 64, 18 + 64 * 2 + 10],
      [33, 1000, 4000],
      [3, 500, 19],
    ]) {
      const whole = batch(count, itemBytes);
      const parts = splitDistanceBatch(whole, maxBytes);
      expect(parts.length).toBe(Math.ceil(count / Math.max(1, Math.floor((maxBytes - 18) / itemBytes))));
      const sizes = parts.map((p) => p.items);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
      const body: number[] = [];
      for (const part of parts) {
        expect(part.bytes.length).toBe(18 + part.items * itemBytes);
        if (itemBytes + 18 <= maxBytes) expect(part.bytes.length).toBeLessThanOrEqual(maxBytes);
        expect([...part.bytes.subarray(0, 14)]).toEqual([...whole.subarray(0, 14)]);
        expect(countOf(part.bytes)).toBe(part.items);
        body.push(...part.bytes.subarray(18));
      }
      expect(Uint8Array.from(body)).toEqual(whole.subarray(18));
    }
  });

  it('refuses a limit that cannot hold a header, and bytes that are not a batch', () => {
    expect(() => splitDistanceBatch(batch(2, 10), 18)).toThrow(InvalidInputError);
    expect(() => splitDistanceBatch(batch(2, 10), 1.5e3 + 0.5)).toThrow(InvalidInputError);
    expect(() => splitDistanceBatch(new Uint8Array(10), 100)).toThrow(InvalidInputError);
    const ragged = batch(3, 10).subarray(0, 18 + 25);
    expect(() => splitDistanceBatch(ragged, 20)).toThrow(/does not hold 3 items of one size/);
  });
});
