/** Binary formats of SEI key material: round trips and rejection of every kind of damage. */
import { describe, expect, it } from 'vitest';
import { MalformedDataError } from '../../../lib/core/errors';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import {
  decodeOwnerSecret,
  decodeUserKey,
  decodeUserSecret,
  encodeOwnerSecret,
  encodeUserKey,
  encodeUserSecret,
} from '../../../lib/sei/key-formats';
import { generateOwnerSecret, ownerSecretFromValues } from '../../../lib/sei/owner-key';
import { encryptedDimension } from '../../../lib/sei/types';
import { generateUserSecret, issueUserKey } from '../../../lib/sei/user-key';

const d = 3;
const m = encryptedDimension(d);
const owner = generateOwnerSecret(d);
const userSecret = generateUserSecret(d);
const userKey = issueUserKey(owner, userSecret.W);

const ownerBytes = encodeOwnerSecret(owner);
const userKeyBytes = encodeUserKey(userKey);
const userSecretBytes = encodeUserSecret(userSecret);

/** Byte offsets of the fields (see the layout in key-formats.ts). */
const HEADER = 6;
const D_FIELD = HEADER;
const KEY_ID_LENGTH = D_FIELD + 4;
const KEY_ID = KEY_ID_LENGTH + 2;
const L = owner.keyId.length;
const OWNER = {
  theta: KEY_ID + L,
  M: KEY_ID + L + 8,
  Minv: KEY_ID + L + 8 + 8 * m * m,
  r: KEY_ID + L + 8 + 16 * m * m,
  S: KEY_ID + L + 8 + 16 * m * m + 8 * (d + 1),
  X: KEY_ID + L + 8 + 16 * m * m + 16 * (d + 1),
  pi: KEY_ID + L + 8 + 16 * m * m + 24 * (d + 1),
};
const USER_KEY = { Abar: KEY_ID + L, U: KEY_ID + L + 8 * m * d };
const USER_SECRET = { W: D_FIELD + 4 };

function malformed(decode: () => unknown, pattern?: RegExp): void {
  let caught: unknown;
  try {
    decode();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MalformedDataError);
  if (pattern) expect((caught as Error).message).toMatch(pattern);
}

function withF64(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setFloat64(offset, value, true);
  return copy;
}

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

function withU16(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint16(offset, value, true);
  return copy;
}

const formats = [
  { name: 'owner secret', bytes: ownerBytes, decode: decodeOwnerSecret, magic: 'BSOK' },
  { name: 'user key', bytes: userKeyBytes, decode: decodeUserKey, magic: 'BSUK' },
  { name: 'user secret', bytes: userSecretBytes, decode: decodeUserSecret, magic: 'BSUS' },
] as const;

describe('SEI key formats: round trips', () => {
  it('owner secret round-trips bit for bit and still encrypts identically', () => {
    expect(new TextDecoder().decode(ownerBytes.subarray(0, 4))).toBe('BSOK');
    const decoded = decodeOwnerSecret(ownerBytes);
    expect(decoded).toEqual(owner);
    expect(encodeOwnerSecret(decoded)).toEqual(ownerBytes);
    const f = [0.3, -1.2, 2.5];
    expect(encryptIndexVector(decoded, f)).toEqual(encryptIndexVector(owner, f));
  });

  it('user key and user secret round-trip', () => {
    expect(decodeUserKey(userKeyBytes)).toEqual(userKey);
    expect(encodeUserKey(decodeUserKey(userKeyBytes))).toEqual(userKeyBytes);
    expect(decodeUserSecret(userSecretBytes)).toEqual(userSecret);
    expect(encodeUserSecret(decodeUserSecret(userSecretBytes))).toEqual(userSecretBytes);
  });

  it('a d = 128 owner secret round-trips (Minv verified on load)', () => {
    const big = generateOwnerSecret(128);
    const decoded = decodeOwnerSecret(encodeOwnerSecret(big));
    expect(decoded.Minv).toEqual(big.Minv);
    expect(decoded.pi).toEqual(big.pi);
  });

  it('an explicit owner secret with an integer M round-trips', () => {
    const explicit = ownerSecretFromValues({
      d: 1,
      M: [2, 0, 1, 0, 1, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 1],
      r: [1, 2],
      S: [3, 4],
      pi: [1, 0],
      theta: 0.5,
      X: [5, 6],
    });
    expect(decodeOwnerSecret(encodeOwnerSecret(explicit))).toEqual(explicit);
  });
});

