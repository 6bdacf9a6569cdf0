/**
 * End-to-end checks of the two-server protocol, shared by the she and bfv test files: exact
 * range and k-nearest results against brute force, two CS2 calls per range query, and what CS2
 * is shown (blinded, shuffled values only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptionError, InvalidInputError, MalformedDataError } from '../../../../lib/core/errors';
import { seededRandom } from '../../../../lib/core/random';
import { createHeBackend, loadHeEvaluator } from '../../../../lib/he';
import type { Blinding, DistanceBatch, DistanceRequest, EncryptedQuery, HeBackendName, HeEvaluator, HeParametersFor } from '../../../../lib/he/types';
import type { VectorSet } from '../../../../lib/linalg/vectors';
import { squaredDistanceAt } from '../../../../lib/linalg/vectors';
import { candidateRanges, searchRanges } from '../../../../lib/twoserver/idistance-query';
import { allSquaredDistances } from '../../../../lib/twoserver/plain-search';
import {
  buildPlainIndex,
  Cs1Server,
  Cs2Server,
  decodeCs1Index,
  encodeCs1Index,
  encryptIndex,
  IdentificationClient,
  InProcessCs2Transport,
  MemoryRecordStore,
} from '../../../../lib/twoserver/protocol';
import type { BlindingMode, Cs2Transport, PlainIndex, ProviderOutput } from '../../../../lib/twoserver/protocol';
import { noisyProbes, syntheticTemplates } from '../../../../lib/twoserver/synthetic';
import type { Match } from '../../../../lib/twoserver/types';

/** Records every batch CS1 asks the HE layer for (slots, blinding, and the shuffle). */
class SpyEvaluator implements HeEvaluator {
  readonly batches: { slots: number[]; blinding: Blinding | readonly Blinding[]; valueSlot: Int32Array }[] = [];

  constructor(private readonly inner: HeEvaluator) {}

  get descriptor() {
    return this.inner.descriptor;
  }

  openQuery(bytes: Uint8Array): EncryptedQuery {
    return this.inner.openQuery(bytes);
  }

  distanceBatch(query: EncryptedQuery, request: DistanceRequest): DistanceBatch {
    const out = this.inner.distanceBatch(query, request);
    this.batches.push({ slots: [...request.slots], blinding: request.blinding, valueSlot: out.valueSlot });
    return out;
  }

  dispose(): void {
    this.inner.dispose();
  }
}

