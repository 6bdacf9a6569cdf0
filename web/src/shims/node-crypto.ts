/**
 * node:crypto's two random functions that lib/core/random.ts uses, for the page's bundle
 * (vite.config.ts aliases node:crypto here): the browser's WebCrypto generator, the same kind
 * of source (a CSPRNG) the CLI draws from. Buffer comes from the `buffer` package because
 * lib/core/random reads the pool with readUInt32LE.
 */
import { Buffer } from 'buffer';

const MAX_CHUNK = 65_536;
const TWO_32 = 2 ** 32;

export function randomBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += MAX_CHUNK) globalThis.crypto.getRandomValues(out.subarray(at, Math.min(length, at + MAX_CHUNK)));
  return out;
}

const word = new Uint32Array(1);

/** Uniform integer in [0, bound) by rejection sampling, as node:crypto's randomInt(max). */
export function randomInt(bound: number): number {
  if (!Number.isSafeInteger(bound) || bound < 1 || bound > TWO_32) throw new RangeError(`randomInt bound must be an integer from 1 to 2^32, got ${bound}`);
  const limit = TWO_32 - (TWO_32 % bound);
  for (;;) {
    globalThis.crypto.getRandomValues(word);
    if (word[0] < limit) return word[0] % bound;
  }
}
