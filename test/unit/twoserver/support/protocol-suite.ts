/**
 * End-to-end checks of the two-server protocol, shared by the she and bfv test files: exact
 * range and k-nearest results against brute force, two CS2 calls per range query, and what CS2
 * is shown (blinded, shuffled values only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptionError, InvalidInputError, MalformedDataError } from '../../../../lib/core/errors';
import { seededRandom } from '../../../../lib/core/random';
import { createHeBackend, loadHeEvaluator } from '../../../../lib/he';
import { unblind } from '../../../../lib/he/blinding';
import type { Blinding, DistanceBatch, DistanceRequest, EncryptedQuery, HeBackendName, HeEvaluator, HeParametersFor } from '../../../../lib/he/types';
import type { VectorSet } from '../../../../lib/linalg/vectors';
import { squaredDistanceAt } from '../../../../lib/linalg/vectors';
import { candidateRanges, searchRanges } from '../../../../lib/twoserver/idistance-query';
import { allSquaredDistances } from '../../../../scripts/bench/baselines/plain-search';
import {
  buildPlainIndex,
  Cs1Server,
  Cs2Server,
  encryptIndex,
  IdentificationClient,
  InProcessCs2Transport,
  LocalShardWorkers,
  MemoryRecordStore,
} from '../../../../lib/twoserver/protocol';
import type { BlindingMode, Cs2Transport } from '../../../../lib/twoserver/protocol';
import { decodeCs1Index, encodeCs1Index } from '../../../../lib/twoserver/protocol/cs1-index-codec';
import { DEFAULT_BATCH_PADDING, paddedRecordCount } from '../../../../lib/twoserver/protocol/padding';
import type { PlainIndex, ProviderOutput } from '../../../../lib/twoserver/protocol/provider';
import type { RecordStore } from '../../../../lib/twoserver/protocol/types';
import { shardLayout } from '../../../../lib/twoserver/shards';
import { noisyProbes, syntheticTemplates } from '../../../../scripts/bench/synthetic/templates';
import type { Match } from '../../../../lib/twoserver/types';

/** Record store that remembers which records every read covered, in order. */
class SpyStore implements RecordStore {
  /** Record indices read since the last take(). */
  private pending: number[] = [];

  constructor(
    private readonly inner: MemoryRecordStore,
    private readonly recordBytes: number,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    for (let r = offset / this.recordBytes; r < (offset + length) / this.recordBytes; r++) this.pending.push(r);
    return this.inner.read(offset, length);
  }

