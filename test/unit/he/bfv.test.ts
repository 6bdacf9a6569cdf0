import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParametersError, MalformedDataError } from '../../../lib/core/errors';
import { createHeBackend, loadHeDecryptor, loadHeEvaluator } from '../../../lib/he/index';
import { unblind } from '../../../lib/he/blinding';
import { loadHeClient } from '../../../lib/he/client';
import type { BfvParameters, HeClient, HeDecryptor, HeEvaluator, HeProvider } from '../../../lib/he/index';
import type { BfvDecryptor } from '../../../lib/he/bfv/decryptor';
import { blockMask, blockSums, ResidueSampler } from '../../../lib/he/bfv/mask';
import { BFV_MIN_NOISE_BUDGET, requiredPlainModulusBits, resolveBfvParameters } from '../../../lib/he/bfv/params';
import { vectorSet } from '../../support/vectors';

const params: BfvParameters = { d: 512, maxAbs: 1000, aBits: 16, bBits: 32 };

describe('bfv parameter validation names the failing bound', () => {
  it('plain modulus: t must exceed a_max * dist2_max + b_max', () => {
    const needed = requiredPlainModulusBits(params);
    // dist2_max = 512 * 2000^2 ~ 2^30.9, times a_max < 2^16 -> ~2^47: t needs 48 bits.
    expect(needed).toBe(48);
    expect(resolveBfvParameters(params).plainModulusBits).toBe(48);
    expect(() => resolveBfvParameters({ ...params, plainModulusBits: 47 })).toThrow(/plain modulus bound: .* needs t of >= 48 bits, got 47/);
    expect(() => resolveBfvParameters({ ...params, aBits: 24 })).toThrow(/plain modulus bound: t needs 56 bits > 52/);
  });

  it('security, slots and ring degree', () => {
    expect(() => resolveBfvParameters({ ...params, coeffModulusBits: [60, 60, 60, 60] })).toThrow(
      /security bound: coefficient modulus of 240 bits > 218/,
    );
    expect(() => resolveBfvParameters({ ...params, d: 9000 })).toThrow(/slot bound: d = 9000 > N = 8192/);
    expect(() => resolveBfvParameters({ ...params, polyModulusDegree: 5000 })).toThrow(/polyModulusDegree = 5000/);
    expect(() => resolveBfvParameters({ ...params, coeffModulusBits: [60] })).toThrow(/coeffModulusBits/);
  });

  it('noise: a ring too small for one multiplication at this t is rejected after the measured trial', async () => {
    await expect(createHeBackend('bfv', { ...params, polyModulusDegree: 4096 })).rejects.toThrow(
      /noise bound: -?\d+ bits of noise budget left .* < 12 required/,
    );
    await expect(createHeBackend('bfv', { ...params, polyModulusDegree: 4096 })).rejects.toThrow(InvalidParametersError);
  });
});

describe('bfv additive masking', () => {
  const t = 281474976694273; // a 48-bit batching prime

  it('samples residues below t', () => {
    const sampler = new ResidueSampler(t);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const v = sampler.next();
      expect(Number.isInteger(v) && v >= 0 && v < t).toBe(true);
      max = Math.max(max, v);
      sum += v / t;
    }
    // Uniform on [0, t): mean 1/2 (sd of the mean ~0.002) and the top of the range is reached.
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.02);
    expect(max).toBeGreaterThan(0.99 * t);
  });

  it('each requested block sums to its offset mod t; slots of a block look uniform', () => {
    const d = 8;
    const offsets = [5, null, t - 1, 0];
    const mask = blockMask(t, d, 40, offsets, new ResidueSampler(t));
    const sums = blockSums(mask, t, d, 4);
    expect(sums[0]).toBe(5);
    expect(sums[2]).toBe(t - 1);
    expect(sums[3]).toBe(0);
    for (const v of mask) expect(v < BigInt(t)).toBe(true);
    // Slots are spread over the range, not small numbers that would reveal the offset.
    expect(Array.from(mask.subarray(0, 7)).filter((v) => v > BigInt(t) / 1000n).length).toBeGreaterThan(4);
  });

  it('block sums add residues exactly near 2^52', () => {
    const big = 4503599627370449; // < 2^52
    const values = new BigUint64Array([BigInt(big - 1), BigInt(big - 1), 3n, 4n]);
    expect(blockSums(values, big, 2, 2)).toEqual([big - 2, 7]);
  });
});

