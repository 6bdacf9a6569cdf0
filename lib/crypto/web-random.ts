/**
 * Secure randomness through WebCrypto's getRandomValues, for code that must also run in a
 * browser (the sealed-index client draws its decoy leaves here). In Node it is node:crypto's
 * generator underneath; lib/core/random stays the source for owner-side code.
 */

/** getRandomValues fills at most 65,536 bytes per call. */
const MAX_RANDOM_CHUNK = 65_536;
const TWO_32 = 2 ** 32;

function source(): Crypto {
  const c = globalThis.crypto;
  if (typeof c?.getRandomValues !== 'function') throw new Error('WebCrypto (globalThis.crypto.getRandomValues) is not available');
  return c;
}

/** Cryptographically secure random bytes. */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += MAX_RANDOM_CHUNK) source().getRandomValues(out.subarray(at, Math.min(length, at + MAX_RANDOM_CHUNK)));
  return out;
}

const word = new Uint32Array(1);

/**
 * A uniform integer in [0, bound), 1 <= bound <= 2^32, by rejection sampling: u32 values at or
 * above the largest multiple of bound are redrawn, so no residue is more likely than another.
 */
export function randomInt(bound: number): number {
  if (!Number.isInteger(bound) || bound < 1 || bound > TWO_32) throw new RangeError('bound must be an integer from 1 to 2^32');
  const limit = TWO_32 - (TWO_32 % bound);
  for (;;) {
    source().getRandomValues(word);
    if (word[0] < limit) return word[0] % bound;
  }
}

/**
 * `count` distinct integers drawn uniformly from [0, n) without those in `exclude` (every
 * subset of that size equally likely), by a partial Fisher-Yates shuffle of the allowed values.
 */
export function sampleDistinct(n: number, count: number, exclude: ReadonlySet<number> = new Set()): number[] {
  const allowed: number[] = [];
  for (let i = 0; i < n; i++) if (!exclude.has(i)) allowed.push(i);
  if (!Number.isInteger(count) || count < 0 || count > allowed.length) {
    throw new RangeError(`cannot draw ${count} distinct values from ${allowed.length}`);
  }
  for (let i = 0; i < count; i++) {
    const j = i + randomInt(allowed.length - i);
    const t = allowed[i];
    allowed[i] = allowed[j];
    allowed[j] = t;
  }
  return allowed.slice(0, count);
}
