/**
 * Attacks on the two-server scheme's trust assumptions (docs/threat-model.md, "Two-server
 * identification"), with the real bfv backend and the blinding CS1 draws
 * (lib/twoserver/protocol/batch.ts).
 *
 * CS2, holding only the secret key and the values it decrypts, against one batch:
 * - shared (one offset b per batch): y_i - y_0 = a (x_i - x_0) mod t, and the distances are far
 *   below t, so the centred differences are exact multiples of a; their gcd is a (unless every
 *   difference of distances shares a factor, which random data makes vanishingly rare), and
 *   then CS2 reads every difference of squared distances exactly.
 * - per-value (the default): the same computation recovers nothing.
 *
 * A malicious CS1 against CS2: CS2 decrypts whatever batch CS1 sends. CS1 holds the public
 * material (it serves it to clients), so it encrypts queries of its own choice, the origin and
 * c e_k, evaluates them honestly against the stored records and unblinds CS2's answers:
 * ||c e_k - v||^2 - ||v||^2 = c^2 - 2 c v_k gives every coordinate of every template in d + 1
 * batches, none of which CS2 can tell from a client's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { createHeBackend, loadHeDecryptor, loadHeEvaluator } from '../../../lib/he';
import { unblind } from '../../../lib/he/blinding';
import { loadHeClient } from '../../../lib/he/client';
import type { HeDecryptor, HeEvaluator, HeProvider } from '../../../lib/he/types';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { allSquaredDistances } from '../../../scripts/bench/baselines/plain-search';
import { drawBatchBlinding } from '../../../lib/twoserver/protocol/batch';
import { noisyProbes, syntheticTemplates } from '../../../scripts/bench/synthetic/templates';

const PARAMS = { d: 16, maxAbs: 999, polyModulusDegree: 8192 } as const;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** CS2's attack on one batch of decrypted values: the multiplier and every value's distance minus the first one's. */
function sharedOffsetAttack(values: readonly bigint[], t: bigint): { a: bigint; differences: bigint[] } {
  const centred = values.map((y) => {
    const r = (((y - values[0]) % t) + t) % t;
    return r > t / 2n ? r - t : r;
  });
  const a = centred.reduce((g, r) => gcd(g, r), 0n);
  return { a, differences: centred.map((r) => (a === 0n ? 0n : r / a)) };
}

