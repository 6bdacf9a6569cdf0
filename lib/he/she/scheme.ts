/**
 * The symmetric homomorphic encryption (SHE) of Mahdikhani et al., as used by the two-server
 * identification paper (docs/two-server-scheme.md):
 *   KeyGen(k0, k1, k2): k0-bit primes p, q; N = p q; k2-bit L. Secret (p, L), public N.
 *   Enc(m) = (r L + m)(1 + r' p) mod N, r of k2 bits, r' of k0 bits.
 *   Dec(c) = x if x < L/2 else x - L, where x = (c mod p) mod L.
 * A ciphertext is congruent mod p to its "noise integer" X = r L + m; additions and
 * multiplications act on X (mod N), and decryption is right as long as the final X stays in
 * [0, p) and its residue mod L, read as signed, is the message. The bounds are checked in
 * ./params before a key is made. See docs/threat-model.md: N and ONE ciphertext reveal p.
 */
import { generatePrimeSync } from 'node:crypto';
import { InvalidInputError } from '../../core/errors';
import { randomBits, randomExactBits } from '../random';

export interface SheSecretKey {
  readonly p: bigint;
  readonly q: bigint;
  readonly L: bigint;
  readonly N: bigint;
  readonly k0: number;
  readonly k2: number;
}

/** Public values a client needs: N, E(1) and several E(0). */
export interface SheEncryptionPublic {
  readonly N: bigint;
  readonly one: bigint;
  readonly zeros: readonly bigint[];
  readonly k2: number;
}

function exactPrime(bits: number): bigint {
  for (;;) {
    const prime = generatePrimeSync(bits, { bigint: true });
    if (prime.toString(2).length === bits) return prime;
  }
}

/** KeyGen(k0, k2): distinct k0-bit primes with N of exactly 2*k0 bits, and a k2-bit L. */
export function sheKeyGen(k0: number, k2: number): SheSecretKey {
  for (;;) {
    const p = exactPrime(k0);
    const q = exactPrime(k0);
    const N = p * q;
    if (p === q || N.toString(2).length !== 2 * k0) continue;
    return { p, q, L: randomExactBits(k2), N, k0, k2 };
  }
}

/** Reduces a (possibly negative) integer into [0, n). */
export function mod(value: bigint, n: bigint): bigint {
  const r = value % n;
  return r < 0n ? r + n : r;
}

/**
 * Enc(m) = (r L + m)(1 + r' p) mod N. r has exactly k2 bits (never 0, so r L + m > 0 for every
 * |m| < L and decryption of negative messages works); r' is uniform with k0 bits.
 */
export function sheEncrypt(key: SheSecretKey, m: bigint): bigint {
  const r = randomExactBits(key.k2);
  const rPrime = randomBits(key.k0);
  return mod((r * key.L + m) * (1n + rPrime * key.p), key.N);
}

/** Dec(c): x = (c mod p) mod L, signed: x if x < L/2 else x - L. */
export function sheDecrypt(key: Pick<SheSecretKey, 'p' | 'L'>, c: bigint): bigint {
  const x = (c % key.p) % key.L;
  return 2n * x < key.L ? x : x - key.L;
}

/**
 * E(m1) + E(m2) = E(m1 + m2).
 * @internal The scheme's rule, stated as a function so the tests check that Enc and Dec obey it;
 * not called at run time (the evaluator, ./evaluator.ts, computes a * sum (E(q) - E(t))^2 + b
 * inline with one reduction per vector).
 */
export function sheAdd(N: bigint, c1: bigint, c2: bigint): bigint {
  return (c1 + c2) % N;
}

/**
 * E(m1) - E(m2): its noise integer X1 - X2 is negative about half the time, and Dec needs a
 * non-negative one, so decrypt a difference only after squaring it (as the distance does).
 * @internal The scheme's rule, stated as a function so the tests check that Enc and Dec obey it;
 * not called at run time (the evaluator, ./evaluator.ts, computes a * sum (E(q) - E(t))^2 + b
 * inline with one reduction per vector).
 */
export function sheSub(N: bigint, c1: bigint, c2: bigint): bigint {
  return mod(c1 - c2, N);
}

/**
 * E(m1) + m2 = E(m1 + m2).
 * @internal The scheme's rule, stated as a function so the tests check that Enc and Dec obey it;
 * not called at run time (the evaluator, ./evaluator.ts, computes a * sum (E(q) - E(t))^2 + b
 * inline with one reduction per vector).
 */
export function sheAddPlain(N: bigint, c: bigint, m: bigint): bigint {
  return mod(c + m, N);
}

/**
 * E(m1) * m2 = E(m1 m2) for a positive plaintext m2.
 * @internal The scheme's rule, stated as a function so the tests check that Enc and Dec obey it;
 * not called at run time (the evaluator, ./evaluator.ts, computes a * sum (E(q) - E(t))^2 + b
 * inline with one reduction per vector).
 */
export function sheMulPlain(N: bigint, c: bigint, m: bigint): bigint {
  if (m <= 0n) throw new InvalidInputError('SHE: plaintext multiplier must be positive');
  return (c * m) % N;
}

/**
 * E(m1) * E(m2) = E(m1 m2) while the product of noise integers stays below p.
 * @internal The scheme's rule, stated as a function so the tests check that Enc and Dec obey it;
 * not called at run time (the evaluator, ./evaluator.ts, computes a * sum (E(q) - E(t))^2 + b
 * inline with one reduction per vector).
 */
export function sheMul(N: bigint, c1: bigint, c2: bigint): bigint {
  return (c1 * c2) % N;
}

/**
 * The clients' "public-key" encryption: m E(1) + sum_i r_i E_i(0) mod N with fresh k2-bit r_i
 * (the paper's two plaintext-ciphertext multiplications per dimension when two E(0) are
 * published). The noise integer is m X_1 + sum_i r_i X_{0,i} with the top bit of every r_i set,
 * so it is positive for |m| < 2^(k2 - 2) and the ciphertext decrypts to m.
 */
export function sheEncryptPublic(pub: SheEncryptionPublic, m: bigint): bigint {
  let acc = mod(m, pub.N) * pub.one;
  for (const zero of pub.zeros) acc += randomExactBits(pub.k2) * zero;
  return acc % pub.N;
}
