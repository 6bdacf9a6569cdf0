/**
 * The bfv CS2 role (secret material): decrypts each output ciphertext of a batch and sums
 * every block mod t, giving (a * dist2 + b) mod t per block (./mask).
 */
import type { Decryptor } from 'node-seal/implementation/decryptor';
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { SecretKey } from 'node-seal/implementation/secret-key';
import { MalformedDataError } from '../../core/errors';
import { BinaryReader } from '../../codec/binary';
import { openBatch } from '../formats';
import { Lifecycle } from '../lifecycle';
import type { HeDecryptor, HeDescriptor } from '../types';
import { descriptorOf, MAGIC, readMaterialHeader, VERSION } from './formats';
import type { BfvLayout } from './formats';
import { loadKey, withContext } from './keys';
import { blockSums } from './mask';
import { assertUncompressedSeal, isAtLevel, loadCiphertext } from './seal';
import type { CipherText, ParmsIdType, SealContext } from './seal';

export class BfvDecryptor extends Lifecycle implements HeDecryptor {
  readonly descriptor: HeDescriptor;
  private readonly decryptor: Decryptor;
  private readonly outputParmsId: ParmsIdType;

  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    private readonly secretKey: SecretKey,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.decryptor = ctx.seal.Decryptor(ctx.context, secretKey);
    this.outputParmsId = ctx.parmsIdWithPrimes(layout.outputPrimes);
  }

  /** Parses a batch and calls `use` with each loaded ciphertext (deleted afterwards). */
  private forEachCiphertext(bytes: Uint8Array, use: (ct: CipherText) => void): void {
    const what = 'bfv distance batch';
    const size = this.layout.outputCiphertextBytes;
    const { reader, count } = openBatch(bytes, MAGIC.batch, VERSION, what, size, this.layout.keyId);
    for (let i = 0; i < count; i++) {
      const payload = reader.bytes(size, 'ciphertext');
      assertUncompressedSeal(payload, what);
      const ct = loadCiphertext(this.ctx, payload, what);
      try {
        if (!isAtLevel(ct, this.outputParmsId) || ct.size !== (this.layout.relinearize ? 2 : 3)) {
          throw new MalformedDataError(what, 'ciphertext is not at the output level of this key');
        }
        use(ct);
      } finally {
        ct.delete();
      }
    }
  }

  decryptBatch(bytes: Uint8Array): bigint[] {
    this.live();
    const { d } = this.layout.params;
    const vpr = this.descriptor.vectorsPerRecord;
    const values: bigint[] = [];
    this.forEachCiphertext(bytes, (ct) => {
      const plain = this.decryptor.decrypt(ct) as PlainText;
      const slots = this.ctx.encoder.decodeBigInt(plain, false) as BigUint64Array;
      plain.delete();
      for (const sum of blockSums(slots, this.ctx.t, d, vpr)) values.push(BigInt(sum));
    });
    return values;
  }

  /** Invariant noise budget (bits) of every ciphertext of a batch: diagnostics and tests. */
  noiseBudgets(bytes: Uint8Array): number[] {
    this.live();
    const budgets: number[] = [];
    this.forEachCiphertext(bytes, (ct) => budgets.push(this.decryptor.invariantNoiseBudget(ct)));
    return budgets;
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.decryptor.delete();
    this.outputParmsId.delete();
    this.secretKey.delete();
    this.ctx.dispose();
  }
}

export async function loadBfvDecryptor(bytes: Uint8Array): Promise<BfvDecryptor> {
  const what = 'bfv secret material';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.secret);
  const secretBytes = reader.blob('secret key');
  reader.end();
  return withContext(layout, what, (ctx) => new BfvDecryptor(ctx, layout, loadKey(ctx, ctx.seal.SecretKey(), secretBytes, what)));
}
