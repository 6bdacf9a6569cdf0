import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError, MalformedDataError } from '../../../lib/core/errors';
import {
  mod,
  sheAdd,
  sheAddPlain,
  sheDecrypt,
  sheEncrypt,
  sheEncryptPublic,
  sheKeyGen,
  sheMul,
  sheMulPlain,
  sheSub,
} from '../../../lib/he/she/scheme';
import { sheNoiseBounds, validateSheParameters } from '../../../lib/he/she/params';
import { blindingLeakage } from '../../../lib/he/blinding';
import { loadSheClient } from '../../../lib/he/she/client';
import { loadSheDecryptor } from '../../../lib/he/she/decryptor';
import { loadSheEvaluator } from '../../../lib/he/she/evaluator';
import { sheCiphertextBytes, sheRecordBytes } from '../../../lib/he/she/formats';
import { createSheProvider } from '../../../lib/he/she/provider';
import type { SheParameters } from '../../../lib/he/types';

const key = sheKeyGen(256, 40);
const N = key.N;
const enc = (m: bigint): bigint => sheEncrypt(key, m);
const dec = (c: bigint): bigint => sheDecrypt(key, c);
// Inputs are k1-bit signed messages (k1 = 20 here).
const limit = (1n << 19n) - 1n;

describe('SHE KeyGen', () => {
  it('makes distinct k0-bit primes, a 2*k0-bit N and a k2-bit L', () => {
    expect(key.p).not.toBe(key.q);
    expect(key.p.toString(2).length).toBe(256);
    expect(key.q.toString(2).length).toBe(256);
    expect(N.toString(2).length).toBe(512);
    expect(key.L.toString(2).length).toBe(40);
  });
});

describe('SHE Enc/Dec', () => {
  it('round-trips negative, zero and positive values up to the message bound', () => {
    for (const m of [0n, 1n, -1n, limit, -limit, 12345n, -999n, (key.L - 1n) / 2n, -(key.L - 1n) / 2n]) {
      expect(dec(enc(m))).toBe(m);
    }
  });

  it('is randomised: two encryptions of one message differ', () => {
    expect(enc(5n)).not.toBe(enc(5n));
  });
});

describe('SHE homomorphic rules', () => {
  const a = -4321n;
  const b = 98765n;

  it('adds and subtracts ciphertexts', () => {
    expect(dec(sheAdd(N, enc(a), enc(b)))).toBe(a + b);
    expect(dec(sheAdd(N, enc(-limit), enc(-limit)))).toBe(-2n * limit);
    // The noise integer of a difference can be negative; squaring THE SAME difference makes it
    // positive again (the distance computation relies on this).
    for (let i = 0; i < 20; i++) {
      const diff = sheSub(N, enc(a), enc(b));
      expect(dec(sheMul(N, diff, diff))).toBe((a - b) ** 2n);
    }
  });

  it('adds a plaintext', () => {
    expect(dec(sheAddPlain(N, enc(a), b))).toBe(a + b);
    expect(dec(sheAddPlain(N, enc(a), -b))).toBe(a - b);
  });

  it('multiplies by a positive plaintext and rejects non-positive ones', () => {
    expect(dec(sheMulPlain(N, enc(a), 1000n))).toBe(a * 1000n);
    expect(() => sheMulPlain(N, enc(a), 0n)).toThrow(InvalidInputError);
  });

  it('multiplies ciphertexts (one level) and signs come out right', () => {
    expect(dec(sheMul(N, enc(a), enc(b)))).toBe(a * b);
    expect(dec(sheMul(N, enc(-limit), enc(limit)))).toBe(-limit * limit);
    expect(dec(sheMul(N, enc(0n), enc(b)))).toBe(0n);
  });

  it('fails (wrong value) once the noise integer exceeds p: the bound is real', () => {
    // Four multiplications of ~80-bit noise integers exceed a 256-bit p.
    let c = enc(3n);
    for (let i = 0; i < 4; i++) c = sheMul(N, c, enc(3n));
    expect(dec(c)).not.toBe(243n);
  });

  it('mod reduces negatives into [0, n)', () => {
    expect(mod(-1n, 7n)).toBe(6n);
    expect(mod(14n, 7n)).toBe(0n);
  });
});

describe('SHE client encryption from public E(0)/E(1)', () => {
  it('m*E(1) + sum r_i E_i(0) decrypts to m, for negative values too', () => {
    const pub = { N, one: enc(1n), zeros: [enc(0n), enc(0n)], k2: key.k2 };
    for (const m of [0n, 7n, -7n, limit, -limit]) expect(dec(sheEncryptPublic(pub, m))).toBe(m);
    const c1 = sheEncryptPublic(pub, 9n);
    expect(dec(sheMul(N, c1, enc(-11n)))).toBe(-99n);
    expect(sheEncryptPublic(pub, 9n)).not.toBe(c1);
  });
});

