/**
 * Secret big-integer randomness for the HE backends: uniform bigints from node:crypto (the same
 * CSPRNG as lib/core/random's secureRandom, read in bulk because SHE draws ~2^11 random bits per
 * ciphertext and a template has d = 512 ciphertexts).
 */
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 64 * 1024;
let pool = randomBytes(POOL_BYTES);
let offset = 0;

function take(count: number): Uint8Array {
  if (count > POOL_BYTES) return randomBytes(count);
  if (offset + count > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + count);
  offset += count;
  return out;
}

/** Big-endian bytes to a non-negative bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, '0');
  return hex.length === 0 ? 0n : BigInt(`0x${hex}`);
}

/** Uniform in [0, 2^bits). */
export function randomBits(bits: number): bigint {
  if (bits <= 0) return 0n;
  const bytes = take(Math.ceil(bits / 8));
  const excess = BigInt(bytes.length * 8 - bits);
  return bytesToBigInt(bytes) >> excess;
}

/** Uniform with exactly `bits` bits (top bit set), as KeyGen's "random k2-bit L". */
export function randomExactBits(bits: number): bigint {
  if (bits <= 0) throw new RangeError('bits must be positive');
  return (1n << BigInt(bits - 1)) | randomBits(bits - 1);
}

/** Uniform in [0, bound) by rejection sampling (bound >= 1). */
export function randomBigIntBelow(bound: bigint): bigint {
  if (bound <= 0n) throw new RangeError('bound must be positive');
  if (bound === 1n) return 0n;
  const bits = (bound - 1n).toString(2).length;
  for (;;) {
    const candidate = randomBits(bits);
    if (candidate < bound) return candidate;
  }
}
