/**
 * The bfv provider role: generates the key (./keygen), encrypts records symmetrically (SEAL's
 * seeded serialization: half the bytes of a public-key encryption) and exports every other
 * role's material.
 */
import type { Encryptor } from 'node-seal/implementation/encryptor';
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { PublicKey } from 'node-seal/implementation/public-key';
import type { SecretKey } from 'node-seal/implementation/secret-key';
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import type { VectorSet } from '../../linalg/vectors';
import { assertVectorSet } from '../inputs';
import { Lifecycle } from '../lifecycle';
import { assertRecordIndex, encryptAllRecords, recordCountOf } from '../records';
import type { BfvParameters, HeDescriptor, HeProvider } from '../types';
import { descriptorOf, MAGIC, readMaterialHeader, writeKeyedCiphertext, writeMaterialHeader } from './formats';
import type { BfvLayout } from './formats';
import { generateBfvKey } from './keygen';
import { loadKey, relinKeysFor, withContext } from './keys';
import type { SealContext } from './seal';
import { packRecord } from './slots';

export class BfvProvider extends Lifecycle implements HeProvider {
  readonly descriptor: HeDescriptor;
  private readonly encryptor: Encryptor;

  /**
   * `relinKeyBytes`: serialised relinearisation keys for CS1 when the layout relinearises and
   * key generation made them; a reloaded provider makes fresh ones from the secret key when
   * exportEvaluation first needs them.
   */
  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    private readonly secretKey: SecretKey,
    private readonly publicKey: PublicKey,
    private relinKeyBytes: Uint8Array | null = null,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.encryptor = ctx.seal.Encryptor(ctx.context, publicKey, secretKey);
  }

  /** What key generation measured (diagnostics, benchmarks and tests). */
  get outputLayout(): { relinearize: boolean; outputPrimes: number; noiseBudget: number; outputCiphertextBytes: number } {
    const { relinearize, outputPrimes, noiseBudget, outputCiphertextBytes } = this.layout;
    return { relinearize, outputPrimes, noiseBudget, outputCiphertextBytes };
  }

  recordCount(n: number): number {
    return recordCountOf(n, this.descriptor.vectorsPerRecord);
  }

  encryptRecord(vectors: VectorSet, recordIndex: number): Uint8Array {
    this.live();
    const { d, maxAbs } = this.layout.params;
    const vpr = this.descriptor.vectorsPerRecord;
    assertVectorSet(vectors, d);
    assertRecordIndex(vectors, recordIndex, vpr);
    const plain = this.ctx.encoder.encode(packRecord(vectors, recordIndex, this.ctx.slots, vpr, maxAbs)) as PlainText;
    const serializable = this.encryptor.encryptSymmetricSerializable(plain);
    const payload = serializable.saveArray(this.ctx.seal.ComprModeType.none);
    serializable.delete();
    plain.delete();
    if (payload.length !== this.layout.recordPayloadBytes) {
      throw new Error(`bfv record serialised to ${payload.length} bytes, expected ${this.layout.recordPayloadBytes}`);
    }
    return writeKeyedCiphertext(MAGIC.record, this.layout.keyId, payload);
  }

  encryptRecords(vectors: VectorSet): Uint8Array {
    this.live();
    return encryptAllRecords(this, vectors);
  }

  exportPublic(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.public, this.layout);
    writer.blob(this.publicKey.saveArray(this.ctx.seal.ComprModeType.none));
    return writer.finish();
  }

  exportEvaluation(): Uint8Array {
    this.live();
    if (this.layout.relinearize) this.relinKeyBytes ??= relinKeysFor(this.ctx, this.secretKey);
    const writer = new BinaryWriter(256 + (this.relinKeyBytes?.length ?? 0));
    writeMaterialHeader(writer, MAGIC.evaluation, this.layout);
    if (this.layout.relinearize) writer.blob(this.relinKeyBytes as Uint8Array);
    return writer.finish();
  }

  exportSecret(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.secret, this.layout);
    writer.blob(this.secretKey.saveArray(this.ctx.seal.ComprModeType.none));
    return writer.finish();
  }

  exportProviderKey(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.provider, this.layout);
    writer.blob(this.secretKey.saveArray(this.ctx.seal.ComprModeType.none));
    writer.blob(this.publicKey.saveArray(this.ctx.seal.ComprModeType.none));
    return writer.finish();
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.encryptor.delete();
    this.secretKey.delete();
    this.publicKey.delete();
    this.ctx.dispose();
  }
}

/** KeyGen: validated parameters, keys, fixed record/query sizes and the measured output level. */
export async function createBfvProvider(params: BfvParameters): Promise<BfvProvider> {
  const key = await generateBfvKey(params);
  return new BfvProvider(key.ctx, key.layout, key.secretKey, key.publicKey, key.relinKeyBytes);
}

export async function loadBfvProvider(bytes: Uint8Array): Promise<BfvProvider> {
  const what = 'bfv provider key';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.provider);
  const secretBytes = reader.blob('secret key');
  const publicBytes = reader.blob('public key');
  reader.end();
  return withContext(layout, what, (ctx) => {
    const secretKey = loadKey(ctx, ctx.seal.SecretKey(), secretBytes, what);
    const publicKey = loadKey(ctx, ctx.seal.PublicKey(), publicBytes, what);
    return new BfvProvider(ctx, layout, secretKey, publicKey);
  });
}