  take(): number[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

/**
 * Records every batch CS1 asks the HE layer for (slots, blinding, the shuffle) and, with a
 * SpyStore, the records it was computed on (empty for stage 1: the reference records).
 */
class SpyEvaluator implements HeEvaluator {
  readonly batches: { slots: number[]; blinding: Blinding | readonly Blinding[]; valueSlot: Int32Array; bytes: Uint8Array; records: number[] }[] = [];

  constructor(
    private readonly inner: HeEvaluator,
    private readonly store?: SpyStore,
  ) {}

  get descriptor() {
    return this.inner.descriptor;
  }

  openQuery(bytes: Uint8Array): EncryptedQuery {
    return this.inner.openQuery(bytes);
  }

  distanceBatch(query: EncryptedQuery, request: DistanceRequest): DistanceBatch {
    const out = this.inner.distanceBatch(query, request);
    this.batches.push({ slots: [...request.slots], blinding: request.blinding, valueSlot: out.valueSlot, bytes: out.bytes, records: this.store?.take() ?? [] });
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

/** In-process shard workers over an output's shards (optionally wrapped stores). */
function workersOf(evaluator: HeEvaluator, output: ProviderOutput, wrap: (store: MemoryRecordStore, shard: number) => RecordStore = (store) => store): LocalShardWorkers {
  return new LocalShardWorkers(
    evaluator,
    output.cs1Index.shards.map((s) => s.templates),
    output.shards.map((bytes, s) => wrap(new MemoryRecordStore(bytes), s)),
  );
}

/** Data with exact duplicates, so k-nearest and range results contain ties. */
function dataWithTies(n: number, d: number, seed: number): VectorSet {
  const base = syntheticTemplates(n, d, { kind: 'clustered', seed, clusters: 8, spread: 0.2 });
  for (let i = 0; i + 1 < n; i += 7) base.data.copyWithin(i * d, (i + 1) * d, (i + 2) * d);
  return base;
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
    let sharded: ProviderOutput;
    let cs2: Cs2Server;
    let client: IdentificationClient;
    let probes: VectorSet;

    beforeAll(async () => {
      const he = await createHeBackend(backend, params, { allowInsecurePaperScheme: true });
      plain = buildPlainIndex(templates, { partitions: options.partitions, eps: options.eps, random: seededRandom(5) });
      output = encryptIndex(he, templates, plain);
      // The same key, about four shards of whole records.
      const vpr = he.descriptor.vectorsPerRecord;
      sharded = encryptIndex(he, templates, plain, { maxShardTemplates: Math.max(vpr, Math.ceil(n / 4 / vpr) * vpr) });
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
      // One shard (the default bound is far above n): record numbers are the store's.
      expect(output.cs1Index.shards).toHaveLength(1);
      const store = new SpyStore(new MemoryRecordStore(output.shards[0]), output.cs1Index.recordBytes);
      const spy = new SpyEvaluator(await loadHeEvaluator(output.evaluationMaterial), store);
      // One task per shard: these tests read each stage as one batch of the evaluator.
      return { cs1: new Cs1Server(spy, output.cs1Index, workersOf(spy, output, () => store), transport, { blinding, maxTaskBytes: Infinity }), spy, store };
    }

    /** Key position of each input template (inverse of the iDistance order). */
    function keyPositions(): Int32Array {
      const out = new Int32Array(n);
      plain.idistance.order.forEach((input, position) => {
        out[input] = position;
      });
      return out;
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

    it('keeps two CS2 calls when no partition can hold a match, with a padded decoy batch', async () => {
      const transport = new InProcessCs2Transport(cs2);
      const { cs1, spy } = await server('per-value', transport);
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
      expect(result.stats.candidates).toBe(0);
      expect(transport.calls).toBe(2);
      // The decoy batch is as large as a batch with one candidate record: CS2 cannot tell
      // "nothing near" from "one record near" (she: 16 values instead of a lone one).
      const vpr = output.cs1Index.vectorsPerRecord;
      const total = Math.ceil(n / vpr);
      const decoy = spy.batches[spy.batches.length - 1];
      const minimum = paddedRecordCount(1, total, vpr, DEFAULT_BATCH_PADDING);
      expect(decoy.records.length).toBe(minimum);
      expect(result.stats.decoyRecords).toBe(minimum);
      expect(decoy.valueSlot.length).toBe(minimum * vpr);
      expect(decoy.valueSlot.length).toBeGreaterThanOrEqual(Math.min(n, DEFAULT_BATCH_PADDING.minValues));
      expect(transport.exchanges[1].response.length).toBe(minimum * vpr);
    });

    for (const blinding of ['per-value', 'shared'] as const) {
      it(`CS2 only sees blinded values, uncorrelated with key order (${blinding} blinding)`, async () => {
        const transport = new InProcessCs2Transport(cs2);
        const { cs1, spy } = await server(blinding, transport);
        const { idistance, segments } = plain;
        const { vectorsPerRecord: vpr, templateIds } = output.cs1Index;
        const { valueModulus, dist2Max } = spy.descriptor;
        const keyOf = keyPositions();
        const total = Math.ceil(n / vpr);
        const allDistances = new Set<number>();
        let increasing = 0;
        let adjacent = 0;
        let upperHalf = 0;
        let requested = 0;
        const queries = Math.max(6, options.queries);
        for (let q = 0; q < queries; q++) {
          const query = q < options.queries ? probe(q) : templates.data.slice(q * 11 * d, (q * 11 + 1) * d);
          const truth = allSquaredDistances(templates, query);
          for (const v of truth) allDistances.add(v);
          const tauSquared = expectedMatches(templates, query)[15].dist2;
          const first = spy.batches.length;
          await cs1.rangeQuery(client.encryptRequest(query), tauSquared);
          expect(spy.batches.length - first).toBe(2);

          // What CS1 must cover: the centre distances, then every record holding a candidate.
          const centre = Array.from({ length: idistance.partitions }, (_, i) => squaredDistanceAt(idistance.referencePoints.data, i * d, query, 0, d));
          for (const v of centre) allDistances.add(v);
          const needed = new Set<number>();
          for (const r of candidateRanges(idistance, segments, searchRanges(idistance, centre, tauSquared))) {
            for (let p = r.start; p < r.end; p++) needed.add(Math.floor(p / vpr));
          }

          for (let b = 0; b < 2; b++) {
            const batch = spy.batches[first + b];
            const carried = transport.exchanges[transport.exchanges.length - 2 + b].response;
            expect(carried.length).toBe(batch.valueSlot.length);
            if (b === 1) {
              // Whole candidate records plus decoys, padded to a power of two (or everything).
              for (const r of needed) expect(batch.records).toContain(r);
              const count = batch.records.length;
              expect(count).toBe(paddedRecordCount(needed.size, total, vpr, DEFAULT_BATCH_PADDING));
              expect(count === total || (count & (count - 1)) === 0).toBe(true);
            }
            const blindingOf = (i: number): Blinding => (Array.isArray(batch.blinding) ? batch.blinding[i] : (batch.blinding as Blinding));
            const keyOrder: number[] = [];
            carried.forEach((value, e) => {
              const slot = batch.valueSlot[e];
              if (slot < 0) return; // SIMD filler
              const i = batch.slots.indexOf(slot);
              // Which template (or reference point) this slot is, from the records read.
              const input = b === 0 ? -1 : Number(templateIds[batch.records[Math.floor(slot / vpr)] * vpr + (slot % vpr)]);
              const dist2 = unblind(value, blindingOf(i), dist2Max, valueModulus);
              // ...an exact blinding of that template's distance, never the distance itself.
              expect(dist2).toBe(b === 0 ? centre[slot] : truth[input]);
              expect(value).not.toBe(BigInt(dist2));
              if (options.wideBlinding) expect(allDistances.has(Number(value))).toBe(false);
              if (valueModulus > 0) {
                requested++;
                if (value >= BigInt(Math.floor(valueModulus / 2))) upperHalf++;
              }
              if (b === 1) keyOrder.push(keyOf[input]);
            });
            for (let k = 1; k < keyOrder.length; k++) {
              adjacent++;
              if (keyOrder[k] > keyOrder[k - 1]) increasing++;
            }
          }
        }
        // CS2's order carries no key order: neighbours in what CS2 receives are in increasing
        // key order about half of the time (bfv without the in-record permutation: ~1 - 1/vpr).
        expect(adjacent).toBeGreaterThan(200);
        expect(increasing / adjacent).toBeGreaterThan(0.35);
        expect(increasing / adjacent).toBeLessThan(0.65);
        if (valueModulus > 0 && blinding === 'per-value') {
          // Modular per-value blinding: every value is uniform mod t, independently, so about
          // half lie in the upper half (an exact a*dist2 + b with small b would never get there).
          // A shared offset moves a whole batch together, so it is checked per value only.
          expect(requested).toBeGreaterThan(200);
          expect(upperHalf / requested).toBeGreaterThan(0.4);
          expect(upperHalf / requested).toBeLessThan(0.6);
        }
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
      const store = workersOf(evaluator, output);
      const transport = new InProcessCs2Transport(cs2);
      expect(() => new Cs1Server(evaluator, { ...output.cs1Index, keyId: '0123456789abcdef' }, store, transport)).toThrow(InvalidInputError);
      expect(() => workersOf(evaluator, { ...output, shards: [output.shards[0].subarray(1)] })).toThrow(InvalidInputError);
      expect(() => new Cs1Server(evaluator, { ...output.cs1Index, templateIds: output.cs1Index.templateIds.slice(1) }, store, transport)).toThrow(
        InvalidInputError,
      );
      expect(() => new Cs1Server(evaluator, { ...output.cs1Index, shards: [{ templates: n - 1 }] }, store, transport)).toThrow(InvalidInputError);

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

    it('a stage larger than the transport\'s partBytes goes as parts in one round trip, with exact results', async () => {
      const evaluator = await loadHeEvaluator(output.evaluationMaterial);
      const inner = new InProcessCs2Transport(cs2);
      const parts: number[][] = [];
      // partBytes just above the batch header: every item goes as a part of its own.
      const split: Cs2Transport = {
        partBytes: 19,
        decryptBatch: (bytes) => inner.decryptBatch(bytes),
        decryptParts: async (batches) => {
          parts.push(batches.map((b) => b.length));
          return Promise.all(batches.map((b) => inner.decryptBatch(b)));
        },
      };
      const cs1 = new Cs1Server(evaluator, output.cs1Index, workersOf(evaluator, output), split);
      const query = probe(0);
      const all = expectedMatches(templates, query);
      const result = await cs1.rangeQuery(client.encryptRequest(query), all[9].dist2);
      expect(result.matches).toEqual(all.filter((m) => m.dist2 <= all[9].dist2));
      expect(result.stats.cs2Calls).toBe(2);
      expect(result.stats.cs2Parts).toBeGreaterThan(2);
      expect(result.stats.cs2Parts).toBe(inner.calls);
      // Every part is a batch of one item (all of one size); the stage-2 round went in parts.
      for (const sizes of parts) expect(new Set(sizes).size).toBe(1);
      expect(parts.length).toBeGreaterThanOrEqual(1);

      // Answers that even out across parts (one value moved from one part to another) are refused.
      const shifted: Cs2Transport = {
        partBytes: 19,
        decryptBatch: (bytes) => inner.decryptBatch(bytes),
        decryptParts: async (batches) => {
          const answers = await Promise.all(batches.map((b) => inner.decryptBatch(b)));
          answers[0].push(answers[1].shift()!);
          return answers;
        },
      };
      await expect(new Cs1Server(evaluator, output.cs1Index, workersOf(evaluator, output), shifted).rangeQuery(client.encryptRequest(query), all[9].dist2)).rejects.toThrow(
        DecryptionError,
      );
      // Without decryptParts the parts go as concurrent decryptBatch calls: same answer.
      const concurrent: Cs2Transport = { partBytes: 19, decryptBatch: (bytes) => inner.decryptBatch(bytes) };
      const again = await new Cs1Server(evaluator, output.cs1Index, workersOf(evaluator, output), concurrent).rangeQuery(client.encryptRequest(query), all[9].dist2);
      expect(again.matches).toEqual(result.matches);
    });

    it('a shard with more candidate record bytes than maxTaskBytes is split over several tasks, with exact results', async () => {
      const evaluator = await loadHeEvaluator(output.evaluationMaterial);
      const query = probe(1);
      const all = expectedMatches(templates, query);
      const tau = all[Math.min(n, 40) - 1].dist2;
      const whole = await new Cs1Server(evaluator, output.cs1Index, workersOf(evaluator, output), new InProcessCs2Transport(cs2)).rangeQuery(client.encryptRequest(query), tau);
      const split = await new Cs1Server(evaluator, output.cs1Index, workersOf(evaluator, output), new InProcessCs2Transport(cs2), { maxTaskBytes: 1 }).rangeQuery(
        client.encryptRequest(query),
        tau,
      );
      expect(split.matches).toEqual(all.filter((m) => m.dist2 <= tau));
      expect(split.matches).toEqual(whole.matches);
      // One record a task: as many tasks as records evaluated, more than the shards used.
      expect(split.stats.shardTasks).toBeGreaterThan(split.stats.maxShardsPerRound);
      expect(split.stats.maxShardsPerRound).toBe(whole.stats.maxShardsPerRound);
      expect(() => new Cs1Server(evaluator, output.cs1Index, workersOf(evaluator, output), new InProcessCs2Transport(cs2), { maxTaskBytes: 0 })).toThrow(InvalidInputError);
    });

    it('the CS1 index survives its binary format, and corrupted bytes are rejected', async () => {
      const bytes = encodeCs1Index(output.cs1Index);
      const decoded = decodeCs1Index(bytes);
      expect(decoded).toEqual(output.cs1Index);
      const evaluator = await loadHeEvaluator(output.evaluationMaterial);
      const cs1 = new Cs1Server(evaluator, decoded, workersOf(evaluator, output), new InProcessCs2Transport(cs2));
      const query = probe(1);
      const all = expectedMatches(templates, query);
      expect((await cs1.rangeQuery(client.encryptRequest(query), all[4].dist2)).matches).toEqual(all.filter((m) => m.dist2 <= all[4].dist2));
      for (const cut of [0, 5, 12, 40, bytes.length - 1]) expect(() => decodeCs1Index(bytes.subarray(0, cut))).toThrow(MalformedDataError);
      expect(() => decodeCs1Index(Uint8Array.from([...bytes, 1]))).toThrow(MalformedDataError);
      const wrongMagic = bytes.slice();
      wrongMagic[1] ^= 0xff;
      expect(() => decodeCs1Index(wrongMagic)).toThrow(MalformedDataError);
    });

    describe('sharded (one worker per shard, one CS2 batch per stage)', () => {
      /** Records every batch CS2 receives and the batches the workers made for it. */
      async function shardedServer(blinding: BlindingMode) {
        const transport = new InProcessCs2Transport(cs2);
        const spy = new SpyEvaluator(await loadHeEvaluator(sharded.evaluationMaterial));
        return { cs1: new Cs1Server(spy, sharded.cs1Index, workersOf(spy, sharded), transport, { blinding, maxTaskBytes: Infinity }), spy, transport };
      }

      it('splits the templates into shards of whole partitions or records, in key order', () => {
        const layout = shardLayout(
          sharded.cs1Index.shards.map((s) => s.templates),
          sharded.cs1Index.vectorsPerRecord,
        );
        expect(layout.count).toBeGreaterThanOrEqual(3);
        expect(layout.positionStarts[layout.count]).toBe(n);
        // Same storage order of ids as the one-shard index up to the permutation inside records.
        expect([...sharded.cs1Index.templateIds].sort()).toEqual([...output.cs1Index.templateIds].sort());
        expect(sharded.cs1Index.metadata).toEqual(output.cs1Index.metadata);
      });

      for (const blinding of ['per-value', 'shared'] as const) {
        it(`answers range and k-nearest queries exactly, with two CS2 calls per range query (${blinding})`, async () => {
          const { cs1, transport } = await shardedServer(blinding);
          let multiShard = 0;
          for (let q = 0; q < options.queries; q++) {
            const query = probe(q);
            const all = expectedMatches(templates, query);
            for (const tauSquared of [all[0].dist2, all[9].dist2, all[Math.floor(n / 2)].dist2]) {
              const before = transport.calls;
              const result = await cs1.rangeQuery(client.encryptRequest(query), tauSquared);
              expect(result.matches).toEqual(all.filter((m) => m.dist2 <= tauSquared));
              expect(transport.calls - before).toBe(2);
              if (result.stats.maxShardsPerRound > 1) multiShard++;
            }
            for (const k of [1, 7, 30]) {
              const result = await cs1.nearest(client.encryptRequest(query), k);
              expect(result.matches).toEqual(all.slice(0, k));
              expect(result.stats.cs2Calls).toBe(1 + result.stats.rounds);
            }
          }
          expect(multiShard).toBeGreaterThan(0);
        });
      }

      it('merges the shards\' batches into one shuffled batch that CS2 decrypts to the same values', async () => {
        const { cs1, spy, transport } = await shardedServer('per-value');
        const query = probe(0);
        const everything = expectedMatches(templates, query)[n - 1].dist2;
        const vpr = sharded.cs1Index.vectorsPerRecord;
        let inShardOrder = 0;
        const rounds = 8;
        for (let r = 0; r < rounds; r++) {
          const first = spy.batches.length;
          await cs1.rangeQuery(client.encryptRequest(query), everything);
          // Stage 2 made one batch per shard (every shard holds candidates at this radius)...
          const stage2 = spy.batches.slice(first + 1);
          expect(stage2.length).toBe(sharded.cs1Index.shards.length);
          // ...and CS2 got them as ONE batch: the same values, items mixed across shards.
          const carried = transport.exchanges[transport.exchanges.length - 1].response;
          const separate = stage2.map((batch) => cs2.decryptBatch(batch.bytes));
          expect([...carried].sort()).toEqual(separate.flat().sort());
          const origin = new Map<bigint, number>();
          separate.forEach((values, b) => values.forEach((value) => origin.set(value, b)));
          const itemSources = carried.filter((_, e) => e % vpr === 0).map((value) => origin.get(value)!);
          if (itemSources.every((b, i) => i === 0 || b >= itemSources[i - 1])) inShardOrder++;
        }
        expect(inShardOrder).toBeLessThan(rounds);
      });
    });
  });
}
