/**
 * CS1's computation on one bfv record, shared by the evaluator and the worst-case noise trial
 * of key generation (so the trial measures exactly what CS1 runs):
 * ((record - query)^2 * a), switched down to the output level (relinearised one level above it
 * when the key says so), plus a plaintext mask whose blocks are additive shares of b (./mask).
 */
import type { Evaluator } from 'node-seal/implementation/evaluator';
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { RelinKeys } from 'node-seal/implementation/relin-keys';
import { isAtLevel } from './seal';
import type { CipherText, ParmsIdType, SealContext } from './seal';

/** Where CS1's computation ends: the output level and, when relinearising, the keys and level. */
export interface OutputPlan {
  readonly outputParmsId: ParmsIdType;
  /** Relinearisation keys, or null to send size-3 ciphertexts. */
  readonly relinKeys: RelinKeys | null;
  /** Level (one above the output, or the output when it is the first) where CS1 relinearises. */
  readonly relinParmsId: ParmsIdType;
}

/** The level one above `outputPrimes` (the key-switching noise is then divided away by the last switch). */
export function relinPrimesFor(ctx: SealContext, outputPrimes: number): number {
  return Math.min(ctx.dataPrimes, outputPrimes + 1);
}

/**
 * The CS1 computation on one record: ((record - query)^2 * a) switched to the output level
 * (relinearised on the way when the plan has keys), plus the mask. Consumes nothing; returns a
 * new ciphertext the caller deletes.
 */
export function distanceCiphertext(
  ctx: SealContext,
  evaluator: Evaluator,
  record: CipherText,
  query: CipherText,
  aPlain: PlainText,
  plan: OutputPlan,
  mask: BigUint64Array,
): CipherText {
  const diff = evaluator.sub(record, query) as CipherText;
  const sq = evaluator.square(diff) as CipherText;
  diff.delete();
  evaluator.multiplyPlain(sq, aPlain, sq);
  if (plan.relinKeys !== null) {
    // Relinearising one level down is ~2x cheaper than at the top and, measured, as quiet.
    if (!isAtLevel(sq, plan.relinParmsId)) evaluator.cipherModSwitchTo(sq, plan.relinParmsId, sq);
    evaluator.relinearize(sq, plan.relinKeys, sq);
  }
  if (!isAtLevel(sq, plan.outputParmsId)) evaluator.cipherModSwitchTo(sq, plan.outputParmsId, sq);
  const maskPlain = ctx.encoder.encode(mask) as PlainText;
  evaluator.addPlain(sq, maskPlain, sq);
  maskPlain.delete();
  return sq;
}

/** The constant a as a plaintext (all slots a), in NTT form at the first level for BGV. */
export function constantPlain(ctx: SealContext, evaluator: Evaluator, a: bigint): PlainText {
  const plain = ctx.encoder.encode(new BigUint64Array(ctx.slots).fill(a)) as PlainText;
  if (ctx.shape.scheme === 'bgv') {
    const first = ctx.context.firstParmsId;
    evaluator.plainTransformToNtt(plain, first, plain);
    first.delete();
  }
  return plain;
}