function byDistanceThenId(a: Match, b: Match): number {
  return a.dist2 - b.dist2 || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Brute force over plaintext with the protocol's ordering (ids are the input indices as strings). */
function expectedMatches(templates: VectorSet, query: ArrayLike<number>): Match[] {
  return Array.from(allSquaredDistances(templates, query), (dist2, i) => ({ id: String(i), dist2 })).sort(byDistanceThenId);
}

/** Data with exact duplicates, so k-nearest and range results contain ties. */
function dataWithTies(n: number, d: number, seed: number): VectorSet {
  const base = syntheticTemplates(n, d, { kind: 'clustered', seed, clusters: 8, spread: 0.2 });
  for (let i = 0; i + 1 < n; i += 7) base.data.copyWithin(i * d, (i + 1) * d, (i + 2) * d);
  return base;
}

function multiset(values: Iterable<number>): number[] {
  return [...values].sort((a, b) => a - b);
}

export interface ProtocolSuiteOptions<N extends HeBackendName> {
  readonly backend: N;
  readonly params: HeParametersFor<N>;
  readonly n: number;
  readonly partitions: number;
  readonly eps: number;
  readonly queries: number;
  /** Checks that need a wide blinding range (no carried value equals ANY true distance). */
  readonly wideBlinding: boolean;
}

export function protocolSuite<N extends HeBackendName>(options: ProtocolSuiteOptions<N>): void {
  const { backend, params, n } = options;
  const d = params.d;

  describe(`two-server protocol (${backend})`, () => {
    const templates = dataWithTies(n, d, 11);
    let plain: PlainIndex;
    let output: ProviderOutput;
    let cs2: Cs2Server;
    let client: IdentificationClient;
    let probes: VectorSet;

    beforeAll(async () => {
      const he = await createHeBackend(backend, params);
      plain = buildPlainIndex(templates, { partitions: options.partitions, eps: options.eps, random: seededRandom(5) });
      output = encryptIndex(he, templates, plain);
      he.dispose();
      cs2 = await Cs2Server.load(output.secretMaterial);
      client = await IdentificationClient.load(output.publicMaterial);
      probes = noisyProbes(templates, options.queries, 0.05, seededRandom(6));
    });

    afterAll(() => {
      cs2?.dispose();
      client?.dispose();
    });

    async function server(blinding: BlindingMode, transport: Cs2Transport = new InProcessCs2Transport(cs2)) {
      const spy = new SpyEvaluator(await loadHeEvaluator(output.evaluationMaterial));
      const store = new MemoryRecordStore(output.records);
      return { cs1: new Cs1Server(spy, output.cs1Index, store, transport, { blinding }), spy, store };
    }

    function probe(q: number): Float64Array {
      return probes.data.slice(q * d, (q + 1) * d);
    }

    for (const blinding of ['per-value', 'shared'] as const) {
      it(`range queries return exactly the brute-force set, in 2 CS2 calls (${blinding} blinding)`, async () => {
        const transport = new InProcessCs2Transport(cs2);
        const { cs1 } = await server(blinding, transport);
        let pruned = 0;
        for (let q = 0; q < options.queries; q++) {
          const query = probe(q);
          const all = expectedMatches(templates, query);
          const radii = [0, all[0].dist2, all[9].dist2, all[9].dist2 + 1];
          if (q === 0) radii.push(all[n - 1].dist2);
          for (const tauSquared of radii) {
            const before = transport.calls;
            const result = await cs1.rangeQuery(client.encryptRequest(query), tauSquared);
            expect(result.matches).toEqual(all.filter((m) => m.dist2 <= tauSquared));
            expect(transport.calls - before).toBe(2);
            expect(result.stats.cs2Calls).toBe(2);
            if (result.stats.candidates < n && tauSquared === all[9].dist2) pruned++;
          }
        }
        expect(pruned).toBeGreaterThan(0);
      });

      it(`k-nearest equals brute-force k-nearest with deterministic ties (${blinding} blinding)`, async () => {
        const { cs1 } = await server(blinding);
        for (let q = 0; q < options.queries; q++) {
          const query = q % 3 === 2 ? templates.data.slice(q * 7 * d, (q * 7 + 1) * d) : probe(q);
          const all = expectedMatches(templates, query);
          for (const k of [1, 5, 20]) {
            const result = await cs1.nearest(client.encryptRequest(query), k);
            expect(result.matches).toEqual(all.slice(0, k));
            expect(result.stats.cs2Calls).toBe(1 + result.stats.rounds);
          }
        }
        const everything = await cs1.nearest(client.encryptRequest(probe(0)), n + 10);
        expect(everything.matches).toEqual(expectedMatches(templates, probe(0)));
      });
    }

    it('has ties in the data (the tie-breaking checks are not vacuous)', () => {
      const all = expectedMatches(templates, templates.data.slice(7 * d, 8 * d));
      expect(all[0].dist2).toBe(0);
      expect(all[1].dist2).toBe(0);
    });

    it('keeps two CS2 calls when no partition can hold a match', async () => {
      const transport = new InProcessCs2Transport(cs2);
      const { cs1 } = await server('per-value', transport);
      // A corner of the box that no partition can reach with radius 0 (checked on plaintext).
      const { idistance } = plain;
      const random = seededRandom(12);
      let far = new Float64Array(d);
      for (let attempt = 0; attempt < 100; attempt++) {
        far = Float64Array.from({ length: d }, () => (random.next() < 0.5 ? -1 : 1) * params.maxAbs);
        const centre = Array.from({ length: idistance.partitions }, (_, i) => squaredDistanceAt(idistance.referencePoints.data, i * d, far, 0, d));
        if (searchRanges(idistance, centre, 0).length === 0) break;
      }
      const result = await cs1.rangeQuery(client.encryptRequest(far), 0);
      expect(result.matches).toEqual([]);
      expect(result.stats.partitionsSearched).toBe(0);
      expect(transport.calls).toBe(2);
    });

    for (const blinding of ['per-value', 'shared'] as const) {
      it(`CS2 only sees blinded, shuffled values (${blinding} blinding)`, async () => {
        const transport = new InProcessCs2Transport(cs2);
        const { cs1, spy } = await server(blinding, transport);
        const { idistance, segments } = plain;
        const allDistances = new Set<number>();
        const sizes: number[] = [];
        const recordOrderSorted: boolean[] = [];
        for (let q = 0; q < Math.min(4, options.queries); q++) {
          const query = probe(q);
          for (const v of allSquaredDistances(templates, query)) allDistances.add(v);
          const tauSquared = expectedMatches(templates, query)[15].dist2;
          const first = spy.batches.length;
          await cs1.rangeQuery(client.encryptRequest(query), tauSquared);
          expect(spy.batches.length - first).toBe(2);

          // What CS1 must have asked: the centre distances, then the candidates' distances.
          const centre = Array.from({ length: idistance.partitions }, (_, i) =>
            squaredDistanceAt(idistance.referencePoints.data, i * d, query, 0, d),
          );
          const ranges = candidateRanges(idistance, segments, searchRanges(idistance, centre, tauSquared));
          const candidates: number[] = [];
          for (const r of ranges) for (let p = r.start; p < r.end; p++) candidates.push(squaredDistanceAt(templates.data, idistance.order[p] * d, query, 0, d));
          const expectedPerBatch = [centre, candidates];
          for (const v of centre) allDistances.add(v);

          for (let b = 0; b < 2; b++) {
            const batch = spy.batches[first + b];
            const carried = transport.exchanges[transport.exchanges.length - 2 + b].response;
            expect(carried.length).toBe(batch.valueSlot.length);
            const blindingOf = (i: number): Blinding => (Array.isArray(batch.blinding) ? batch.blinding[i] : (batch.blinding as Blinding));
            const unblinded: number[] = [];
            const requestedOrder: number[] = [];
            carried.forEach((value, e) => {
              const slot = batch.valueSlot[e];
              if (slot < 0) return; // SIMD filler
              const i = batch.slots.indexOf(slot);
              const { a, b: offset } = blindingOf(i);
              expect(a).toBeGreaterThanOrEqual(1n);
              expect((value - offset) % a).toBe(0n);
              const dist2 = Number((value - offset) / a);
              // The carried value is never the distance itself...
              expect(value).not.toBe(BigInt(dist2));
              if (options.wideBlinding) expect(allDistances.has(Number(value))).toBe(false);
              unblinded.push(dist2);
              requestedOrder.push(i);
            });
            // ...but is an exact blinding of one requested distance each.
            expect(multiset(unblinded)).toEqual(multiset(expectedPerBatch[b]));
            const vpr = output.cs1Index.vectorsPerRecord;
            if (vpr === 1 && requestedOrder.length >= 10) {
              // Shuffled: CS2's order is not the storage (key) order.
              expect(requestedOrder.every((v, i) => i === 0 || v > requestedOrder[i - 1])).toBe(false);
              sizes.push(requestedOrder.length);
            }
            if (vpr > 1) {
              // SIMD records: the bfv backend shuffles whole output ciphertexts (records); inside
              // one, values stay in block (storage) order. Check the record order only.
              const records: number[] = [];
              for (const i of requestedOrder) {
                const record = Math.floor(batch.slots[i] / vpr);
                if (records[records.length - 1] !== record) records.push(record);
              }
              expect(new Set(records).size).toBe(records.length);
              if (records.length >= 3) recordOrderSorted.push(records.every((v, i) => i === 0 || v > records[i - 1]));
            }
          }
        }
        if (recordOrderSorted.length >= 4) expect(recordOrderSorted.every(Boolean)).toBe(false);
        if (output.cs1Index.vectorsPerRecord === 1) expect(sizes.length).toBeGreaterThan(0);
        // A fresh multiplier per batch.
        const multipliers = new Set(spy.batches.map((batch) => String(Array.isArray(batch.blinding) ? batch.blinding[0].a : (batch.blinding as Blinding).a)));
        expect(multipliers.size).toBeGreaterThan(1);
      });
    }

    it('shuffles the records of a batch (SIMD backends: record order is all CS2 could map)', async () => {
      const vpr = output.cs1Index.vectorsPerRecord;
      if (vpr === 1) return; // covered value by value above
      const { cs1, spy } = await server('per-value');
      const query = probe(0);
      const everything = expectedMatches(templates, query)[n - 1].dist2;
      const recordCount = Math.ceil(n / vpr);
      expect(recordCount).toBeGreaterThanOrEqual(3);
      let sorted = 0;
      const rounds = 8;
      for (let r = 0; r < rounds; r++) {
        await cs1.rangeQuery(client.encryptRequest(query), everything);
        const batch = spy.batches[spy.batches.length - 1];
        const records: number[] = [];
        for (const slot of batch.valueSlot) {
          if (slot < 0) continue;
          const record = Math.floor(slot / vpr);
          if (records[records.length - 1] !== record) records.push(record);
        }
        expect(records.length).toBe(recordCount);
        if (records.every((v, i) => i === 0 || v > records[i - 1])) sorted++;
      }
      // Each batch is in storage order with probability 1 / recordCount!; all of them ~ never.
      expect(sorted).toBeLessThan(rounds);
    });

    it('rejects an index, a store or CS2 answers that do not belong together', async () => {
      const evaluator = await loadHeEvaluator(output.evaluationMaterial);
      const store = new MemoryRecordStore(output.records);
      const transport = new InProcessCs2Transport(cs2);
      expect(() => new Cs1Server(evaluator, { ...output.cs1Index, keyId: '0123456789abcdef' }, store, transport)).toThrow(InvalidInputError);
      expect(() => new Cs1Server(evaluator, output.cs1Index, new MemoryRecordStore(output.records.subarray(1)), transport)).toThrow(InvalidInputError);
      expect(() => new Cs1Server(evaluator, { ...output.cs1Index, templateIds: output.cs1Index.templateIds.slice(1) }, store, transport)).toThrow(
        InvalidInputError,
      );

      const tampered: Cs2Transport = { decryptBatch: async (bytes) => (await transport.decryptBatch(bytes)).map((v) => v + 1n) };
      const shortAnswer: Cs2Transport = { decryptBatch: async (bytes) => (await transport.decryptBatch(bytes)).slice(1) };
      for (const bad of [tampered, shortAnswer]) {
        const cs1 = new Cs1Server(evaluator, output.cs1Index, store, bad, { blinding: 'shared' });
        await expect(cs1.rangeQuery(client.encryptRequest(probe(0)), 1e6)).rejects.toThrow(DecryptionError);
      }
      const cs1 = new Cs1Server(evaluator, output.cs1Index, store, transport);
      await expect(cs1.rangeQuery(client.encryptRequest(probe(0)), -1)).rejects.toThrow(InvalidInputError);
      await expect(cs1.nearest(client.encryptRequest(probe(0)), 0)).rejects.toThrow(InvalidInputError);
    });

    it('the CS1 index survives its binary format, and corrupted bytes are rejected', async () => {
      const bytes = encodeCs1Index(output.cs1Index);
      const decoded = decodeCs1Index(bytes);
      expect(decoded).toEqual(output.cs1Index);
      const cs1 = new Cs1Server(await loadHeEvaluator(output.evaluationMaterial), decoded, new MemoryRecordStore(output.records), new InProcessCs2Transport(cs2));
      const query = probe(1);
      const all = expectedMatches(templates, query);
      expect((await cs1.rangeQuery(client.encryptRequest(query), all[4].dist2)).matches).toEqual(all.filter((m) => m.dist2 <= all[4].dist2));
      for (const cut of [0, 5, 12, 40, bytes.length - 1]) expect(() => decodeCs1Index(bytes.subarray(0, cut))).toThrow(MalformedDataError);
      expect(() => decodeCs1Index(Uint8Array.from([...bytes, 1]))).toThrow(MalformedDataError);
      const wrongMagic = bytes.slice();
      wrongMagic[1] ^= 0xff;
      expect(() => decodeCs1Index(wrongMagic)).toThrow(MalformedDataError);
    });
  });
}
