/**
 * Up-front validation of SHE parameters for the squared-distance computation. Every bound is a
 * worst case computed exactly with bigints, so a key is only made when EVERY query against
 * EVERY stored vector decrypts correctly:
 * - message bound: a_max * dist2_max + b_max < 2^(k2-2) <= L/2 (signed decoding),
 * - noise bound: a_max * d * (X_q + X_t)^2 + b_max < 2^(k0-1) <= p, where X_t (provider
 *   encryption) and X_q (client encryption from the public E(1), E(0)) bound the noise integers.
 */
import { InvalidParametersError } from '../../core/errors';
import { DEFAULT_A_BITS } from '../blinding';
import { blindedMaxOf, dist2MaxOf, log2Text, validateDimensionBounds, validateVectorBounds } from '../bounds';
import type { HeResolvedBounds, SheParameters } from '../types';

export const SHE_DEFAULT_PUBLIC_ZEROS = 2;

/** Parameters with defaults filled in. */
export interface SheResolvedParameters extends Omit<SheParameters, 'aBits' | 'bBits'>, HeResolvedBounds {
  readonly publicZeros: number;
}

/**
 * Default offset size: the largest bBits with a_max * dist2_max + (2^bBits - 1) < 2^(k2-2)
 * (the message bound), capped at 255. A per-value offset then hides each distance up to a
 * statistical distance a_max * dist2_max / 2^bBits (blindingLeakage): at the paper's k2 = 80,
 * d = 512, maxAbs = 999 and aBits = 4, about 2^-42. Returns 0 when even b = 0 does not fit (the
 * message-bound check then names the problem).
 */
export function sheDefaultBBits(params: { d: number; maxAbs: number; aBits: number; k2: number }): number {
  const aMax = (1n << BigInt(params.aBits)) - 1n;
  const room = (1n << BigInt(params.k2 - 2)) - aMax * BigInt(dist2MaxOf(params));
  if (room < 2n) return 0;
  return Math.min(255, room.toString(2).length - 1);
}

export interface SheNoiseBounds {
  /** Largest noise integer of a provider ciphertext: r L + m. */
  readonly template: bigint;
  /** Largest |noise integer| of a client ciphertext: |m| X_1 + sum r_i X_0i. */
  readonly query: bigint;
  /** Largest noise integer of a blinded distance: a (sum_j (X_q - X_t)^2) + b. */
  readonly distance: bigint;
  /** Largest blinded plaintext: a_max * dist2_max + b_max. */
  readonly message: bigint;
}

export function sheNoiseBounds(params: SheResolvedParameters): SheNoiseBounds {
  const max = (1n << BigInt(params.k2)) - 1n; // r < 2^k2 and L < 2^k2
  const maxAbs = BigInt(params.maxAbs);
  const template = max * max + maxAbs;
  const one = max * max + 1n;
  const zero = max * max;
  const query = maxAbs * one + BigInt(params.publicZeros) * max * zero;
  const diff = query + template;
  const aMax = (1n << BigInt(params.aBits)) - 1n;
  const bMax = (1n << BigInt(params.bBits)) - 1n;
  const distance = aMax * BigInt(params.d) * diff * diff + bMax;
  return { template, query, distance, message: blindedMaxOf(params) };
}

function checkInteger(name: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new InvalidParametersError(`SHE parameters: ${name} = ${String(value)} must be an integer in [${min}, ${max}]`);
  }
}

/** Throws InvalidParametersError naming the failing bound; returns the resolved parameters. */
export function validateSheParameters(params: SheParameters): SheResolvedParameters {
  validateDimensionBounds(params);
  checkInteger('k0', params.k0, 64, 4096);
  checkInteger('k2', params.k2, 8, params.k0 - 1);
  checkInteger('k1', params.k1, 2, params.k2 - 1);
  const publicZeros = params.publicZeros ?? SHE_DEFAULT_PUBLIC_ZEROS;
  checkInteger('publicZeros', publicZeros, 2, 64);
  const aBits = params.aBits ?? DEFAULT_A_BITS;
  checkInteger('aBits', aBits, 1, 255);
  const bBits = params.bBits ?? sheDefaultBBits({ d: params.d, maxAbs: params.maxAbs, aBits, k2: params.k2 });
  const resolved: SheResolvedParameters = { ...params, aBits, bBits, publicZeros };
  validateVectorBounds(resolved);
  const shape = `d=${params.d}, maxAbs=${params.maxAbs}, aBits=${aBits}, bBits=${bBits}`;

  if (params.maxAbs >= 2 ** (params.k1 - 1)) {
    throw new InvalidParametersError(
      `SHE message space: maxAbs = ${params.maxAbs} >= 2^(k1-1) = 2^${params.k1 - 1}; increase k1 or decrease maxAbs`,
    );
  }
  const bounds = sheNoiseBounds(resolved);
  if (bounds.message >= 1n << BigInt(params.k2 - 2)) {
    throw new InvalidParametersError(
      `SHE message bound: a_max*dist2_max + b_max ~ 2^${log2Text(bounds.message)} >= L/2 ~ 2^${params.k2 - 2} ` +
        `(dist2_max = ${dist2MaxOf(params)}, ${shape}); increase k2 or decrease aBits/bBits`,
    );
  }
  if (bounds.distance >= 1n << BigInt(params.k0 - 1)) {
    throw new InvalidParametersError(
      `SHE noise bound: 2^${log2Text(bounds.distance)} >= p ~ 2^${params.k0 - 1} for ${shape}, ` +
        `publicZeros=${publicZeros}; increase k0 or decrease k2`,
    );
  }
  return resolved;
}
