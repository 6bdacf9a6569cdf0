/**
 * Additive secret sharing of the blinded block sums (the bfv backend's replacement for
 * rotations). CS1 adds a plaintext mask whose slots are uniform mod t except that each
 * requested block's d slots sum to its offset b (mod t). After decryption, CS2 sums every block
 * mod t and gets exactly a * dist2 + b, while every single slot it sees is uniform: it learns
 * nothing about individual coordinates. Unrequested blocks get a fully uniform mask, so their
 * sums are uniform too. Plain-number arithmetic: t <= 2^52 keeps every sum of two residues exact.
 */
import { randomFillSync } from 'node:crypto';

export const MAX_PLAIN_MODULUS_BITS = 52;
const TWO_32 = 4294967296;

/** Uniform residues mod t from node:crypto, by rejection on bitLength(t) bits. */
export class ResidueSampler {
  private readonly hiMask: number;
  private readonly pool = new Uint32Array(4096);
  private at = this.pool.length;

  constructor(private readonly t: number) {
    const bits = Math.ceil(Math.log2(t + 1));
    this.hiMask = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
  }

  private u32(): number {
    if (this.at >= this.pool.length) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    return this.pool[this.at++];
  }

  next(): number {
    for (;;) {
      const lo = this.u32();
      const hi = this.hiMask === 0 ? 0 : this.u32() & this.hiMask;
      const v = hi * TWO_32 + lo;
      if (v < this.t) return v;
    }
  }
}

/** Writes a residue into slot i of a BigUint64Array through its u32 halves (no BigInt allocation). */
function put(words: Uint32Array, i: number, v: number): void {
  words[2 * i] = v % TWO_32;
  words[2 * i + 1] = Math.floor(v / TWO_32);
}

/**
 * The mask for one record: `slots` residues; block k (slots [k d, (k+1) d)) sums to offsets[k]
 * mod t when offsets[k] is a number, and is uniform when it is null. Slots past the last block
 * are uniform.
 */
export function blockMask(
  t: number,
  d: number,
  slots: number,
  offsets: readonly (number | null)[],
  sampler: ResidueSampler,
): BigUint64Array {
  const out = new BigUint64Array(slots);
  const words = new Uint32Array(out.buffer);
  for (let k = 0; k < offsets.length; k++) {
    const base = k * d;
    const offset = offsets[k];
    let sum = 0;
    const free = offset === null ? d : d - 1;
    for (let j = 0; j < free; j++) {
      const v = sampler.next();
      put(words, base + j, v);
      sum += v;
      if (sum >= t) sum -= t;
    }
    if (offset !== null) {
      const last = offset - sum;
      put(words, base + d - 1, last < 0 ? last + t : last);
    }
  }
  for (let i = offsets.length * d; i < slots; i++) put(words, i, sampler.next());
  return out;
}

/** Sums of `blocks` consecutive blocks of d residues mod t (CS2's step after decryption). */
export function blockSums(values: BigUint64Array, t: number, d: number, blocks: number): number[] {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  const sums = new Array<number>(blocks);
  for (let k = 0; k < blocks; k++) {
    let sum = 0;
    for (let j = k * d; j < (k + 1) * d; j++) {
      sum += words[2 * j + 1] * TWO_32 + words[2 * j];
      if (sum >= t) sum -= t;
    }
    sums[k] = sum;
  }
  return sums;
}
