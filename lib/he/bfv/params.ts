/**
 * Parameter resolution and the static bounds of the bfv backend. The dynamic bound (noise) is
 * MEASURED at key generation on a worst-case computation (see ./backend: noise trial), because
 * SEAL's invariant noise budget is the reliable number, not a formula.
 * - plain modulus bound: t > a_max * dist2_max + b_max, so the block sum mod t, minus b mod t,
 *   IS a * dist2 (the exactness of unblinding, with b any residue mod t);
 * - t <= 2^52 (exact plain-number share arithmetic, ./mask), t >= 2^(MIN_PLAIN_MODULUS_BITS-1)
 *   (SEAL finds batching primes t = 1 mod 2N from about 2N on);
 * - security: total coefficient-modulus bits <= SEAL's 128-bit maximum for N.
 */
import { InvalidParametersError } from '../../core/errors';
import { DEFAULT_A_BITS } from '../blinding';
import { blindedMaxOf, log2Text, validateVectorBounds } from '../bounds';
import type { BfvParameters, HeResolvedBounds } from '../types';
import { MAX_PLAIN_MODULUS_BITS } from './mask';

/** Below this many bits of invariant noise budget after the whole distance computation, a level is unsafe. */
export const BFV_MIN_NOISE_BUDGET = 12;

/**
 * Smallest plain modulus we ask SEAL for: batching needs a prime t = 1 mod 2N, and for
 * N <= 32768 such primes exist from 20 bits on (SEAL's own examples use 20).
 */
export const MIN_PLAIN_MODULUS_BITS = 20;

/** Default offset size: bfv offsets are residues mod t (see HeVectorBounds.bBits). */
export const BFV_DEFAULT_B_BITS = 0;

/** Largest total coefficient-modulus bits for 128-bit security (HE standard, as in SEAL). */
const MAX_COEFF_BITS_128: Readonly<Record<number, number>> = { 4096: 109, 8192: 218, 16384: 438, 32768: 881 };

/**
 * Default chains: one special prime last, large data primes first. For N = 8192, [60, 60, 60 | 38]
 * uses the full 218-bit budget and measured the largest noise budget after one squaring.
 */
const DEFAULT_COEFF_BITS: Readonly<Record<number, readonly number[]>> = {
  4096: [36, 36, 37],
  8192: [60, 60, 60, 38],
  16384: [60, 60, 60, 60, 60, 60, 60, 58],
  32768: [60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 41],
};

export interface BfvResolvedParameters extends Omit<BfvParameters, 'aBits' | 'bBits'>, HeResolvedBounds {
  readonly scheme: 'bgv' | 'bfv';
  readonly polyModulusDegree: number;
  readonly plainModulusBits: number;
  readonly coeffModulusBits: readonly number[];
  readonly relinearize: boolean | 'auto';
}

/** The blinding sizes with their bfv defaults filled in. */
export function bfvBlindingBits(params: BfvParameters): { aBits: number; bBits: number } {
  return { aBits: params.aBits ?? DEFAULT_A_BITS, bBits: params.bBits ?? BFV_DEFAULT_B_BITS };
}

/** Bits t needs so that every t >= 2^(bits-1) exceeds a_max * dist2_max + b_max. */
export function requiredPlainModulusBits(params: BfvParameters): number {
  const bounds = { ...params, ...bfvBlindingBits(params) };
  return Math.max(MIN_PLAIN_MODULUS_BITS, blindedMaxOf(bounds).toString(2).length + 1);
}

export function resolveBfvParameters(params: BfvParameters): BfvResolvedParameters {
  if (params === null || typeof params !== 'object') throw new InvalidParametersError('HE parameters: an object is required');
  const bounds = { ...params, ...bfvBlindingBits(params) };
  validateVectorBounds(bounds);
  const scheme = params.scheme ?? 'bgv';
  if (scheme !== 'bgv' && scheme !== 'bfv') throw new InvalidParametersError(`bfv parameters: scheme must be 'bgv' or 'bfv'`);
  const relinearize = params.relinearize ?? 'auto';
  if (relinearize !== true && relinearize !== false && relinearize !== 'auto') {
    throw new InvalidParametersError(`bfv parameters: relinearize must be true, false or 'auto'`);
  }
  const n = params.polyModulusDegree ?? 8192;
  if (!(n in MAX_COEFF_BITS_128)) {
    throw new InvalidParametersError(`bfv parameters: polyModulusDegree = ${n} must be one of 4096, 8192, 16384, 32768`);
  }
  if (params.d > n) {
    throw new InvalidParametersError(`bfv slot bound: d = ${params.d} > N = ${n} slots; increase polyModulusDegree`);
  }
  const coeff = params.coeffModulusBits ?? DEFAULT_COEFF_BITS[n];
  if (!Array.isArray(coeff) || coeff.length < 2 || coeff.some((b) => !Number.isInteger(b) || b < 20 || b > 60)) {
    throw new InvalidParametersError('bfv parameters: coeffModulusBits must list >= 2 prime sizes in [20, 60] bits');
  }
  const total = coeff.reduce((s, b) => s + b, 0);
  if (total > MAX_COEFF_BITS_128[n]) {
    throw new InvalidParametersError(
      `bfv security bound: coefficient modulus of ${total} bits > ${MAX_COEFF_BITS_128[n]} allowed for 128-bit security at N = ${n}; ` +
        'remove primes or increase polyModulusDegree',
    );
  }
  const needed = requiredPlainModulusBits(params);
  const tBits = params.plainModulusBits ?? needed;
  if (!Number.isInteger(tBits) || tBits < needed) {
    throw new InvalidParametersError(
      `bfv plain modulus bound: a_max*dist2_max + b_max ~ 2^${log2Text(blindedMaxOf(bounds))} needs t of >= ${needed} bits, ` +
        `got ${tBits}; increase plainModulusBits or decrease aBits/bBits`,
    );
  }
  if (tBits > MAX_PLAIN_MODULUS_BITS) {
    throw new InvalidParametersError(
      `bfv plain modulus bound: t needs ${tBits} bits > ${MAX_PLAIN_MODULUS_BITS} supported ` +
        `(a_max*dist2_max + b_max ~ 2^${log2Text(blindedMaxOf(bounds))}); decrease aBits/bBits or maxAbs`,
    );
  }
  return { ...bounds, scheme, polyModulusDegree: n, plainModulusBits: tBits, coeffModulusBits: [...coeff], relinearize };
}
