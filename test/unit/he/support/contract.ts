/**
 * The behaviour every HE backend must show, as one suite run for each backend: the protocol
 * layer (iDistance / learned index) codes against ../../../../lib/he/types and nothing else.
 */
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { DecryptionError, InvalidInputError, MalformedDataError, DimensionMismatchError } from '../../../../lib/core/errors';
import { seededRandom } from '../../../../lib/core/random';
import { vectorSet } from '../../../support/vectors';
import type { VectorSet } from '../../../../lib/linalg/vectors';
import { loadHeDecryptor, loadHeEvaluator } from '../../../../lib/he/index';
import { drawBlinding, offsetBound, unblind } from '../../../../lib/he/blinding';
import { loadHeClient } from '../../../../lib/he/client';
import { loadHeProvider } from '../../../../lib/he/provider';
import type { Blinding, DistanceBatch, HeClient, HeDecryptor, HeEvaluator, HeProvider } from '../../../../lib/he/index';

export interface ContractSetup {
  provider: HeProvider;
  client: HeClient;
  evaluator: HeEvaluator;
  decryptor: HeDecryptor;
  /** A second, independent key of the same backend and parameters. */
  other: HeProvider;
  otherDecryptor: HeDecryptor;
}

function exactDist2(query: ArrayLike<number>, set: VectorSet, i: number): number {
  let s = 0;
  for (let j = 0; j < set.d; j++) s += (query[j] - set.data[i * set.d + j]) ** 2;
  return s;
}

/** Vectors with random coordinates plus the extremes: all +maxAbs, all -maxAbs, alternating. */
export function testVectors(n: number, d: number, maxAbs: number, seed: number): VectorSet {
  const random = seededRandom(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let v = random.int(2 * maxAbs + 1) - maxAbs;
      if (i === 0) v = maxAbs;
      if (i === 1) v = -maxAbs;
      if (i === 2) v = j % 2 === 0 ? maxAbs : -maxAbs;
      if (i === 3) v = 0;
      data[i * d + j] = v;
    }
  }
  return vectorSet(n, d, data);
}

/** Unblinds CS2's answer into a map slot -> squared distance (fillers skipped). */
function distancesOf(
  batch: DistanceBatch,
  values: bigint[],
  blindingOf: (slot: number) => Blinding,
  { dist2Max, valueModulus }: { dist2Max: number; valueModulus: number },
): Map<number, number> {
  expect(values.length).toBe(batch.valueSlot.length);
  const out = new Map<number, number>();
  values.forEach((value, i) => {
    const slot = batch.valueSlot[i];
    if (slot < 0) return;
    expect(out.has(slot)).toBe(false);
    if (valueModulus > 0) expect(value < BigInt(valueModulus)).toBe(true);
    out.set(slot, unblind(value, blindingOf(slot), dist2Max, valueModulus));
  });
  return out;
}

