import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError, MalformedDataError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import { buildIDistance, partitionGap } from '../../../lib/twoserver/idistance';
import { templatesInKeyOrder } from '../../support/twoserver';
import { decodeIDistanceMetadata, encodeIDistanceMetadata } from '../../../lib/twoserver/idistance-codec';
import { publicMetadata } from '../../support/twoserver';
import { candidateRanges, RANGE_SLACK, searchRanges } from '../../../lib/twoserver/idistance-query';
import { allSquaredDistances } from '../../../scripts/bench/baselines/plain-search';
import { bruteForceRange, iDistanceRangePlain } from '../../support/plain-search';
import { quantizeVector } from '../../../lib/twoserver/quantize';
import { buildSegmentIndex } from '../../../lib/twoserver/segments';
import type { SegmentationMethod } from '../../../lib/twoserver/segments';
import { noisyProbes, syntheticTemplates } from '../../../scripts/bench/synthetic/templates';
import type { IDistanceIndex } from '../../../lib/twoserver/types';

function expectWellFormed(templates: VectorSet, index: IDistanceIndex): void {
  const { n, d } = templates;
  expect(index.n).toBe(n);
  expect(Array.from(index.order).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  for (let pos = 1; pos < n; pos++) expect(index.keys[pos]).toBeGreaterThanOrEqual(index.keys[pos - 1]);
  expect(index.partitionStarts[0]).toBe(0);
  expect(index.partitionStarts[index.partitions]).toBe(n);
  for (let p = 0; p < index.partitions; p++) {
    const from = index.partitionStarts[p];
    const to = index.partitionStarts[p + 1];
    expect(to).toBeGreaterThan(from);
    for (let pos = from; pos < to; pos++) {
      const i = index.order[pos];
      expect(index.partitionOf[i]).toBe(p);
      const dist2 = squaredDistanceAt(templates.data, i * d, index.referencePoints.data, p * d, d);
      expect(index.keys[pos]).toBe(index.offsets[p] + Math.sqrt(dist2));
      expect(index.keys[pos]).toBeGreaterThanOrEqual(index.offsets[p]);
      expect(index.keys[pos]).toBeLessThanOrEqual(index.offsets[p] + index.dmax[p]);
    }
    if (p + 1 < index.partitions) {
      // Never interleave: the last key of p is strictly below the first key of p + 1.
      expect(index.keys[to - 1]).toBeLessThan(index.keys[to]);
      expect(index.offsets[p + 1]).toBeGreaterThan(index.offsets[p] + index.dmax[p]);
    }
  }
  for (let j = 0; j < index.referencePoints.data.length; j++) expect(Number.isInteger(index.referencePoints.data[j])).toBe(true);
}

describe('iDistance index', () => {
  it('keys are offset + distance, sorted, and partitions never interleave', () => {
    for (const kind of ['uniform', 'clustered'] as const) {
      const templates = syntheticTemplates(600, 16, { kind, seed: 3, clusters: 12 });
      const index = buildIDistance(templates, { partitions: 10, random: seededRandom(4) });
      expect(index.partitions).toBe(10);
      expectWellFormed(templates, index);
      const stored = templatesInKeyOrder(templates, index);
      for (let pos = 0; pos < 600; pos += 37) {
        const i = index.order[pos];
        expect(Array.from(stored.data.subarray(pos * 16, pos * 16 + 16))).toEqual(Array.from(templates.data.subarray(i * 16, i * 16 + 16)));
      }
    }
  });

  it('stays separated at large magnitudes where keys round (coordinates near 2^20, 60 partitions)', () => {
    const random = seededRandom(8);
    const n = 900;
    const d = 6;
    const data = new Float64Array(n * d);
    for (let i = 0; i < data.length; i++) data[i] = Math.round((random.next() * 2 - 1) * 2 ** 20);
    const templates = { n, d, data };
    const index = buildIDistance(templates, { partitions: 60, random: seededRandom(9) });
    expectWellFormed(templates, index);
    expect(index.offsets[index.partitions - 1]).toBeGreaterThan(2 ** 24);
  });

  it('the gap always exceeds one ulp of the partition top', () => {
    const random = seededRandom(10);
    for (let t = 0; t < 2000; t++) {
      const top = random.next() * 2 ** (random.int(70) - 5);
      expect(top + partitionGap(top)).toBeGreaterThan(top);
    }
  });

  it('handles duplicates, n < partitions and a single template', () => {
    const base = quantizeVector([0.1, -0.2, 0.3, 0.4]);
    const rows = new Float64Array(40 * 4);
    for (let i = 0; i < 40; i++) rows.set(i < 30 ? base : quantizeVector([i / 50, 0, -i / 50, 0.5]), i * 4);
    const templates = { n: 40, d: 4, data: rows };
    const index = buildIDistance(templates, { partitions: 4, random: seededRandom(1) });
    expectWellFormed(templates, index);
    const one = buildIDistance({ n: 1, d: 4, data: Float64Array.from(base) }, { partitions: 8, random: seededRandom(1) });
    expect(one.partitions).toBe(1);
    expect(one.dmax[0]).toBe(0);
    expect(Array.from(one.keys)).toEqual([0]);
  });

  it('rejects non-integer templates and bad partition counts', () => {
    expect(() => buildIDistance({ n: 2, d: 2, data: Float64Array.from([0.5, 1, 2, 3]) }, { partitions: 1 })).toThrow(InvalidInputError);
    expect(() => buildIDistance({ n: 2, d: 2, data: Float64Array.from([1, 1, 2, 3]) }, { partitions: 0 })).toThrow(InvalidParametersError);
    expect(() => buildIDistance({ n: 1, d: 2, data: Float64Array.from([2 ** 40, 0]) }, { partitions: 1 })).toThrow(InvalidInputError);
  });
});

describe('iDistance range search (plaintext)', () => {
  const cases: { kind: 'uniform' | 'clustered'; n: number; d: number; partitions: number; eps: number; method: SegmentationMethod }[] = [
    { kind: 'clustered', n: 1500, d: 16, partitions: 20, eps: 4, method: 'optimal' },
    { kind: 'clustered', n: 1500, d: 16, partitions: 20, eps: 16, method: 'fiting' },
    { kind: 'uniform', n: 800, d: 8, partitions: 8, eps: 2, method: 'optimal' },
    { kind: 'uniform', n: 800, d: 8, partitions: 1, eps: 0, method: 'fiting' },
    { kind: 'clustered', n: 300, d: 32, partitions: 50, eps: 1, method: 'optimal' },
  ];
  for (const c of cases) {
    it(`equals brute force: ${c.kind}, n ${c.n}, d ${c.d}, K ${c.partitions}, ${c.method} eps ${c.eps}`, () => {
      const templates = syntheticTemplates(c.n, c.d, { kind: c.kind, seed: c.n + c.d, clusters: 15 });
      const index = buildIDistance(templates, { partitions: c.partitions, random: seededRandom(c.partitions) });
      const segments = buildSegmentIndex(index.keys, { eps: c.eps, method: c.method });
      const random = seededRandom(99);
      const probes = noisyProbes(templates, 25, 0.05, random);
      let pruned = 0;
      for (let q = 0; q < probes.n + 5; q++) {
        // Noisy copies of templates, plus a few exact templates (distance 0 must be found).
        const query = q < probes.n ? probes.data.subarray(q * c.d, (q + 1) * c.d) : templates.data.subarray(q * c.d, (q + 1) * c.d);
        const sortedDist2 = Array.from(allSquaredDistances(templates, query)).sort((a, b) => a - b);
        // Radii exactly at a template's distance (boundary included), between distances, 0 and everything.
        for (const tauSquared of [0, sortedDist2[0], sortedDist2[9], sortedDist2[9] + 0.5, sortedDist2[Math.floor(c.n / 3)], sortedDist2[c.n - 1]]) {
          const expected = bruteForceRange(templates, query, tauSquared);
          const got = iDistanceRangePlain(index, segments, templates, query, tauSquared);
          expect(got.matches).toEqual(expected);
          if (tauSquared === sortedDist2[9] && got.candidates < c.n) pruned++;
        }
      }
      // Pruning is real (not a full scan) whenever there is more than one partition.
      if (c.partitions > 1) expect(pruned).toBeGreaterThan(0);
    });
  }

  it('keeps a partition whose nearest possible template is exactly at the radius', () => {
    // One partition, reference point at the origin, templates at distance 5 and 10 (dmax 10).
    const meta = { partitions: 1, n: 2, offsets: Float64Array.of(0), dmax: Float64Array.of(10), partitionStarts: Uint32Array.of(0, 2) };
    // Query at distance 13 from O: a template at distance 10 on the same ray is exactly 3 away.
    const [search] = searchRanges(meta, [169], 9);
    expect(search.partition).toBe(0);
    expect(search.keyLo).toBeLessThanOrEqual(10);
    expect(search.keyHi).toBeGreaterThanOrEqual(10);
    expect(search.keyLo).toBeGreaterThan(10 - 1e-6);
    expect(searchRanges(meta, [169], 8.99)).toEqual([]);
    const segments = buildSegmentIndex([5, 10], { eps: 0 });
    const [range] = candidateRanges(meta, segments, [search]);
    expect(range.start).toBeLessThanOrEqual(1);
    expect(range.end).toBe(2);
  });

  it('widens key bounds by the documented relative slack only', () => {
    const meta = { partitions: 2, n: 4, offsets: Float64Array.of(0, 101), dmax: Float64Array.of(100, 50), partitionStarts: Uint32Array.of(0, 2, 4) };
    const searches = searchRanges(meta, [400, 3600], 100);
    expect(searches.map((s) => s.partition)).toEqual([0, 1]);
    const slack0 = RANGE_SLACK * (0 + 20 + 10 + 100);
    expect(searches[0].keyLo).toBeCloseTo(10 - slack0, 12);
    expect(searches[0].keyHi).toBeCloseTo(30 + slack0, 12);
    const slack1 = RANGE_SLACK * (101 + 60 + 10 + 50);
    expect(searches[1].keyLo).toBeCloseTo(101 + 50 - slack1, 9);
    expect(searches[1].keyHi).toBeCloseTo(101 + 50 + slack1, 9);
    expect(() => searchRanges(meta, [400], 100)).toThrow(InvalidInputError);
    expect(() => searchRanges(meta, [400, Number.NaN], 100)).toThrow(InvalidInputError);
    expect(() => searchRanges(meta, [400, 3600], -1)).toThrow(InvalidInputError);
  });
});

describe('iDistance metadata binary format', () => {
  const templates = syntheticTemplates(200, 8, { kind: 'clustered', seed: 5, clusters: 6 });
  const index = buildIDistance(templates, { partitions: 6, random: seededRandom(2) });
  const bytes = encodeIDistanceMetadata(index);

  it('round-trips the public fields only', () => {
    expect(decodeIDistanceMetadata(bytes)).toEqual(publicMetadata(index));
  });

  it('rejects truncated, oversized, corrupted and inconsistent input', () => {
    for (const cut of [0, 4, 6, 10, 14, bytes.length - 1]) expect(() => decodeIDistanceMetadata(bytes.subarray(0, cut))).toThrow(MalformedDataError);
    expect(() => decodeIDistanceMetadata(Uint8Array.from([...bytes, 0]))).toThrow(MalformedDataError);
    const header = 6 + 8;
    const k = index.partitions;
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const overlapping = bytes.slice();
    view(overlapping).setFloat64(header + 8, index.offsets[0] + index.dmax[0], true);
    expect(() => decodeIDistanceMetadata(overlapping)).toThrow(MalformedDataError);
    const negativeDmax = bytes.slice();
    view(negativeDmax).setFloat64(header + k * 8, -1, true);
    expect(() => decodeIDistanceMetadata(negativeDmax)).toThrow(MalformedDataError);
    const emptyPartition = bytes.slice();
    view(emptyPartition).setUint32(header + 2 * k * 8 + 4, 0, true);
    expect(() => decodeIDistanceMetadata(emptyPartition)).toThrow(MalformedDataError);
    const wrongTotal = bytes.slice();
    view(wrongTotal).setUint32(6 + 4, 201, true);
    expect(() => decodeIDistanceMetadata(wrongTotal)).toThrow(MalformedDataError);
    const manyPartitions = bytes.slice();
    view(manyPartitions).setUint32(6, 150, true);
    expect(() => decodeIDistanceMetadata(manyPartitions)).toThrow(MalformedDataError);
  });
});
