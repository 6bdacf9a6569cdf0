import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError, MalformedDataError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import type { RandomSource } from '../../../lib/core/random';
import { buildSegmentIndex, segmentCount } from '../../../lib/twoserver/segments/build';
import { segmentAt, segmentCounts } from '../../support/twoserver';
import { decodeSegmentIndex, encodeSegmentIndex } from '../../../lib/twoserver/segments/codec';
import { fitTolerance } from '../../../lib/twoserver/segments/line';
import { positionRange, predictPosition } from '../../../lib/twoserver/segments/lookup';
import type { SegmentationMethod, SegmentIndex } from '../../../lib/twoserver/segments/types';

const METHODS: SegmentationMethod[] = ['fiting', 'optimal'];

function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function uniformKeys(n: number, random: RandomSource, scale = 10_000): Float64Array {
  return sorted(Array.from({ length: n }, () => random.next() * scale));
}

/** Mixture of Gaussians with very different spreads: dense clusters, sparse gaps. */
function clusteredKeys(n: number, random: RandomSource): Float64Array {
  const centres = Array.from({ length: 6 }, () => random.next() * 10_000);
  const spreads = centres.map(() => 0.5 + random.next() * 200);
  return sorted(
    Array.from({ length: n }, () => {
      const c = random.int(centres.length);
      return centres[c] + spreads[c] * random.gaussian();
    }),
  );
}

/** Few distinct values with runs from 1 to far longer than 2 * eps. */
function duplicateKeys(n: number, random: RandomSource): Float64Array {
  const values: number[] = [];
  let key = random.next() * 10;
  while (values.length < n) {
    const run = random.next() < 0.3 ? 1 + random.int(200) : 1 + random.int(3);
    for (let i = 0; i < run && values.length < n; i++) values.push(key);
    key += 0.001 + random.next() * 5;
  }
  return Float64Array.from(values);
}

/** iDistance-shaped keys: partitions at increasing offsets, each a bump of distances. */
function partitionedKeys(n: number, random: RandomSource): Float64Array {
  const values: number[] = [];
  let offset = 0;
  while (values.length < n) {
    const size = 1 + random.int(Math.max(1, n / 4));
    const centre = 500 + random.next() * 500;
    let dmax = 0;
    for (let i = 0; i < size && values.length < n; i++) {
      const d = Math.max(0, centre + 60 * random.gaussian());
      dmax = Math.max(dmax, d);
      values.push(offset + d);
    }
    offset += dmax + 1;
  }
  return sorted(values);
}

const GENERATORS: Record<string, (n: number, random: RandomSource) => Float64Array> = {
  uniform: uniformKeys,
  clustered: clusteredKeys,
  duplicates: duplicateKeys,
  partitioned: partitionedKeys,
};

function lowerBound(keys: Float64Array, x: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(keys: Float64Array, x: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Largest error |predict(k) - first(k)| over distinct keys. */
function maxFirstOccurrenceError(keys: Float64Array, index: SegmentIndex): number {
  let worst = 0;
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && keys[i] === keys[i - 1]) continue;
    worst = Math.max(worst, Math.abs(predictPosition(index, keys[i]) - i));
  }
  return worst;
}

/** Range that must contain [lowerBound(lo), upperBound(hi)); checks containment for one query. */
function expectRangeContains(keys: Float64Array, index: SegmentIndex, lo: number, hi: number): { width: number; truth: number } {
  const { start, end } = positionRange(index, lo, hi);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeLessThanOrEqual(keys.length);
  expect(end).toBeGreaterThanOrEqual(start);
  const first = lowerBound(keys, lo);
  const last = upperBound(keys, hi);
  if (first < last) {
    expect(start).toBeLessThanOrEqual(first);
    expect(end).toBeGreaterThanOrEqual(last);
  }
  return { width: end - start, truth: Math.max(0, last - first) };
}

/** Random query bounds: exact keys, points between keys, and values outside the key range. */
function randomBound(keys: Float64Array, random: RandomSource): number {
  const r = random.next();
  const span = keys[keys.length - 1] - keys[0] + 1;
  if (r < 0.4) return keys[random.int(keys.length)];
  if (r < 0.9) return keys[0] - 0.05 * span + random.next() * 1.1 * span;
  return random.next() < 0.5 ? keys[0] - 1 : keys[keys.length - 1] + 1;
}

