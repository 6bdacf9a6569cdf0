import { describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { sampleIndices } from '../../../lib/ml/sampling';

describe('sampleIndices', () => {
  it('returns m distinct ascending indices in range', () => {
    const sample = sampleIndices(1000, 100, seededRandom(1));
    expect(sample.length).toBe(100);
    for (let i = 1; i < sample.length; i++) expect(sample[i]).toBeGreaterThan(sample[i - 1]);
    expect(sample[99]).toBeLessThan(1000);
    expect(Array.from(sampleIndices(5, 5, seededRandom(2)))).toEqual([0, 1, 2, 3, 4]);
    expect(sampleIndices(5, 0).length).toBe(0);
  });

  it('is roughly uniform', () => {
    const random = seededRandom(3);
    const hits = new Array<number>(10).fill(0);
    for (let t = 0; t < 2000; t++) for (const i of sampleIndices(10, 3, random)) hits[i]++;
    // Each index is drawn with probability 3/10: expected 600 hits, sd ~20.
    for (const h of hits) expect(Math.abs(h - 600)).toBeLessThan(100);
  });

  it('rejects a sample larger than the population', () => {
    expect(() => sampleIndices(3, 4)).toThrow(InvalidParametersError);
    expect(() => sampleIndices(3, -1)).toThrow(InvalidParametersError);
  });
});
