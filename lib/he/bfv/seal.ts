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

/**
 * SEAL objects shared by every role whose key has the same shape (scheme, N, coefficient and
 * plain moduli): a context is immutable once built, and building one costs 0.3-1 s at N = 8192
 * (NTT tables, prime checks). Get one with acquireSealContext; each acquisition is released by
 * one dispose(), and the WASM memory is freed with the last.
 */
export class SealContext {
  readonly parms: EncryptionParameters;
  readonly context: Context;
  readonly encoder: BatchEncoder;
  /** Plain modulus t (a batching prime, <= 2^52). */
  readonly t: number;
  readonly slots: number;
  private disposed = false;
  /** Acquisitions not yet disposed. */
  private refs = 1;

  /** `onFree` runs when the last acquisition is disposed (the shared cache forgets the context). */
  constructor(
    readonly seal: SEALLibrary,
    readonly shape: SealShape,
    private readonly onFree?: () => void,
  ) {
    const parms = seal.EncryptionParameters(shape.scheme === 'bgv' ? seal.SchemeType.bgv : seal.SchemeType.bfv);
    try {
      parms.setPolyModulusDegree(shape.polyModulusDegree);
      const coeff = seal.CoeffModulus.Create(shape.polyModulusDegree, Int32Array.from(shape.coeffModulusBits));
      parms.setCoeffModulus(coeff);
      coeff.delete();
      const plain = seal.Modulus(plainModulusPrime(seal, shape));
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

  /** Shares this context once more (acquireSealContext). */
  retain(): this {
    this.live();
    this.refs++;
    return this;
  }

  /** Releases one acquisition; the last one frees the WASM objects. */
  dispose(): void {
    if (this.disposed) return;
    this.refs--;
    if (this.refs > 0) return;
    this.disposed = true;
    this.onFree?.();
    this.encoder.delete();
    this.context.delete();
    this.parms.delete();
  }
}

const shared = new Map<string, SealContext>();

function shapeKey(shape: SealShape): string {
  return `${shape.scheme}|${shape.polyModulusDegree}|${shape.coeffModulusBits.join(',')}|${shape.plainModulusBits}`;
}

/**
 * The process-wide context for a shape: built on first use (InvalidParametersError when SEAL
 * rejects it), shared afterwards; release each acquisition with dispose().
 */
export function acquireSealContext(seal: SEALLibrary, shape: SealShape): SealContext {
  const key = shapeKey(shape);
  const existing = shared.get(key);
  if (existing !== undefined) return existing.retain();
  const ctx = new SealContext(seal, shape, () => shared.delete(key));
  shared.set(key, ctx);
  return ctx;
}

/**
 * The batching plain modulus t for a shape: the largest prime of plainModulusBits bits with
 * t = 1 mod 2N that is NOT one of the coefficient primes. SEAL's PlainModulus.Batching(N, bits)
 * returns the largest such prime, which is exactly the prime CoeffModulus.Create picks for a
 * lone coefficient prime of the same size (e.g. t of 38 bits = the 38-bit special prime of
 * [60, 60, 60, 38]); SEAL then rejects the parameters, because t must be coprime to q. So
 * this asks SEAL for k + 1 primes of t's size (k coefficient primes have it) and keeps the
 * largest one not in use. When no coefficient prime has t's size this is Batching's t, so keys
 * made before this rule keep their t.
 */
export function plainModulusPrime(seal: SEALLibrary, shape: SealShape): bigint {
  const { polyModulusDegree: n, coeffModulusBits, plainModulusBits: bits } = shape;
  const taken = new Set<bigint>();
  const coeff = seal.CoeffModulus.Create(n, Int32Array.from(coeffModulusBits));
  try {
    for (const q of coeff.toArray() as BigUint64Array) taken.add(BigInt(q));
  } finally {
    coeff.delete();
  }
  const sameSize = coeffModulusBits.filter((b) => b === bits).length;
  const candidates = seal.CoeffModulus.Create(n, new Int32Array(sameSize + 1).fill(bits));
  try {
    const free = Array.from(candidates.toArray() as BigUint64Array, (q) => BigInt(q)).filter((q) => !taken.has(q));
    return free.reduce((a, b) => (b > a ? b : a));
  } finally {
    candidates.delete();
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

/** Whether a ciphertext is at the level `parmsId`. */
export function isAtLevel(ct: CipherText, parmsId: ParmsIdType): boolean {
  const id = ct.parmsId;
  try {
    return sameParmsId(id, parmsId);
  } finally {
    id.delete();
  }
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