describe('segment error bound', () => {
  for (const [name, generate] of Object.entries(GENERATORS)) {
    for (const method of METHODS) {
      for (const eps of [0, 1, 4, 16, 64]) {
        it(`${method}, ${name} keys, eps ${eps}: every distinct key within eps of its first position`, () => {
          const random = seededRandom(1000 + eps);
          const keys = generate(5000, random);
          const index = buildSegmentIndex(keys, { eps, method });
          expect(index.method).toBe(method);
          expect(segmentCount(index)).toBeGreaterThan(0);
          expect(maxFirstOccurrenceError(keys, index)).toBeLessThanOrEqual(eps + fitTolerance(keys.length));
          for (let s = 0; s < segmentCount(index); s++) {
            const seg = segmentAt(index, s);
            expect(seg.slope).toBeGreaterThanOrEqual(0);
            expect(keys[seg.start]).toBe(seg.firstKey);
            expect(seg.start === 0 || keys[seg.start - 1] < seg.firstKey).toBe(true);
          }
        });
      }
    }
  }

  it('maxRun records the longest run of equal keys per segment', () => {
    const keys = Float64Array.from([1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 4]);
    for (const method of METHODS) {
      const index = buildSegmentIndex(keys, { eps: 1, method });
      let longest = 0;
      for (let s = 0; s < segmentCount(index); s++) longest = Math.max(longest, segmentAt(index, s).maxRun);
      expect(longest).toBe(10);
    }
  });

  it('collinear keys fit in one segment with either method, even for eps 0', () => {
    const keys = Float64Array.from({ length: 1000 }, (_, i) => 3 * i + 7);
    for (const method of METHODS) {
      expect(segmentCount(buildSegmentIndex(keys, { eps: 0, method }))).toBe(1);
      expect(segmentCount(buildSegmentIndex(keys, { eps: 2, method }))).toBe(1);
    }
  });
});

describe('optimal segmentation', () => {
  it('never has more segments than the greedy FITing-tree (many random datasets)', () => {
    const random = seededRandom(77);
    let strictlyFewer = 0;
    const names = Object.keys(GENERATORS);
    for (let trial = 0; trial < 300; trial++) {
      const generate = GENERATORS[names[trial % names.length]];
      const n = 1 + random.int(trial < 150 ? 60 : 3000);
      const eps = [0, 1, 2, 3, 8, 32][random.int(6)];
      const keys = generate(n, random);
      const counts = segmentCounts(keys, eps);
      expect(counts.optimal).toBeLessThanOrEqual(counts.fiting);
      if (counts.optimal < counts.fiting) strictlyFewer++;
    }
    // The comparison is not vacuous: the optimum is often strictly better.
    expect(strictlyFewer).toBeGreaterThan(50);
  });

  /**
   * Independent check of optimality on small inputs. A line stabs the ranges [y - eps, y + eps]
   * of a run iff every three of them can be stabbed (Helly's theorem in the (slope, intercept)
   * plane), and three can iff the middle point is within 2 eps of the chord of the outer two.
   * The minimum number of segments is then the greedy longest-feasible-prefix count.
   */
  function feasibleRun(xs: number[], ys: number[], from: number, to: number, eps: number): boolean {
    for (let i = from; i <= to; i++) {
      for (let k = i + 2; k <= to; k++) {
        for (let j = i + 1; j < k; j++) {
          const chord = ys[i] + ((ys[k] - ys[i]) * (xs[j] - xs[i])) / (xs[k] - xs[i]);
          if (Math.abs(ys[j] - chord) > 2 * eps) return false;
        }
      }
    }
    return true;
  }

  function minimumSegments(keys: Float64Array, eps: number): number {
    const xs: number[] = [];
    const ys: number[] = [];
    keys.forEach((k, i) => {
      if (i === 0 || k !== keys[i - 1]) {
        xs.push(k);
        ys.push(i);
      }
    });
    let count = 0;
    let from = 0;
    while (from < xs.length) {
      let to = from;
      while (to + 1 < xs.length && feasibleRun(xs, ys, from, to + 1, eps)) to++;
      count++;
      from = to + 1;
    }
    return count;
  }

  it('matches a brute-force minimum segment count on small random inputs', () => {
    const random = seededRandom(4242);
    const names = Object.keys(GENERATORS);
    for (let trial = 0; trial < 150; trial++) {
      const keys = GENERATORS[names[trial % names.length]](2 + random.int(45), random);
      const eps = 1 + random.int(4);
      expect(segmentCount(buildSegmentIndex(keys, { eps, method: 'optimal' }))).toBe(minimumSegments(keys, eps));
    }
  });
});