describe('bfv backend invariants', () => {
  let provider: HeProvider;
  let client: HeClient;
  let evaluator: HeEvaluator;
  let decryptor: HeDecryptor;

  beforeAll(async () => {
    provider = await createHeBackend('bfv', params);
    client = await loadHeClient(provider.exportPublic());
    evaluator = await loadHeEvaluator(provider.exportEvaluation());
    decryptor = await loadHeDecryptor(provider.exportSecret());
  });

  afterAll(() => {
    for (const role of [provider, client, evaluator, decryptor]) role.dispose();
  });

  it('keeps a noise-budget margin after the worst-case distance and decrypts it exactly', () => {
    const { d, maxAbs, vectorsPerRecord, dist2Max } = provider.descriptor;
    expect(vectorsPerRecord).toBe(16);
    const data = new Float64Array(vectorsPerRecord * d).fill(maxAbs);
    const record = provider.encryptRecords(vectorSet(vectorsPerRecord, d, data));
    const query = evaluator.openQuery(client.encryptQuery(new Array(d).fill(-maxAbs)));
    const blinding = { a: (1n << 16n) - 1n, b: (1n << 32n) - 1n };
    const slots = Array.from({ length: vectorsPerRecord }, (_, i) => i);
    const batch = evaluator.distanceBatch(query, { records: [record], slots, blinding });
    const budgets = (decryptor as BfvDecryptor).noiseBudgets(batch.bytes);
    expect(budgets.length).toBe(1);
    expect(budgets[0]).toBeGreaterThanOrEqual(BFV_MIN_NOISE_BUDGET);
    const values = decryptor.decryptBatch(batch.bytes);
    expect(values.length).toBe(vectorsPerRecord);
    for (const value of values) expect(unblind(value, blinding, dist2Max)).toBe(dist2Max);
    query.dispose();
  });

  it('sends only records with requested vectors; unrequested blocks are fillers', () => {
    const { d, vectorsPerRecord, recordBytes } = provider.descriptor;
    const records = provider.encryptRecords(vectorSet(2 * vectorsPerRecord, d));
    const query = evaluator.openQuery(client.encryptQuery(new Array(d).fill(1)));
    const batch = evaluator.distanceBatch(query, { records: [records], slots: [vectorsPerRecord + 3], blinding: { a: 3n, b: 11n } });
    expect(batch.valueSlot.length).toBe(vectorsPerRecord);
    expect(Array.from(batch.valueSlot).filter((s) => s >= 0)).toEqual([vectorsPerRecord + 3]);
    const values = decryptor.decryptBatch(batch.bytes);
    const at = batch.valueSlot.indexOf(vectorsPerRecord + 3);
    expect(values[at]).toBe(3n * BigInt(d) + 11n);
    // Fillers are uniform mod t, so they are (overwhelmingly) not 3 * dist2 + 11 of the zero vectors.
    expect(values.filter((v) => v === 3n * BigInt(d) + 11n).length).toBe(1);
    expect(records.length).toBe(2 * recordBytes);
    query.dispose();
  });

  it('rejects compressed SEAL payloads (no decompression of untrusted input)', () => {
    const { d } = provider.descriptor;
    const record = provider.encryptRecords(vectorSet(1, d));
    const query = evaluator.openQuery(client.encryptQuery(new Array(d).fill(0)));
    const compressed = record.slice();
    compressed[14 + 5] = 2;
    expect(() => evaluator.distanceBatch(query, { records: [compressed], slots: [0], blinding: { a: 1n, b: 0n } })).toThrow(
      /compressed SEAL data is not accepted/,
    );
    const batch = evaluator.distanceBatch(query, { records: [record], slots: [0], blinding: { a: 1n, b: 0n } });
    const badBatch = batch.bytes.slice();
    badBatch[18 + 5] = 2;
    expect(() => decryptor.decryptBatch(badBatch)).toThrow(MalformedDataError);
    query.dispose();
  });
});

describe('bfv with the BFV scheme', () => {
  it('computes the same exact distances', async () => {
    const small: BfvParameters = { d: 512, maxAbs: 1000, aBits: 8, bBits: 16, scheme: 'bfv' };
    const provider = await createHeBackend('bfv', small);
    const client = await loadHeClient(provider.exportPublic());
    const evaluator = await loadHeEvaluator(provider.exportEvaluation());
    const decryptor = await loadHeDecryptor(provider.exportSecret());
    const d = 512;
    const data = new Float64Array(2 * d);
    for (let j = 0; j < d; j++) {
      data[j] = (j % 7) * 100 - 300;
      data[d + j] = -1000;
    }
    const query = Array.from({ length: d }, (_, j) => 1000 - j);
    const expected = [0, 1].map((i) => query.reduce((s, q, j) => s + (q - data[i * d + j]) ** 2, 0));
    const encrypted = evaluator.openQuery(client.encryptQuery(query));
    const batch = evaluator.distanceBatch(encrypted, { records: [provider.encryptRecords(vectorSet(2, d, data))], slots: [0, 1], blinding: { a: 200n, b: 9999n } });
    const values = decryptor.decryptBatch(batch.bytes);
    for (const slot of [0, 1]) expect(unblind(values[batch.valueSlot.indexOf(slot)], { a: 200n, b: 9999n }, provider.descriptor.dist2Max)).toBe(expected[slot]);
    expect(Math.min(...(decryptor as BfvDecryptor).noiseBudgets(batch.bytes))).toBeGreaterThanOrEqual(BFV_MIN_NOISE_BUDGET);
    encrypted.dispose();
    for (const role of [provider, client, evaluator, decryptor]) role.dispose();
  });
});
