/**
 * The bfv CS1 role (evaluation material: parameters and, when the key relinearises, the
 * relinearisation keys; never the secret). Per requested record: ./distance, one output
 * ciphertext; the records of a batch are shuffled, records with no requested vector skipped.
 */
import type { Evaluator } from 'node-seal/implementation/evaluator';
import type { RelinKeys } from 'node-seal/implementation/relin-keys';
import { InvalidInputError, MalformedDataError } from '../../core/errors';
import { BinaryReader } from '../../codec/binary';
import { shuffleInPlace } from '../../core/random';
import { resolveBatchBlinding } from '../blinding';
import { batchWriter } from '../formats';
import { Lifecycle } from '../lifecycle';
import { splitRequest } from '../records';
import type { DistanceBatch, DistanceRequest, EncryptedQuery, HeDescriptor, HeEvaluator } from '../types';
import { constantPlain, distanceCiphertext, relinPrimesFor } from './distance';
import type { OutputPlan } from './distance';
import { descriptorOf, MAGIC, readKeyedCiphertext, readMaterialHeader, VERSION } from './formats';
import type { BfvLayout } from './formats';
import { loadKey, withContext } from './keys';
import { blockMask, ResidueSampler } from './mask';
import { isAtLevel, loadCiphertext } from './seal';
import type { CipherText, ParmsIdType, SealContext } from './seal';

class BfvEncryptedQuery extends Lifecycle implements EncryptedQuery {
  constructor(
    readonly keyId: string,
    private readonly ct: CipherText,
  ) {
    super();
  }

  get ciphertext(): CipherText {
    this.live();
    return this.ct;
  }

  dispose(): void {
    if (this.markDisposed()) this.ct.delete();
  }
}

class BfvEvaluator extends Lifecycle implements HeEvaluator {
  readonly descriptor: HeDescriptor;
  private readonly evaluator: Evaluator;
  private readonly firstParmsId: ParmsIdType;
  private readonly plan: OutputPlan;
  private readonly sampler: ResidueSampler;

  /** `relinKeys` (owned from now on) must be present exactly when the layout relinearises. */
  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    relinKeys: RelinKeys | null,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.evaluator = ctx.seal.Evaluator(ctx.context);
    this.firstParmsId = ctx.context.firstParmsId;
    this.plan = {
      outputParmsId: ctx.parmsIdWithPrimes(layout.outputPrimes),
      relinParmsId: ctx.parmsIdWithPrimes(relinPrimesFor(ctx, layout.outputPrimes)),
      relinKeys,
    };
    this.sampler = new ResidueSampler(ctx.t);
  }

  openQuery(bytes: Uint8Array): EncryptedQuery {
    this.live();
    const what = 'bfv encrypted query';
    const payload = readKeyedCiphertext(bytes, MAGIC.query, what, this.layout, this.layout.queryPayloadBytes);
    const ct = loadCiphertext(this.ctx, payload, what);
    if (ct.size !== 2 || !isAtLevel(ct, this.firstParmsId)) {
      ct.delete();
      throw new MalformedDataError(what, 'not a fresh ciphertext of this key');
    }
    return new BfvEncryptedQuery(this.layout.keyId, ct);
  }

  distanceBatch(query: EncryptedQuery, request: DistanceRequest): DistanceBatch {
    this.live();
    if (!(query instanceof BfvEncryptedQuery) || query.keyId !== this.layout.keyId) {
      throw new InvalidInputError('distance batch: the query was not opened by this evaluator');
    }
    const queryCt = query.ciphertext;
    const { d } = this.layout.params;
    const vpr = this.descriptor.vectorsPerRecord;
    const { records, wanted } = splitRequest(request, this.descriptor.recordBytes, vpr);
    const { a, b } = resolveBatchBlinding(request.blinding, request.slots.length, this.descriptor);
    const offsetOfSlot = new Map<number, number>();
    request.slots.forEach((slot, k) => offsetOfSlot.set(slot, Number(b[k])));
    // Only records with at least one requested vector are computed and sent.
    const order = shuffleInPlace(records.map((_, r) => r).filter((r) => wanted[r].some((slot) => slot >= 0)));
    const aPlain = constantPlain(this.ctx, this.evaluator, a);
    const writer = batchWriter(MAGIC.batch, VERSION, this.layout.keyId, order.length, this.layout.outputCiphertextBytes);
    const valueSlot = new Int32Array(order.length * vpr);
    try {
      order.forEach((r, i) => {
        const what = 'bfv record';
        const payload = readKeyedCiphertext(records[r].bytes, MAGIC.record, what, this.layout, this.layout.recordPayloadBytes);
        const recordCt = loadCiphertext(this.ctx, payload, what);
        try {
          if (recordCt.size !== 2 || !isAtLevel(recordCt, this.firstParmsId)) {
            throw new MalformedDataError(what, 'not a fresh ciphertext of this key');
          }
          const offsets = Array.from(wanted[r], (slot) => (slot >= 0 ? (offsetOfSlot.get(slot) as number) : null));
          const mask = blockMask(this.ctx.t, d, this.ctx.slots, offsets, this.sampler);
          const out = distanceCiphertext(this.ctx, this.evaluator, recordCt, queryCt, aPlain, this.plan, mask);
          const bytes = out.saveArray(this.ctx.seal.ComprModeType.none);
          out.delete();
          if (bytes.length !== this.layout.outputCiphertextBytes) {
            throw new Error(`bfv output ciphertext of ${bytes.length} bytes, expected ${this.layout.outputCiphertextBytes}`);
          }
          writer.bytes(bytes);
          valueSlot.set(wanted[r], i * vpr);
        } finally {
          recordCt.delete();
        }
      });
    } finally {
      aPlain.delete();
    }
    return { bytes: writer.finish(), valueSlot };
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.evaluator.delete();
    this.firstParmsId.delete();
    this.plan.outputParmsId.delete();
    this.plan.relinParmsId.delete();
    this.plan.relinKeys?.delete();
    this.ctx.dispose();
  }
}

export async function loadBfvEvaluator(bytes: Uint8Array): Promise<HeEvaluator> {
  const what = 'bfv evaluation material';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.evaluation);
  const relinBytes = layout.relinearize ? reader.blob('relinearisation keys') : null;
  reader.end();
  return withContext(layout, what, (ctx) => {
    const relinKeys = relinBytes === null ? null : loadKey(ctx, ctx.seal.RelinKeys(), relinBytes, what);
    return new BfvEvaluator(ctx, layout, relinKeys);
  });
}