describe('two-server attacks (bfv, d = 16)', () => {
  let provider: HeProvider;
  let evaluator: HeEvaluator;
  let decryptor: HeDecryptor;
  let templates: VectorSet;
  let records: Uint8Array;
  let probes: VectorSet;

  beforeAll(async () => {
    provider = await createHeBackend('bfv', PARAMS);
    const vpr = provider.descriptor.vectorsPerRecord;
    // One full record (512 templates at d = 16): every block CS2 decrypts is a requested value.
    templates = syntheticTemplates(vpr, PARAMS.d, { kind: 'clustered', seed: 1701, clusters: 4, spread: 0.2 });
    records = provider.encryptRecords(templates);
    evaluator = await loadHeEvaluator(provider.exportEvaluation());
    decryptor = await loadHeDecryptor(provider.exportSecret());
    probes = noisyProbes(templates, 3, 0.05, seededRandom(1702));
  });

  afterAll(() => {
    provider?.dispose();
    evaluator?.dispose();
    decryptor?.dispose();
  });

  /** A query encrypted with the public material (by a client, or by CS1, which serves it). */
  async function encryptQuery(query: ArrayLike<number>): Promise<Uint8Array> {
    const client = await loadHeClient(provider.exportPublic());
    try {
      return client.encryptQuery(query);
    } finally {
      client.dispose();
    }
  }

  /** One stage-2 batch over the record as CS1 makes it, and what CS2 decrypts. */
  async function batchFor(query: ArrayLike<number>, mode: 'shared' | 'per-value') {
    const bytes = await encryptQuery(query);
    const slots = Array.from({ length: templates.n }, (_, i) => i);
    const { a, b } = drawBatchBlinding(mode, evaluator.descriptor, slots.length);
    const blindingOf = (i: number) => ({ a, b: mode === 'shared' ? b[0] : b[i] });
    const request = mode === 'shared' ? blindingOf(0) : slots.map((_, i) => blindingOf(i));
    const batch = evaluator.distanceBatch(evaluator.openQuery(bytes), { records: [records], slots, blinding: request });
    const values = decryptor.decryptBatch(batch.bytes);
    const truth = allSquaredDistances(templates, query);
    return { values, valueSlot: batch.valueSlot, truth, a, blindingOf };
  }

  const probe = (q: number) => probes.data.subarray(q * PARAMS.d, (q + 1) * PARAMS.d);

  it('CS2 against a shared offset: it recovers the multiplier and every difference of squared distances exactly', async () => {
    const t = BigInt(evaluator.descriptor.valueModulus);
    let exact = 0;
    let total = 0;
    for (let q = 0; q < probes.n; q++) {
      const { values, valueSlot, truth, a } = await batchFor(probe(q), 'shared');
      expect(Array.from(valueSlot).every((slot) => slot >= 0)).toBe(true);
      const attack = sharedOffsetAttack(values, t);
      expect(attack.a).toBe(a);
      const anchor = truth[valueSlot[0]];
      attack.differences.forEach((difference, i) => {
        total++;
        if (difference === BigInt(truth[valueSlot[i]] - anchor)) exact++;
      });
    }
    expect(exact).toBe(total);
    console.info(`bfv shared blinding, d = ${PARAMS.d}: CS2 found a and ${exact} of ${total} differences of squared distances exactly (${probes.n} batches of ${templates.n} values, t ~ 2^${Math.round(Math.log2(Number(t)))})`);
  });

  it('CS2 against per-value offsets (the default): the same attack recovers nothing', async () => {
    const t = BigInt(evaluator.descriptor.valueModulus);
    let exact = 0;
    let total = 0;
    let multiplierFound = 0;
    for (let q = 0; q < probes.n; q++) {
      const { values, valueSlot, truth, a } = await batchFor(probe(q), 'per-value');
      const attack = sharedOffsetAttack(values, t);
      if (attack.a === a) multiplierFound++;
      const anchor = truth[valueSlot[0]];
      attack.differences.forEach((difference, i) => {
        if (i === 0) return;
        total++;
        if (difference === BigInt(truth[valueSlot[i]] - anchor)) exact++;
      });
    }
    // The gcd "finds" a only when a happens to be 1 (1 in 15); the differences stay wrong.
    expect(exact).toBeLessThan(total / 100);
    console.info(`bfv per-value blinding, d = ${PARAMS.d}: the same attack found a in ${multiplierFound} of ${probes.n} batches and got ${exact} of ${total} differences right`);
  });

  it('a malicious CS1 reads every template through CS2 with d + 1 queries of its own', async () => {
    const { d, maxAbs } = PARAMS;
    const { dist2Max, valueModulus } = evaluator.descriptor;
    const c = maxAbs;
    // CS1's side: its own queries, honest evaluation, CS2's answers unblinded with its own blinding.
    const distancesTo = async (query: ArrayLike<number>): Promise<Float64Array> => {
      const { values, valueSlot, blindingOf } = await batchFor(query, 'per-value');
      const out = new Float64Array(templates.n);
      values.forEach((value, i) => {
        out[valueSlot[i]] = unblind(value, blindingOf(valueSlot[i]), dist2Max, valueModulus);
      });
      return out;
    };
    const origin = await distancesTo(new Float64Array(d));
    const recovered = new Float64Array(templates.n * d);
    for (let k = 0; k < d; k++) {
      const axis = new Float64Array(d);
      axis[k] = c;
      const toAxis = await distancesTo(axis);
      for (let i = 0; i < templates.n; i++) recovered[i * d + k] = (c * c - (toAxis[i] - origin[i])) / (2 * c);
    }
    let exact = 0;
    for (let i = 0; i < templates.n * d; i++) if (recovered[i] === templates.data[i]) exact++;
    expect(exact).toBe(templates.n * d);
    console.info(`bfv, malicious CS1: ${d + 1} batches of its own queries through CS2 gave ${exact} of ${templates.n * d} template coordinates exactly (${templates.n} templates)`);
  });
});
