/**
 * What CS1 sends CS2 per template (bfv). Key generation measures the worst case with and without
 * relinearisation and keeps the configuration with the fewest output bytes that still leaves
 * BFV_MIN_NOISE_BUDGET bits; these tests check the choice and its invariants on real batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedDataError } from '../../../lib/core/errors';
import { createHeBackend, loadHeDecryptor, loadHeEvaluator } from '../../../lib/he/index';
import { offsetBound, unblind } from '../../../lib/he/blinding';
import { loadHeClient } from '../../../lib/he/client';
import type { HeClient, HeDecryptor, HeEvaluator, HeProvider } from '../../../lib/he/index';
import type { BfvDecryptor } from '../../../lib/he/bfv/decryptor';
import type { BfvProvider } from '../../../lib/he/bfv/provider';
import { BFV_MIN_NOISE_BUDGET } from '../../../lib/he/bfv/params';
import { vectorSet } from '../../support/vectors';

const N = 8192;
/** SEAL ciphertext bytes: polynomials x primes x N coefficients x 8, plus SEAL's headers. */
const bytesFor = (polys: number, primes: number): number => polys * primes * N * 8;

describe('bfv output to CS2 (d = 512, default blinding)', () => {
  let provider: HeProvider;
  let client: HeClient;
  let evaluator: HeEvaluator;
  let decryptor: HeDecryptor;

  beforeAll(async () => {
    provider = await createHeBackend('bfv', { d: 512, maxAbs: 999 });
    client = await loadHeClient(provider.exportPublic());
    evaluator = await loadHeEvaluator(provider.exportEvaluation());
    decryptor = await loadHeDecryptor(provider.exportSecret());
  });

  afterAll(() => {
    for (const role of [provider, client, evaluator, decryptor]) role.dispose();
  });

  it('relinearises and switches to the last 60-bit prime: 2 polynomials x 1 prime, ~8 KB per template', () => {
    const layout = (provider as BfvProvider).outputLayout;
    expect(layout.relinearize).toBe(true);
    expect(layout.outputPrimes).toBe(1);
    expect(layout.noiseBudget).toBeGreaterThanOrEqual(BFV_MIN_NOISE_BUDGET);
    expect(layout.outputCiphertextBytes).toBeGreaterThan(bytesFor(2, 1));
    expect(layout.outputCiphertextBytes).toBeLessThan(bytesFor(2, 1) + 1024);
    // Before: size-3 ciphertexts at 2 primes, 393 KB per record of 16 templates (~24.6 KB each).
    expect(layout.outputCiphertextBytes / provider.descriptor.vectorsPerRecord).toBeLessThan(8300);
    // The evaluation material carries the relinearisation keys CS1 needs (~0.8 MB).
    expect(provider.exportEvaluation().length).toBeGreaterThan(500_000);
  });

  it('decrypts the worst case exactly with the noise margin, on batches of several records', () => {
    const { d, maxAbs, vectorsPerRecord: vpr, dist2Max, aBits, valueModulus } = provider.descriptor;
    const data = new Float64Array(2 * vpr * d);
    for (let i = 0; i < data.length; i++) data[i] = i % 3 === 0 ? -maxAbs : maxAbs;
    const records = provider.encryptRecords(vectorSet(2 * vpr, d, data));
    const query = evaluator.openQuery(client.encryptQuery(new Array(d).fill(maxAbs)));
    const a = (1n << BigInt(aBits)) - 1n;
    const slots = Array.from({ length: 2 * vpr }, (_, i) => i);
    const blindings = slots.map((i) => ({ a, b: i % 2 === 0 ? offsetBound(provider.descriptor) - 1n : BigInt(i) }));
    const batch = evaluator.distanceBatch(query, { records: [records], slots, blinding: blindings });
    const budgets = (decryptor as BfvDecryptor).noiseBudgets(batch.bytes);
    expect(budgets.length).toBe(2);
    for (const budget of budgets) expect(budget).toBeGreaterThanOrEqual(BFV_MIN_NOISE_BUDGET);
    const values = decryptor.decryptBatch(batch.bytes);
    values.forEach((value, e) => {
      const slot = batch.valueSlot[e];
      let expected = 0;
      for (let j = 0; j < d; j++) expected += (maxAbs - data[slot * d + j]) ** 2;
      expect(unblind(value, blindings[slot], dist2Max, valueModulus)).toBe(expected);
    });
    query.dispose();
  });

  it('without relinearisation the output is three times larger (the option is measured, not assumed)', async () => {
    const plain = await createHeBackend('bfv', { d: 512, maxAbs: 999, relinearize: false });
    const layout = (plain as BfvProvider).outputLayout;
    expect(layout.relinearize).toBe(false);
    // Size-3 ciphertexts keep the s^2 noise term: one 60-bit prime leaves < 12 bits, so 2 primes.
    expect(layout.outputPrimes).toBe(2);
    expect(layout.outputCiphertextBytes).toBeGreaterThan(3 * bytesFor(2, 1));
    expect(plain.exportEvaluation().length).toBeLessThan(1024);
    plain.dispose();
  });

  it('rejects evaluation material whose relinearisation flag is not 0 or 1, or whose keys are cut', async () => {
    const material = provider.exportEvaluation();
    // Header: magic 4, version 2, key id 8, scheme 1, N 4, count 1, coeff bits 4, t bits 1,
    // t 8, d 4, maxAbs 4, aBits 1, bBits 1, output primes 1, noise budget 1 -> flag at 45.
    expect(material[45]).toBe(1);
    const badFlag = material.slice();
    badFlag[45] = 2;
    await expect(loadHeEvaluator(badFlag)).rejects.toThrow(MalformedDataError);
    await expect(loadHeEvaluator(material.subarray(0, material.length - 100))).rejects.toThrow(MalformedDataError);
  });
});
