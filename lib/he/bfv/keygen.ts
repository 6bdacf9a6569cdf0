/**
 * bfv KeyGen: validated parameters, a SEAL key pair, the measured output level (./noise-trial)
 * and the fixed serialized sizes of records and queries, i.e. everything a provider needs.
 */
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { PublicKey } from 'node-seal/implementation/public-key';
import type { SecretKey } from 'node-seal/implementation/secret-key';
import { newKeyId } from '../formats';
import type { BfvParameters } from '../types';
import type { BfvLayout } from './formats';
import { loadKey, relinKeysFor } from './keys';
import { noiseTrial } from './noise-trial';
import type { NoiseTrial } from './noise-trial';
import { resolveBfvParameters } from './params';
import { acquireSealContext, sealLibrary } from './seal';
import type { CipherText, SealContext } from './seal';

/** A fresh key: the objects are owned by the caller (dispose the context last). */
export interface BfvKey {
  readonly ctx: SealContext;
  readonly layout: BfvLayout;
  readonly secretKey: SecretKey;
  readonly publicKey: PublicKey;
  /** Serialized relinearisation keys for CS1 when the layout relinearises, else null. */
  readonly relinKeyBytes: Uint8Array | null;
}

export async function generateBfvKey(params: BfvParameters): Promise<BfvKey> {
  const resolved = resolveBfvParameters(params);
  const ctx = acquireSealContext(await sealLibrary(), resolved);
  try {
    const keygen = ctx.seal.KeyGenerator(ctx.context);
    const secretKey = keygen.secretKey();
    const publicSerializable = keygen.createPublicKeySerializable();
    const publicKey = ctx.seal.PublicKey();
    publicKey.loadArray(ctx.context, publicSerializable.saveArray(ctx.seal.ComprModeType.none));
    publicSerializable.delete();
    keygen.delete();
    let relinKeyBytes = resolved.relinearize === false ? null : relinKeysFor(ctx, secretKey);
    const relinKeys = relinKeyBytes === null ? null : loadKey(ctx, ctx.seal.RelinKeys(), relinKeyBytes, 'bfv relinearisation keys');
    let trial: NoiseTrial;
    try {
      trial = noiseTrial(ctx, resolved, secretKey, publicKey, relinKeys);
    } finally {
      relinKeys?.delete();
    }
    if (!trial.relinearize) relinKeyBytes = null;
    const sizes = measureSizes(ctx, secretKey, publicKey);
    const layout: BfvLayout = {
      params: resolved,
      keyId: newKeyId(),
      t: ctx.t,
      outputPrimes: trial.outputPrimes,
      relinearize: trial.relinearize,
      noiseBudget: trial.noiseBudget,
      recordPayloadBytes: sizes.record,
      queryPayloadBytes: sizes.query,
      outputCiphertextBytes: trial.outputCiphertextBytes,
    };
    return { ctx, layout, secretKey, publicKey, relinKeyBytes };
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}

/** Serialised sizes of a record (seeded symmetric) and a query (public-key) ciphertext. */
function measureSizes(ctx: SealContext, secretKey: SecretKey, publicKey: PublicKey): { record: number; query: number } {
  const encryptor = ctx.seal.Encryptor(ctx.context, publicKey, secretKey);
  const plain = ctx.encoder.encode(new Int32Array(ctx.slots)) as PlainText;
  const serializable = encryptor.encryptSymmetricSerializable(plain);
  const record = serializable.saveArray(ctx.seal.ComprModeType.none).length;
  const ct = encryptor.encrypt(plain) as CipherText;
  const query = ct.saveArray(ctx.seal.ComprModeType.none).length;
  for (const obj of [serializable, ct, plain, encryptor]) obj.delete();
  return { record, query };
}