export function describeHeBackendContract(name: string, factory: () => Promise<ContractSetup>): void {
  describe(`HE backend contract: ${name}`, () => {
    let setup: ContractSetup;
    let vectors: VectorSet;
    let records: Uint8Array;
    let query: number[];

    beforeAll(async () => {
      setup = await factory();
      const { d, maxAbs, vectorsPerRecord } = setup.provider.descriptor;
      // Two full records and a partial one (padding), at least 7 vectors for she.
      const n = Math.max(7, 2 * vectorsPerRecord + 3);
      vectors = testVectors(n, d, maxAbs, 42);
      records = setup.provider.encryptRecords(vectors);
      const random = seededRandom(7);
      query = Array.from({ length: d }, (_, j) => (j % 5 === 0 ? -maxAbs : random.int(2 * maxAbs + 1) - maxAbs));
    });

    afterAll(() => {
      for (const role of [setup.provider, setup.client, setup.evaluator, setup.decryptor, setup.other, setup.otherDecryptor]) role.dispose();
    });

    it('describes the same key on every role, with fixed record sizes', () => {
      const { provider, client, evaluator, decryptor } = setup;
      for (const role of [client, evaluator, decryptor]) expect(role.descriptor).toEqual(provider.descriptor);
      const { recordBytes, vectorsPerRecord, dist2Max, d, maxAbs } = provider.descriptor;
      expect(dist2Max).toBe(d * (2 * maxAbs) ** 2);
      expect(records.length).toBe(provider.recordCount(vectors.n) * recordBytes);
      expect(provider.recordCount(vectors.n)).toBe(Math.ceil(vectors.n / vectorsPerRecord));
      for (let r = 0; r < provider.recordCount(vectors.n); r++) {
        expect(provider.encryptRecord(vectors, r).length).toBe(recordBytes);
      }
      expect(client.encryptQuery(query).length).toBe(provider.descriptor.queryBytes);
      expect(setup.other.descriptor.keyId).not.toBe(provider.descriptor.keyId);
    });

    it('returns a*dist2 + b for every requested vector: exact squared distances after unblinding', () => {
      const { client, evaluator, decryptor, provider } = setup;
      const encrypted = evaluator.openQuery(client.encryptQuery(query));
      const blinding = drawBlinding(provider.descriptor);
      const slots = Array.from({ length: vectors.n }, (_, i) => i);
      const batch = evaluator.distanceBatch(encrypted, { records: [records], slots, blinding });
      const values = decryptor.decryptBatch(batch.bytes);
      for (const value of values) expect(value >= 0n).toBe(true);
      const got = distancesOf(batch, values, () => blinding, provider.descriptor);
      expect(got.size).toBe(vectors.n);
      for (let i = 0; i < vectors.n; i++) expect(got.get(i)).toBe(exactDist2(query, vectors, i));
      encrypted.dispose();
    });

    it('reaches the extremes: distance 0 and dist2Max with the largest blinding', () => {
      const { client, evaluator, decryptor, provider } = setup;
      const { maxAbs, d, dist2Max, aBits } = provider.descriptor;
      // The largest a and the largest offset (bfv: t - 1, so the block sums wrap mod t).
      const blinding = { a: (1n << BigInt(aBits)) - 1n, b: offsetBound(provider.descriptor) - 1n };
      // vectors[1] is all -maxAbs: distance to an all +maxAbs query is dist2Max; vectors[0] gives 0.
      const encrypted = evaluator.openQuery(client.encryptQuery(new Array(d).fill(maxAbs)));
      const batch = evaluator.distanceBatch(encrypted, { records: [records], slots: [0, 1, 3], blinding });
      const got = distancesOf(batch, decryptor.decryptBatch(batch.bytes), () => blinding, provider.descriptor);
      expect(got.get(0)).toBe(0);
      expect(got.get(1)).toBe(dist2Max);
      expect(got.get(3)).toBe(d * maxAbs * maxAbs);
      encrypted.dispose();
    });

    it('reads records independently from byte-range slices, in several runs, with per-value offsets', () => {
      const { client, evaluator, decryptor, provider } = setup;
      const { recordBytes, vectorsPerRecord } = provider.descriptor;
      const count = provider.recordCount(vectors.n);
      // Runs: the last record alone, then records [0, 1) — slots count over the runs in order.
      const runs = [records.subarray((count - 1) * recordBytes, count * recordBytes), records.subarray(0, recordBytes)];
      const lastFirst = (count - 1) * vectorsPerRecord;
      const lastCount = vectors.n - lastFirst;
      const wantedVectors = [lastFirst + lastCount - 1, lastFirst, 0, Math.min(2, vectorsPerRecord - 1)];
      const slotOfVector = (v: number): number => (v >= lastFirst ? v - lastFirst : vectorsPerRecord + v);
      const slots = [...new Set(wantedVectors.map(slotOfVector))];
      const a = drawBlinding(provider.descriptor).a;
      const blindings = slots.map(() => ({ a, b: drawBlinding(provider.descriptor).b }));
      const encrypted = evaluator.openQuery(client.encryptQuery(query));
      const batch = evaluator.distanceBatch(encrypted, { records: runs, slots, blinding: blindings });
      const values = decryptor.decryptBatch(batch.bytes);
      const got = distancesOf(batch, values, (slot) => blindings[slots.indexOf(slot)], provider.descriptor);
      expect([...got.keys()].sort((x, y) => x - y)).toEqual([...slots].sort((x, y) => x - y));
      for (const v of wantedVectors) expect(got.get(slotOfVector(v))).toBe(exactDist2(query, vectors, v));
      encrypted.dispose();
    });

    it('rejects malformed requests with InvalidInputError', () => {
      const { client, evaluator, provider } = setup;
      const { recordBytes, aBits } = provider.descriptor;
      const encrypted = evaluator.openQuery(client.encryptQuery(query));
      const blinding = drawBlinding(provider.descriptor);
      const one = records.subarray(0, recordBytes);
      const bad = [
        { records: [one.subarray(0, recordBytes - 1)], slots: [0], blinding },
        { records: [one], slots: [provider.descriptor.vectorsPerRecord], blinding },
        { records: [one], slots: [0, 0], blinding },
        { records: [one], slots: [], blinding },
        { records: [one], slots: [0], blinding: { a: 0n, b: 0n } },
        { records: [one], slots: [0], blinding: { a: 1n << BigInt(aBits), b: 0n } },
        { records: [one], slots: [0], blinding: { a: 1n, b: -1n } },
        { records: [one], slots: [0], blinding: { a: 1n, b: offsetBound(provider.descriptor) } },
        { records: [records.subarray(0, 2 * recordBytes)], slots: [0, 1], blinding: [blinding, { a: blinding.a + 1n, b: 0n }] },
        { records: [one], slots: [0], blinding: [blinding, blinding] },
      ];
      for (const request of bad) expect(() => evaluator.distanceBatch(encrypted, request)).toThrow(InvalidInputError);
      encrypted.dispose();
    });

    it('rejects queries and records of another key, and batches of another key at CS2', () => {
      const { client, evaluator, decryptor, provider, other, otherDecryptor } = setup;
      const otherClientQuery = async (): Promise<Uint8Array> => {
        const otherClient = await loadHeClient(other.exportPublic());
        const bytes = otherClient.encryptQuery(query);
        otherClient.dispose();
        return bytes;
      };
      return otherClientQuery().then((foreignQuery) => {
        expect(() => evaluator.openQuery(foreignQuery)).toThrow(InvalidInputError);
        const encrypted = evaluator.openQuery(client.encryptQuery(query));
        const foreignRecord = other.encryptRecord(vectors, 0);
        expect(() =>
          evaluator.distanceBatch(encrypted, { records: [foreignRecord], slots: [0], blinding: drawBlinding(provider.descriptor) }),
        ).toThrow(InvalidInputError);
        const batch = evaluator.distanceBatch(encrypted, {
          records: [records.subarray(0, provider.descriptor.recordBytes)],
          slots: [0],
          blinding: drawBlinding(provider.descriptor),
        });
        expect(() => otherDecryptor.decryptBatch(batch.bytes)).toThrow(DecryptionError);
        expect(decryptor.decryptBatch(batch.bytes).length).toBe(batch.valueSlot.length);
        encrypted.dispose();
      });
    });

    it('gives garbage, never the distance, when decrypted with the wrong secret', () => {
      const { client, evaluator, provider, otherDecryptor } = setup;
      const { recordBytes, dist2Max } = provider.descriptor;
      const blinding = drawBlinding(provider.descriptor);
      const encrypted = evaluator.openQuery(client.encryptQuery(query));
      const batch = evaluator.distanceBatch(encrypted, { records: [records.subarray(0, recordBytes)], slots: [0, 1].slice(0, provider.descriptor.vectorsPerRecord), blinding });
      // Relabel the batch with the other key's id so the wrong secret actually decrypts it.
      const forged = batch.bytes.slice();
      forged.set(Buffer.from(otherDecryptor.descriptor.keyId, 'hex'), 6);
      let values: bigint[] | undefined;
      try {
        values = otherDecryptor.decryptBatch(forged);
      } catch (error) {
        expect(error instanceof MalformedDataError || error instanceof DecryptionError).toBe(true);
      }
      if (values !== undefined) {
        values.forEach((value, i) => {
          const slot = batch.valueSlot[i];
          if (slot < 0) return;
          let recovered: number | undefined;
          try {
            recovered = unblind(value, blinding, dist2Max, provider.descriptor.valueModulus);
          } catch (error) {
            expect(error).toBeInstanceOf(DecryptionError);
          }
          expect(recovered).not.toBe(exactDist2(query, vectors, slot));
        });
      }
      encrypted.dispose();
    });

    it('rejects corrupted, truncated or oversized encodings with MalformedDataError', async () => {
      const { client, evaluator, decryptor, provider } = setup;
      const { recordBytes } = provider.descriptor;
      const blinding = drawBlinding(provider.descriptor);
      const queryBytes = client.encryptQuery(query);
      const badMagic = queryBytes.slice();
      badMagic[0] ^= 0xff;
      const badVersion = queryBytes.slice();
      badVersion[4] = 99;
      for (const bytes of [queryBytes.subarray(0, queryBytes.length - 1), Uint8Array.from([...queryBytes, 0]), badMagic, badVersion, new Uint8Array(0)]) {
        expect(() => evaluator.openQuery(bytes)).toThrow(MalformedDataError);
      }
      const encrypted = evaluator.openQuery(queryBytes);
      // A record whose ciphertext bytes are all 0xff: not reduced mod the modulus.
      const corrupt = records.slice(0, recordBytes);
      corrupt.fill(0xff, 14 + 64);
      const wrongMagic = records.slice(0, recordBytes);
      wrongMagic[1] ^= 0xff;
      for (const record of [corrupt, wrongMagic]) {
        expect(() => evaluator.distanceBatch(encrypted, { records: [record], slots: [0], blinding })).toThrow(MalformedDataError);
      }
      const batch = evaluator.distanceBatch(encrypted, { records: [records.subarray(0, recordBytes)], slots: [0], blinding });
      const truncatedBatch = batch.bytes.subarray(0, batch.bytes.length - 1);
      const longBatch = Uint8Array.from([...batch.bytes, 1]);
      const zeroCount = batch.bytes.slice();
      zeroCount.fill(0, 14, 18);
      for (const bytes of [truncatedBatch, longBatch, zeroCount, batch.bytes.subarray(0, 10)]) {
        expect(() => decryptor.decryptBatch(bytes)).toThrow(MalformedDataError);
      }
      encrypted.dispose();
      const secret = provider.exportSecret();
      const evaluation = provider.exportEvaluation();
      await expect(loadHeDecryptor(secret.subarray(0, secret.length - 1))).rejects.toThrow(MalformedDataError);
      await expect(loadHeDecryptor(Uint8Array.from([...secret, 0]))).rejects.toThrow(MalformedDataError);
      await expect(loadHeEvaluator(Uint8Array.from([...evaluation, 0]))).rejects.toThrow(MalformedDataError);
      await expect(loadHeEvaluator(evaluation.subarray(0, 12))).rejects.toThrow(MalformedDataError);
      await expect(loadHeClient(Uint8Array.from([1, 2, 3]))).rejects.toThrow(MalformedDataError);
      // Public material is not CS2 material.
      await expect(loadHeDecryptor(provider.exportPublic())).rejects.toThrow(MalformedDataError);
    });

    it('validates template coordinates and dimensions before encrypting', () => {
      const { provider, client } = setup;
      const { d, maxAbs } = provider.descriptor;
      const make = (value: number): VectorSet => {
        const set = testVectors(2, d, maxAbs, 1);
        set.data[d + Math.min(1, d - 1)] = value; // a coordinate of the second vector
        return set;
      };
      expect(() => provider.encryptRecords(make(maxAbs + 1))).toThrow(InvalidInputError);
      expect(() => provider.encryptRecords(make(0.5))).toThrow(InvalidInputError);
      expect(() => provider.encryptRecords(make(Number.NaN))).toThrow(InvalidInputError);
      expect(() => provider.encryptRecords(testVectors(2, d + 1, maxAbs, 1))).toThrow(DimensionMismatchError);
      expect(() => provider.encryptRecord(testVectors(2, d, maxAbs, 1), 5)).toThrow(InvalidInputError);
      expect(() => client.encryptQuery(new Array(d - 1).fill(0))).toThrow(InvalidInputError);
      expect(() => client.encryptQuery(new Array(d).fill(-maxAbs - 1))).toThrow(InvalidInputError);
    });

    it('reloads the provider key: new records work with the deployed CS1 and CS2', async () => {
      const { client, evaluator, decryptor, provider } = setup;
      const reloaded = await loadHeProvider(provider.exportProviderKey());
      expect(reloaded.descriptor).toEqual(provider.descriptor);
      // Buffer comparison: a deep toEqual over ~0.8 MB of key bytes takes seconds.
      expect(Buffer.from(reloaded.exportPublic()).equals(Buffer.from(provider.exportPublic()))).toBe(true);
      const fresh = testVectors(3, provider.descriptor.d, provider.descriptor.maxAbs, 99);
      const bytes = reloaded.encryptRecords(fresh);
      const encrypted = evaluator.openQuery(client.encryptQuery(query));
      const blinding = drawBlinding(provider.descriptor);
      const batch = evaluator.distanceBatch(encrypted, { records: [bytes], slots: [0, 1, 2], blinding });
      const got = distancesOf(batch, decryptor.decryptBatch(batch.bytes), () => blinding, provider.descriptor);
      for (let i = 0; i < 3; i++) expect(got.get(i)).toBe(exactDist2(query, fresh, i));
      encrypted.dispose();
      reloaded.dispose();
      expect(() => reloaded.encryptRecords(fresh)).toThrow(InvalidInputError);
    });
  });
}