describe.each(formats)('SEI key formats: $name rejects damage', ({ bytes, decode, magic }) => {
  it('rejects every truncation and any trailing byte', () => {
    for (let length = 0; length < bytes.length; length++) malformed(() => decode(bytes.subarray(0, length)));
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    malformed(() => decode(longer), /length|trailing/);
  });

  it('rejects a wrong magic, another format, and an unknown version', () => {
    const wrongMagic = bytes.slice();
    wrongMagic[0] ^= 0x20;
    malformed(() => decode(wrongMagic), /bad magic/);
    for (const other of formats) {
      if (other.magic !== magic) malformed(() => decode(other.bytes), /bad magic/);
    }
    malformed(() => decode(withU16(bytes, 4, 2)), /unsupported version 2/);
    malformed(() => decode(withU16(bytes, 4, 0)), /unsupported version 0/);
  });

  it('rejects a d inconsistent with the length, d = 0 and an absurd d', () => {
    malformed(() => decode(withU32(bytes, D_FIELD, d + 1)), /length does not match/);
    malformed(() => decode(withU32(bytes, D_FIELD, d - 1)), /length does not match/);
    malformed(() => decode(withU32(bytes, D_FIELD, 0)), /outside/);
    malformed(() => decode(withU32(bytes, D_FIELD, 0xffffffff)), /outside/);
  });
});

describe('SEI key formats: field validation', () => {
  it('owner secret: NaN or infinity in any numeric field', () => {
    for (const [field, offset] of Object.entries(OWNER)) {
      if (field === 'pi') continue;
      malformed(() => decodeOwnerSecret(withF64(ownerBytes, offset + 8, Number.NaN)), /finite/);
      malformed(() => decodeOwnerSecret(withF64(ownerBytes, offset, Infinity)), /finite/);
    }
  });

  it('owner secret: theta <= 0', () => {
    malformed(() => decodeOwnerSecret(withF64(ownerBytes, OWNER.theta, 0)), /theta/);
    malformed(() => decodeOwnerSecret(withF64(ownerBytes, OWNER.theta, -2)), /theta/);
  });

  it('owner secret: pi not a permutation', () => {
    const duplicate = withU32(ownerBytes, OWNER.pi + 4, ownerBytes[OWNER.pi] | (ownerBytes[OWNER.pi + 1] << 8));
    malformed(() => decodeOwnerSecret(duplicate), /permutation/);
    malformed(() => decodeOwnerSecret(withU32(ownerBytes, OWNER.pi, d + 1)), /permutation/);
    malformed(() => decodeOwnerSecret(withU32(ownerBytes, OWNER.pi, 0xffffffff)), /permutation/);
  });

  it('owner secret: Minv that is not the inverse of M, or a singular M', () => {
    const view = new DataView(ownerBytes.buffer, ownerBytes.byteOffset);
    const tampered = withF64(ownerBytes, OWNER.Minv + 8 * 5, view.getFloat64(OWNER.Minv + 8 * 5, true) + 1e-6);
    malformed(() => decodeOwnerSecret(tampered), /Minv/);
    const tamperedM = withF64(ownerBytes, OWNER.M, view.getFloat64(OWNER.M, true) * 1.001);
    malformed(() => decodeOwnerSecret(tamperedM), /Minv/);
    let zeroM: Uint8Array = ownerBytes.slice();
    for (let i = 0; i < m * m; i++) zeroM = withF64(zeroM, OWNER.M + 8 * i, 0);
    malformed(() => decodeOwnerSecret(zeroM), /Minv/);
  });

  it('owner secret and user key: key id not lowercase hex', () => {
    const upper = ownerBytes.slice();
    upper[KEY_ID] = 'G'.charCodeAt(0);
    malformed(() => decodeOwnerSecret(upper), /keyId/);
    const badUtf8 = userKeyBytes.slice();
    badUtf8[KEY_ID] = 0xff;
    malformed(() => decodeUserKey(badUtf8), /keyId/i);
    // A shorter declared key id shifts every later field: caught as a length mismatch.
    malformed(() => decodeUserKey(withU16(userKeyBytes, KEY_ID_LENGTH, L - 1)), /length/);
  });

  it('user key: NaN in Abar or U', () => {
    malformed(() => decodeUserKey(withF64(userKeyBytes, USER_KEY.Abar + 8 * 7, Number.NaN)), /Abar\[7\]/);
    malformed(() => decodeUserKey(withF64(userKeyBytes, USER_KEY.U + 8 * (m - 1), -Infinity)), /U\[7\]/);
  });

  it('user secret: NaN in W, or a singular W', () => {
    malformed(() => decodeUserSecret(withF64(userSecretBytes, USER_SECRET.W + 8, Number.NaN)), /W\[1\]/);
    let singular: Uint8Array = userSecretBytes.slice();
    for (let k = 0; k < d; k++) singular = withF64(singular, USER_SECRET.W + 8 * (d + k), 0);
    malformed(() => decodeUserSecret(singular), /singular/);
  });

  it('encoders refuse inconsistent objects instead of writing broken files', () => {
    expect(() => encodeOwnerSecret({ ...owner, r: owner.r.slice(1) })).toThrow(/dimension/);
    expect(() => encodeUserKey({ ...userKey, U: userKey.U.slice(1) })).toThrow(/dimension/);
    expect(() => encodeUserSecret({ d: 2, W: userSecret.W })).toThrow(/dimension/);
  });
});
