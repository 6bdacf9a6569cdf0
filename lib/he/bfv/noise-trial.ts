/**
 * The worst-case noise trial of bfv key generation. SEAL's invariant noise budget is the
 * reliable number, not a formula, so the budget is MEASURED on the computation CS1 runs
 * (./distance) with every coordinate difference 2*maxAbs, a = a_max and b = t - 1, at every
 * level, with and without relinearisation; the lowest level that keeps BFV_MIN_NOISE_BUDGET
 * bits and exact block sums is kept for each, and the configuration with the fewest output
 * bytes wins.
 */
import type { Decryptor } from 'node-seal/implementation/decryptor';
import type { Encryptor } from 'node-seal/implementation/encryptor';
import type { Evaluator } from 'node-seal/implementation/evaluator';
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { PublicKey } from 'node-seal/implementation/public-key';
import type { RelinKeys } from 'node-seal/implementation/relin-keys';
import type { SecretKey } from 'node-seal/implementation/secret-key';
import { InvalidParametersError } from '../../core/errors';
import { dist2MaxOf } from '../bounds';
import { constantPlain, distanceCiphertext, relinPrimesFor } from './distance';
import type { OutputPlan } from './distance';
import { vectorsPerRecordOf } from './formats';
import { blockMask, blockSums, ResidueSampler } from './mask';
import { BFV_MIN_NOISE_BUDGET } from './params';
import type { BfvResolvedParameters } from './params';
import { packQuery } from './slots';
import type { CipherText, SealContext } from './seal';

/** What the worst-case trial found for one configuration. */
export interface NoiseTrial {
  readonly relinearize: boolean;
  readonly outputPrimes: number;
  readonly noiseBudget: number;
  readonly outputCiphertextBytes: number;
}

/**
 * Worst-case trial at key generation: every difference 2*maxAbs, a = a_max, b = t - 1 (the
 * block sums wrap mod t). For each configuration allowed by `relinearize` (without, with
 * relinearisation) finds the lowest level whose budget keeps BFV_MIN_NOISE_BUDGET bits and whose
 * block sums are exact, then returns the one with the fewest output bytes (ties: without, which
 * is cheaper for CS1). The budget does not depend on the slot values (measured: constant,
 * alternating and random vectors give the same budget), so one trial covers every input.
 */
export function noiseTrial(
  ctx: SealContext,
  params: BfvResolvedParameters,
  secretKey: SecretKey,
  publicKey: PublicKey,
  relinKeys: RelinKeys | null,
): NoiseTrial {
  const { seal } = ctx;
  const vpr = vectorsPerRecordOf(params);
  const encryptor = seal.Encryptor(ctx.context, publicKey, secretKey) as Encryptor;
  const decryptor = seal.Decryptor(ctx.context, secretKey) as Decryptor;
  const evaluator = seal.Evaluator(ctx.context) as Evaluator;
  const recordSlots = new Int32Array(ctx.slots);
  recordSlots.fill(params.maxAbs, 0, vpr * params.d);
  const recordPlain = ctx.encoder.encode(recordSlots) as PlainText;
  const queryPlain = ctx.encoder.encode(packQuery(new Array(params.d).fill(-params.maxAbs), ctx.slots, params.d, vpr)) as PlainText;
  const record = encryptor.encryptSymmetric(recordPlain) as CipherText;
  const query = encryptor.encrypt(queryPlain) as CipherText;
  const aMax = (1n << BigInt(params.aBits)) - 1n;
  const bMax = ctx.t - 1;
  const aPlain = constantPlain(ctx, evaluator, aMax);
  const expected = Number((aMax * BigInt(dist2MaxOf(params)) + BigInt(bMax)) % BigInt(ctx.t));
  const sampler = new ResidueSampler(ctx.t);
  const trials: NoiseTrial[] = [];
  const topBudgets: number[] = [];
  const options = params.relinearize === 'auto' ? [false, true] : [params.relinearize];
  try {
    for (const relinearize of options) {
      if (relinearize && relinKeys === null) throw new Error('bfv noise trial: relinearisation keys are missing');
      // Lowest level first: the first level that passes is the one to keep.
      for (const primes of [...ctx.levels].reverse()) {
        const outputParmsId = ctx.parmsIdWithPrimes(primes);
        const relinParmsId = ctx.parmsIdWithPrimes(relinPrimesFor(ctx, primes));
        const plan: OutputPlan = { outputParmsId, relinParmsId, relinKeys: relinearize ? relinKeys : null };
        const mask = blockMask(ctx.t, params.d, ctx.slots, new Array(vpr).fill(bMax), sampler);
        const out = distanceCiphertext(ctx, evaluator, record, query, aPlain, plan, mask);
        outputParmsId.delete();
        relinParmsId.delete();
        try {
          const budget = decryptor.invariantNoiseBudget(out);
          if (primes === ctx.dataPrimes) topBudgets.push(budget);
          if (budget < BFV_MIN_NOISE_BUDGET) continue;
          const plain = decryptor.decrypt(out) as PlainText;
          const sums = blockSums(ctx.encoder.decodeBigInt(plain, false) as BigUint64Array, ctx.t, params.d, vpr);
          plain.delete();
          if (sums.some((sum) => sum !== expected)) {
            throw new InvalidParametersError('bfv noise trial: worst-case distances did not decrypt exactly; choose other parameters');
          }
          trials.push({ relinearize, outputPrimes: primes, noiseBudget: budget, outputCiphertextBytes: out.saveArray(seal.ComprModeType.none).length });
          break;
        } finally {
          out.delete();
        }
      }
    }
  } finally {
    for (const obj of [recordPlain, queryPlain, record, query, aPlain, encryptor, decryptor, evaluator]) obj.delete();
  }
  if (trials.length === 0) {
    throw new InvalidParametersError(
      `bfv noise bound: ${Math.max(...topBudgets)} bits of noise budget left after the worst-case distance at the top level ` +
        `< ${BFV_MIN_NOISE_BUDGET} required (t ~ 2^${params.plainModulusBits}, q = ${params.coeffModulusBits.join('+')} bits); ` +
        'decrease aBits/bBits or maxAbs, or increase polyModulusDegree',
    );
  }
  return trials.reduce((best, trial) => (trial.outputCiphertextBytes < best.outputCiphertextBytes ? trial : best));
}
