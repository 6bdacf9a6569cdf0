import { describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import { evenChunks, evenPartSizes } from '../../../lib/core/even-split';

describe('evenPartSizes', () => {
  it('makes the fewest parts of at most maxPerPart, sizes differing by at most one, larger first', () => {
    for (let count = 0; count <= 60; count++) {
      for (const max of [1, 2, 3, 7, 16, 61]) {
        const sizes = evenPartSizes(count, max);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
        expect(sizes.length).toBe(Math.max(1, Math.ceil(count / max)));
        expect(Math.max(...sizes)).toBeLessThanOrEqual(max);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
      }
    }
    expect(evenPartSizes(10, 4)).toEqual([4, 3, 3]);
    expect(evenPartSizes(0, 5)).toEqual([0]);
    expect(evenPartSizes(7, Number.POSITIVE_INFINITY)).toEqual([7]);
  });

  it('rejects a negative or fractional count and a part size below 1', () => {
    expect(() => evenPartSizes(-1, 3)).toThrow(InvalidParametersError);
    expect(() => evenPartSizes(2.5, 3)).toThrow(InvalidParametersError);
    expect(() => evenPartSizes(5, 0)).toThrow(InvalidParametersError);
    expect(() => evenPartSizes(5, Number.NaN)).toThrow(InvalidParametersError);
  });
});

describe('evenChunks', () => {
  it('cuts items into consecutive chunks of those sizes, in order', () => {
    const items = Array.from({ length: 11 }, (_, i) => `r${i}`);
    const chunks = evenChunks(items, 4);
    expect(chunks.map((chunk) => chunk.length)).toEqual([4, 4, 3]);
    expect(chunks.flat()).toEqual(items);
    expect(evenChunks([], 3)).toEqual([[]]);
  });
});