describe('SHE parameter validation', () => {
  const base: SheParameters = { k0: 1024, k1: 30, k2: 80, d: 512, maxAbs: 1000, aBits: 16, bBits: 40 };

  it('accepts the paper parameters (1024, 30, 80) at d = 512 with margin', () => {
    const resolved = validateSheParameters(base);
    const bounds = sheNoiseBounds(resolved);
    expect(bounds.distance < 1n << 1023n).toBe(true);
    expect(bounds.message < 1n << 78n).toBe(true);
  });

  it('defaults: aBits 4 and the largest offset the message bound L/2 allows (paper sizes: bBits 77, ~42 bits hidden)', () => {
    const { aBits: _a, bBits: _b, ...bare } = base;
    const resolved = validateSheParameters(bare);
    expect(resolved.aBits).toBe(4);
    expect(resolved.bBits).toBe(77);
    // Exact and tight: one more offset bit crosses L/2.
    expect(sheNoiseBounds(resolved).message < 1n << 78n).toBe(true);
    expect(() => validateSheParameters({ ...bare, bBits: 78 })).toThrow(/message bound/);
    expect(blindingLeakage({ ...resolved, dist2Max: 512 * 2000 ** 2 }).hiddenBits).toBeGreaterThan(42);
    // Small k2 leaves less room: k2 = 56 at d = 8 (the protocol test's key) gives bBits 53.
    expect(validateSheParameters({ k0: 384, k1: 12, k2: 56, d: 8, maxAbs: 999 }).bBits).toBe(53);
    // When nothing fits, the message bound names the problem.
    expect(() => validateSheParameters({ ...bare, k2: 34 })).toThrow(/message bound/);
  });

  it('names the noise bound when the distance noise would overflow p', () => {
    // k2 = 80 still fits 512-bit primes (~2^507 < 2^511); k2 = 84 does not (~2^531).
    expect(() => validateSheParameters({ ...base, k0: 512, k2: 80 })).not.toThrow();
    expect(() => validateSheParameters({ ...base, k0: 512, k2: 84 })).toThrow(/noise bound: 2\^\d+\.\d >= p ~ 2\^511 .*increase k0 or decrease k2/);
    expect(() => validateSheParameters({ ...base, k0: 512, k2: 84 })).toThrow(InvalidParametersError);
  });

  it('names the message bound when a_max * dist2_max + b_max reaches L/2', () => {
    expect(() => validateSheParameters({ ...base, aBits: 48 })).toThrow(/message bound: .* >= L\/2 ~ 2\^78/);
    expect(() => validateSheParameters({ ...base, k2: 40, aBits: 1, bBits: 38 })).toThrow(/message bound: .* >= L\/2 ~ 2\^38/);
    expect(() => validateSheParameters({ ...base, k2: 40, aBits: 1, bBits: 36 })).not.toThrow();
  });

  it('names the message space, ordering and blinding bounds', () => {
    expect(() => validateSheParameters({ ...base, k1: 10 })).toThrow(/message space: maxAbs = 1000 >= 2\^\(k1-1\)/);
    expect(() => validateSheParameters({ ...base, k1: 90 })).toThrow(/k1 = 90/);
    expect(() => validateSheParameters({ ...base, k2: 1024 })).toThrow(/k2 = 1024/);
    expect(() => validateSheParameters({ ...base, aBits: 0 })).toThrow(/aBits/);
    expect(() => validateSheParameters({ ...base, d: 0 })).toThrow(/d = 0/);
    expect(() => validateSheParameters({ ...base, maxAbs: 2.5 })).toThrow(/maxAbs/);
    expect(() => validateSheParameters({ ...base, publicZeros: 1 })).toThrow(/publicZeros/);
  });

  it('the noise bound is tight enough to matter: one bit less k0 than needed is rejected', () => {
    const small: SheParameters = { k0: 256, k1: 12, k2: 40, d: 16, maxAbs: 1000, aBits: 8, bBits: 16 };
    const bits = sheNoiseBounds(validateSheParameters(small)).distance.toString(2).length;
    expect(bits).toBeLessThanOrEqual(255);
    expect(() => validateSheParameters({ ...small, k0: bits })).toThrow(/noise bound/);
    expect(() => validateSheParameters({ ...small, k0: bits + 1 })).not.toThrow();
  });
});

describe('SHE fixed-size encodings', () => {
  const params: SheParameters = { k0: 256, k1: 12, k2: 40, d: 4, maxAbs: 1000, aBits: 8, bBits: 16 };
  const provider = createSheProvider(params);

  it('records are 14 + d * ceil(2 k0 / 8) bytes', () => {
    expect(sheCiphertextBytes(256)).toBe(64);
    expect(sheRecordBytes(256, 4)).toBe(14 + 4 * 64);
    expect(provider.descriptor.recordBytes).toBe(sheRecordBytes(256, 4));
  });

  it('material decoders reject truncation, trailing bytes, wrong magic, wrong version and bad values', () => {
    const materials: [Uint8Array, (b: Uint8Array) => unknown][] = [
      [provider.exportPublic(), loadSheClient],
      [provider.exportEvaluation(), loadSheEvaluator],
      [provider.exportSecret(), loadSheDecryptor],
    ];
    for (const [bytes, load] of materials) {
      expect(() => load(bytes)).not.toThrow();
      expect(() => load(bytes.subarray(0, bytes.length - 1))).toThrow(MalformedDataError);
      expect(() => load(Uint8Array.from([...bytes, 0]))).toThrow(MalformedDataError);
      const magic = bytes.slice();
      magic[3] ^= 0x01;
      expect(() => load(magic)).toThrow(MalformedDataError);
      const version = bytes.slice();
      version[4] = 2;
      expect(() => load(version)).toThrow(MalformedDataError);
      // k0 field (after magic, version, key id) changed: parameters no longer consistent with N.
      const k0 = bytes.slice();
      k0[14] = 0;
      k0[15] = 0;
      expect(() => load(k0)).toThrow(MalformedDataError);
    }
    // Secret: p replaced by garbage is not a factor of N.
    const secret = provider.exportSecret();
    const badP = secret.slice();
    badP[secret.length - 5 - 32] ^= 0x01;
    expect(() => loadSheDecryptor(badP)).toThrow(MalformedDataError);
  });
});
