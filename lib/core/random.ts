/**
 * Randomness. Everything that protects a secret (keys, permutations, gamma, nonces, blinding)
 * draws from node:crypto through {@link secureRandom}. {@link seededRandom} is a fast,
 * reproducible generator for synthetic benchmark and test data only: never for keys.
 */
import { randomBytes, randomInt } from 'node:crypto';

export interface RandomSource {
  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number;
  /** Uniform integer in [0, bound), bound <= 2^32. */
  int(bound: number): number;
  /** Standard normal deviate. */
  gaussian(): number;
}

const POOL_BYTES = 8192;

class CryptoRandom implements RandomSource {
  private pool = randomBytes(POOL_BYTES);
  private offset = 0;
  spare: number | undefined;

  private u32(): number {
    if (this.offset + 4 > this.pool.length) {
      this.pool = randomBytes(POOL_BYTES);
      this.offset = 0;
    }
    const v = this.pool.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  next(): number {
    // 53 bits: 27 high + 26 low, as in the classic genrand_res53.
    const a = this.u32() >>> 5;
    const b = this.u32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  int(bound: number): number {
    return randomInt(bound);
  }

  gaussian(): number {
    return gaussianFrom(this);
  }
}

/** Box-Muller with a cached spare deviate. */
function gaussianFrom(source: RandomSource & { spare?: number }): number {
  if (source.spare !== undefined) {
    const s = source.spare;
    source.spare = undefined;
    return s;
  }
  let u = 0;
  while (u === 0) u = source.next();
  const v = source.next();
  const radius = Math.sqrt(-2 * Math.log(u));
  source.spare = radius * Math.sin(2 * Math.PI * v);
  return radius * Math.cos(2 * Math.PI * v);
}

/** sfc32: small, fast, passes PractRand; seeded by splitmix32 so any integer seed works. */
class SeededRandom implements RandomSource {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  spare: number | undefined;

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  private u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    const a = this.u32() >>> 5;
    const b = this.u32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  gaussian(): number {
    return gaussianFrom(this);
  }
}

/** Cryptographically secure source (node:crypto). Use for every secret. */
export const secureRandom: RandomSource = new CryptoRandom();

/** Reproducible, NOT secure: synthetic data for tests and benchmarks. */
export function seededRandom(seed: number): RandomSource {
  return new SeededRandom(seed);
}

/** Uniform random permutation of 0..n-1 (Fisher-Yates). */
export function randomPermutation(n: number, random: RandomSource = secureRandom): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** In-place shuffle of an array (Fisher-Yates). */
export function shuffleInPlace<T>(items: T[], random: RandomSource = secureRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}
