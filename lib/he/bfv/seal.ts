/**
 * Microsoft SEAL through node-seal 6.0.3 (WebAssembly; node-seal 7 does not load on Node 20).
 * One library instance per process, and a small owner of the SEAL objects that every role
 * needs (parameters, context, batch encoder) so that dispose() frees the WASM memory.
 */
import SEAL from 'node-seal';
import type { CipherText } from 'node-seal/implementation/cipher-text';
import type { Context } from 'node-seal/implementation/context';
import type { EncryptionParameters } from 'node-seal/implementation/encryption-parameters';
import type { ParmsIdType } from 'node-seal/implementation/parms-id-type';
import type { SEALLibrary } from 'node-seal/implementation/seal';
import type { BatchEncoder } from 'node-seal/implementation/batch-encoder';
import { InvalidParametersError, MalformedDataError } from '../../core/errors';

export type { SEALLibrary, CipherText, Context, ParmsIdType, BatchEncoder };

let library: Promise<SEALLibrary> | undefined;

/** The process-wide SEAL library (loads the WASM module once, ~60 ms). */
export function sealLibrary(): Promise<SEALLibrary> {
  library ??= SEAL();
  return library;
}

export interface SealShape {
  readonly scheme: 'bgv' | 'bfv';
  readonly polyModulusDegree: number;
  readonly coeffModulusBits: readonly number[];
  readonly plainModulusBits: number;
}

/** SEAL objects shared by the roles of one key. */
export class SealContext {
  readonly parms: EncryptionParameters;
  readonly context: Context;
  readonly encoder: BatchEncoder;
  /** Plain modulus t (a batching prime, <= 2^52). */
  readonly t: number;
  readonly slots: number;
  private disposed = false;

  constructor(
    readonly seal: SEALLibrary,
    readonly shape: SealShape,
  ) {
    const parms = seal.EncryptionParameters(shape.scheme === 'bgv' ? seal.SchemeType.bgv : seal.SchemeType.bfv);
    try {
      parms.setPolyModulusDegree(shape.polyModulusDegree);
      const coeff = seal.CoeffModulus.Create(shape.polyModulusDegree, Int32Array.from(shape.coeffModulusBits));
      parms.setCoeffModulus(coeff);
      coeff.delete();
      const plain = seal.PlainModulus.Batching(shape.polyModulusDegree, shape.plainModulusBits);
      parms.setPlainModulus(plain);
      plain.delete();
    } catch (error) {
      parms.delete();
      throw new InvalidParametersError(`bfv parameters rejected by SEAL: ${errorText(error)}`);
    }
    const context = seal.Context(parms, true, seal.SecurityLevel.tc128);
    if (!context.parametersSet()) {
      context.delete();
      parms.delete();
      throw new InvalidParametersError(
        'bfv parameters rejected by SEAL (not 128-bit secure or no batching); check polyModulusDegree and coeffModulusBits',
      );
    }
    this.parms = parms;
    this.context = context;
    this.encoder = seal.BatchEncoder(context);
    this.slots = this.encoder.slotCount;
    this.t = Number(parms.plainModulus.value);
  }

  /** Parms id of the data level with `primes` primes (the first data level has the most). */
  parmsIdWithPrimes(primes: number): ParmsIdType {
    let data = this.context.firstContextData;
    while (data.parms.coeffModulus.length > primes && data.chainIndex > 0) data = data.nextContextData;
    if (data.parms.coeffModulus.length !== primes) {
      throw new InvalidParametersError(`bfv: no modulus-switching level with ${primes} primes`);
    }
    return data.parmsId;
  }

  /** Prime counts of the data levels SEAL built (first level first), e.g. [3, 2, 1]. */
  get levels(): number[] {
    const out: number[] = [];
    let data = this.context.firstContextData;
    for (;;) {
      out.push(data.parms.coeffModulus.length);
      if (data.chainIndex === 0) return out;
      data = data.nextContextData;
    }
  }

  /** Number of primes of the first data level (coefficient primes minus the special prime). */
  get dataPrimes(): number {
    return this.context.firstContextData.parms.coeffModulus.length;
  }

  live(): void {
    if (this.disposed) throw new InvalidParametersError('this HE object was disposed');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder.delete();
    this.context.delete();
    this.parms.delete();
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Same parms id (a SEAL level) on both sides. */
export function sameParmsId(a: ParmsIdType, b: ParmsIdType): boolean {
  const x = a.values;
  const y = b.values;
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * SEAL serializations we accept start with SEAL's 16-byte header (magic 0xA15E, header size 16)
 * and are NOT compressed: this rules out decompression bombs and keeps sizes fixed.
 */
export function assertUncompressedSeal(bytes: Uint8Array, what: string): void {
  if (bytes.length < 16 || bytes[0] !== 0x5e || bytes[1] !== 0xa1 || bytes[2] !== 16) {
    throw new MalformedDataError(what, 'not a SEAL serialization (bad SEAL header)');
  }
  if (bytes[5] !== 0) throw new MalformedDataError(what, 'compressed SEAL data is not accepted');
}

/** Loads a ciphertext; SEAL validates sizes and that every coefficient is reduced. */
export function loadCiphertext(ctx: SealContext, bytes: Uint8Array, what: string): CipherText {
  assertUncompressedSeal(bytes, what);
  const ct = ctx.seal.CipherText();
  try {
    ct.loadArray(ctx.context, bytes);
  } catch (error) {
    ct.delete();
    throw new MalformedDataError(what, `invalid ciphertext (${errorText(error)})`);
  }
  return ct;
}