describe('positionRange', () => {
  for (const [name, generate] of Object.entries(GENERATORS)) {
    for (const method of METHODS) {
      it(`${method}, ${name} keys: contains every position of keys in random ranges`, () => {
        const random = seededRandom(name.length * 31 + (method === 'optimal' ? 1 : 0));
        for (const eps of [0, 2, 16]) {
          const keys = generate(3000, random);
          const index = buildSegmentIndex(keys, { eps, method });
          for (let q = 0; q < 400; q++) {
            const a = randomBound(keys, random);
            const b = random.next() < 0.2 ? a : randomBound(keys, random);
            const { width, truth } = expectRangeContains(keys, index, Math.min(a, b), Math.max(a, b));
            if (name !== 'duplicates') {
              // Tightness without duplicates: at most 2 eps + 2 extra positions on each side.
              expect(width).toBeLessThanOrEqual(truth + 4 * eps + 4);
            }
          }
        }
      });
    }
  }

  it('handles infinite bounds and inverted ranges', () => {
    const keys = uniformKeys(500, seededRandom(5));
    const index = buildSegmentIndex(keys, { eps: 4 });
    expect(positionRange(index, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toEqual({ start: 0, end: 500 });
    const below = positionRange(index, Number.NEGATIVE_INFINITY, keys[0] - 1);
    expect(below.end - below.start).toBe(0);
    // Above every key: nothing to contain, and the window stays within eps + maxRun of the end.
    const above = positionRange(index, keys[499] + 1, Number.POSITIVE_INFINITY);
    expect(above.start).toBeGreaterThanOrEqual(500 - 2 * 4 - 2);
    const inverted = positionRange(index, keys[300], keys[100]);
    expect(inverted.end - inverted.start).toBe(0);
    expectRangeContains(keys, index, keys[250], Number.POSITIVE_INFINITY);
    expectRangeContains(keys, index, Number.NEGATIVE_INFINITY, keys[250]);
  });

  it('rejects NaN bounds', () => {
    const index = buildSegmentIndex(uniformKeys(10, seededRandom(1)), { eps: 1 });
    expect(() => positionRange(index, Number.NaN, 5)).toThrow(InvalidInputError);
    expect(() => positionRange(index, 0, Number.NaN)).toThrow(InvalidInputError);
  });
});

describe('edge cases', () => {
  it('n = 0: no segments, every range empty', () => {
    for (const method of METHODS) {
      const index = buildSegmentIndex(new Float64Array(0), { eps: 4, method });
      expect(segmentCount(index)).toBe(0);
      expect(positionRange(index, -1e9, 1e9)).toEqual({ start: 0, end: 0 });
      expect(decodeSegmentIndex(encodeSegmentIndex(index))).toEqual(index);
    }
  });

  it('n = 1 and n = 2', () => {
    for (const method of METHODS) {
      const one = buildSegmentIndex([42], { eps: 0, method });
      expect(segmentCount(one)).toBe(1);
      expect(positionRange(one, 42, 42)).toEqual({ start: 0, end: 1 });
      expect(positionRange(one, 0, 41).end - positionRange(one, 0, 41).start).toBe(0);
      const two = buildSegmentIndex([1, 1e6], { eps: 0, method });
      expect(maxFirstOccurrenceError(Float64Array.from([1, 1e6]), two)).toBeLessThanOrEqual(fitTolerance(2));
      const r = positionRange(two, 1e6, 1e6);
      expect(r.start).toBeLessThanOrEqual(1);
      expect(r.end).toBe(2);
    }
  });

  it('all keys equal: one segment whose range is every position', () => {
    const keys = new Float64Array(1000).fill(7.5);
    for (const method of METHODS) {
      const index = buildSegmentIndex(keys, { eps: 2, method });
      expect(segmentCount(index)).toBe(1);
      expect(segmentAt(index, 0).maxRun).toBe(1000);
      expect(positionRange(index, 7.5, 7.5)).toEqual({ start: 0, end: 1000 });
      expect(positionRange(index, 0, 7.4).end - positionRange(index, 0, 7.4).start).toBe(0);
    }
  });

  it('rejects NaN, infinite and unsorted keys', () => {
    expect(() => buildSegmentIndex([1, Number.NaN, 3], { eps: 1 })).toThrow(InvalidInputError);
    expect(() => buildSegmentIndex([1, 2, Number.POSITIVE_INFINITY], { eps: 1 })).toThrow(InvalidInputError);
    expect(() => buildSegmentIndex([1, 3, 2], { eps: 1 })).toThrow(InvalidInputError);
  });

  it('rejects a bad eps or method', () => {
    for (const eps of [-1, 1.5, Number.NaN, 2 ** 30]) {
      expect(() => buildSegmentIndex([1, 2], { eps })).toThrow(InvalidParametersError);
    }
    expect(() => buildSegmentIndex([1, 2], { eps: 1, method: 'btree' as SegmentationMethod })).toThrow(InvalidParametersError);
  });
});

describe('segment index binary format', () => {
  const keys = duplicateKeys(2000, seededRandom(9));
  const index = buildSegmentIndex(keys, { eps: 3, method: 'optimal' });
  const bytes = encodeSegmentIndex(index);

  it('round-trips exactly', () => {
    const decoded = decodeSegmentIndex(bytes);
    expect(decoded).toEqual(index);
    expect(positionRange(decoded, keys[100], keys[900])).toEqual(positionRange(index, keys[100], keys[900]));
  });

  it('rejects truncated, oversized, wrong-magic and wrong-version input', () => {
    for (const cut of [0, 3, 5, 6, 10, 20, bytes.length - 1]) {
      expect(() => decodeSegmentIndex(bytes.subarray(0, cut))).toThrow(MalformedDataError);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeSegmentIndex(longer)).toThrow(MalformedDataError);
    const magic = bytes.slice();
    magic[0] ^= 1;
    expect(() => decodeSegmentIndex(magic)).toThrow(MalformedDataError);
    const version = bytes.slice();
    version[4] = 9;
    expect(() => decodeSegmentIndex(version)).toThrow(MalformedDataError);
  });

  it('rejects inconsistent content', () => {
    const m = segmentCount(index);
    expect(m).toBeGreaterThan(3);
    const header = 4 + 2 + 1 + 4 + 4 + 4;
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const negativeSlope = bytes.slice();
    view(negativeSlope).setFloat64(header + m * 8 + 8, -1, true);
    expect(() => decodeSegmentIndex(negativeSlope)).toThrow(MalformedDataError);
    const unsortedKeys = bytes.slice();
    view(unsortedKeys).setFloat64(header + 8, index.firstKeys[0] - 1, true);
    expect(() => decodeSegmentIndex(unsortedKeys)).toThrow(MalformedDataError);
    const nanIntercept = bytes.slice();
    view(nanIntercept).setFloat64(header + 2 * m * 8, Number.NaN, true);
    expect(() => decodeSegmentIndex(nanIntercept)).toThrow(MalformedDataError);
    const badStart = bytes.slice();
    view(badStart).setUint32(header + 3 * m * 8 + 4, 0, true);
    expect(() => decodeSegmentIndex(badStart)).toThrow(MalformedDataError);
    const badRun = bytes.slice();
    view(badRun).setUint32(header + 3 * m * 8 + m * 4, 0, true);
    expect(() => decodeSegmentIndex(badRun)).toThrow(MalformedDataError);
    const tooManySegments = bytes.slice();
    view(tooManySegments).setUint32(4 + 2 + 1 + 4 + 4, 1e6, true);
    expect(() => decodeSegmentIndex(tooManySegments)).toThrow(MalformedDataError);
    const badMethod = bytes.slice();
    badMethod[6] = 7;
    expect(() => decodeSegmentIndex(badMethod)).toThrow(MalformedDataError);
  });
});
