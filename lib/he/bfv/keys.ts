/**
 * SEAL key objects of a bfv key: the context a material's layout names, keys loaded from
 * material bytes (checked, uncompressed), and relinearisation keys made from the secret.
 */
import type { PublicKey } from 'node-seal/implementation/public-key';
import type { RelinKeys } from 'node-seal/implementation/relin-keys';
import type { SecretKey } from 'node-seal/implementation/secret-key';
import { InvalidParametersError, MalformedDataError } from '../../core/errors';
import type { BfvLayout } from './formats';
import { acquireSealContext, assertUncompressedSeal, errorText, sealLibrary } from './seal';
import type { SealContext } from './seal';

/** SEAL context for a layout; checks SEAL derives the same t the material names. */
export async function contextFor(layout: BfvLayout, what: string): Promise<SealContext> {
  let ctx: SealContext;
  try {
    ctx = acquireSealContext(await sealLibrary(), layout.params);
  } catch (error) {
    if (error instanceof InvalidParametersError) throw new MalformedDataError(what, `unusable parameters (${error.message})`);
    throw error;
  }
  if (ctx.t !== layout.t || !ctx.levels.includes(layout.outputPrimes)) {
    ctx.dispose();
    throw new MalformedDataError(what, 'plain modulus or output level does not match the parameters');
  }
  return ctx;
}

/** Loads `bytes` into `key` (deleted on failure: MalformedDataError). */
export function loadKey<K extends SecretKey | PublicKey | RelinKeys>(ctx: SealContext, key: K, bytes: Uint8Array, what: string): K {
  try {
    assertUncompressedSeal(bytes, what);
    key.loadArray(ctx.context, bytes);
    return key;
  } catch (error) {
    key.delete();
    if (error instanceof MalformedDataError) throw error;
    throw new MalformedDataError(what, `invalid key (${errorText(error)})`);
  }
}

/** Fresh relinearisation keys for CS1 (SEAL's seeded serialisation, uncompressed). */
export function relinKeysFor(ctx: SealContext, secretKey: SecretKey): Uint8Array {
  const keygen = ctx.seal.KeyGenerator(ctx.context, secretKey);
  try {
    const serializable = keygen.createRelinKeysSerializable();
    const bytes = serializable.saveArray(ctx.seal.ComprModeType.none);
    serializable.delete();
    return bytes;
  } finally {
    keygen.delete();
  }
}

/**
 * Runs `build` with a context for `layout`; the context is released if it throws (otherwise
 * the built object owns it).
 */
export async function withContext<T>(layout: BfvLayout, what: string, build: (ctx: SealContext) => T): Promise<T> {
  const ctx = await contextFor(layout, what);
  try {
    return build(ctx);
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}
