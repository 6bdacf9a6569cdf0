/**
 * Parameter resolution and the static bounds of the bfv backend. The dynamic bound (noise) is
 * MEASURED at key generation on a worst-case computation (see ./backend: noise trial), because
 * SEAL's invariant noise budget is the reliable number, not a formula.
 * - plain modulus bound: t > a_max * dist2_max + b_max, so the block sum mod t IS the value;
 * - t <= 2^52 (exact plain-number share arithmetic, ./mask);
 * - security: total coefficient-modulus bits <= SEAL's 128-bit maximum for N.
 */
import { InvalidParametersError } from '../../core/errors';
import { blindedMaxOf, log2Text, validateVectorBounds } from '../common';
import type { BfvParameters } from '../types';
import { MAX_PLAIN_MODULUS_BITS } from './mask';

/** Below this many bits of invariant noise budget after the whole distance computation, a level is unsafe. */
export const BFV_MIN_NOISE_BUDGET = 12;

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

export interface BfvResolvedParameters extends BfvParameters {
  readonly scheme: 'bgv' | 'bfv';
  readonly polyModulusDegree: number;
  readonly plainModulusBits: number;
  readonly coeffModulusBits: readonly number[];
}

/** Bits t needs so that every t >= 2^(bits-1) exceeds a_max * dist2_max + b_max. */
export function requiredPlainModulusBits(params: BfvParameters): number {
  return blindedMaxOf(params).toString(2).length + 1;
}

export function resolveBfvParameters(params: BfvParameters): BfvResolvedParameters {
  validateVectorBounds(params);
  const scheme = params.scheme ?? 'bgv';
  if (scheme !== 'bgv' && scheme !== 'bfv') throw new InvalidParametersError(`bfv parameters: scheme must be 'bgv' or 'bfv'`);
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
      `bfv plain modulus bound: a_max*dist2_max + b_max ~ 2^${log2Text(blindedMaxOf(params))} needs t of >= ${needed} bits, ` +
        `got ${tBits}; increase plainModulusBits or decrease aBits/bBits`,
    );
  }
  if (tBits > MAX_PLAIN_MODULUS_BITS) {
    throw new InvalidParametersError(
      `bfv plain modulus bound: t needs ${tBits} bits > ${MAX_PLAIN_MODULUS_BITS} supported ` +
        `(a_max*dist2_max + b_max ~ 2^${log2Text(blindedMaxOf(params))}); decrease aBits/bBits`,
    );
  }
  return { ...params, scheme, polyModulusDegree: n, plainModulusBits: tBits, coeffModulusBits: [...coeff] };
}
