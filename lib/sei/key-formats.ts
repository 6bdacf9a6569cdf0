/**
 * Versioned binary formats of SEI key material (little-endian, see lib/codec/binary.ts):
 *
 *   owner secret "BSOK" v1: magic | u16 version | u32 d | u16 len + keyId (ASCII hex) | f64 theta
 *                           | f64[(2d+2)^2] M | f64[(2d+2)^2] Minv | f64[d+1] r | f64[d+1] S
 *                           | f64[d+1] X | u32[d+1] pi
 *   user key     "BSUK" v1: magic | u16 version | u32 d | u16 len + ownerKeyId
 *                           | f64[(2d+2) d] Abar | f64[2d+2] U
 *   user secret  "BSUS" v1: magic | u16 version | u32 d | f64[d d] W
 *
 * Matrices are row-major. Decoders reject truncated, oversized, wrong-magic, wrong-version and
 * internally inconsistent input (lengths that do not match d, non-finite numbers, theta <= 0,
 * pi not a permutation, Minv not the inverse of M, singular W) with MalformedDataError. Minv is
 * stored so that a reloaded secret encrypts bit-for-bit like the original, but it is never
 * trusted: the decoder checks M * Minv ~ I (and the condition estimate) before accepting it.
 */
import { DimensionMismatchError } from '../core/errors';
import { BinaryReader, BinaryWriter } from '../codec/binary';
import { inverseProblem, invertMatrix } from '../linalg/matrix';
import { MAX_SEI_DIMENSION, checkedPermutation, isValidKeyId } from './owner-key';
import type { OwnerSecret, UserKey, UserSecret } from './types';
import { encryptedDimension } from './types';

export const OWNER_SECRET_MAGIC = 'BSOK';
export const USER_KEY_MAGIC = 'BSUK';
export const USER_SECRET_MAGIC = 'BSUS';
export const OWNER_SECRET_VERSION = 1;
export const USER_KEY_VERSION = 1;
export const USER_SECRET_VERSION = 1;

const OWNER_SECRET = 'owner secret';
const USER_KEY = 'user key';
const USER_SECRET = 'user secret';

export function encodeOwnerSecret(owner: OwnerSecret): Uint8Array {
  const { d } = owner;
  const m = encryptedDimension(d);
  checkLength(owner.M.length, m * m, 'owner secret M');
  checkLength(owner.Minv.length, m * m, 'owner secret Minv');
  checkLength(owner.r.length, d + 1, 'owner secret r');
  checkLength(owner.S.length, d + 1, 'owner secret S');
  checkLength(owner.X.length, d + 1, 'owner secret X');
  checkLength(owner.pi.length, d + 1, 'owner secret pi');
  return new BinaryWriter(64 + 16 * m * m + 28 * (d + 1))
    .header(OWNER_SECRET_MAGIC, OWNER_SECRET_VERSION)
    .u32(d)
    .string(owner.keyId)
    .f64(owner.theta)
    .f64Array(owner.M)
    .f64Array(owner.Minv)
    .f64Array(owner.r)
    .f64Array(owner.S)
    .f64Array(owner.X)
    .u32Array(owner.pi)
    .finish();
}

export function decodeOwnerSecret(bytes: Uint8Array): OwnerSecret {
  const reader: BinaryReader = new BinaryReader(bytes, OWNER_SECRET);
  reader.header(OWNER_SECRET_MAGIC, [OWNER_SECRET_VERSION]);
  const d = reader.u32InRange('d', 1, MAX_SEI_DIMENSION);
  const keyId = readKeyId(reader, 'keyId');
  const m = encryptedDimension(d);
  expectRemaining(reader, 8 + 16 * m * m + 28 * (d + 1), d);
  const theta = reader.finite('theta');
  if (theta <= 0) reader.fail('theta must be > 0');
  const M = reader.f64Array(m * m, 'M');
  const Minv = reader.f64Array(m * m, 'Minv');
  const r = reader.f64Array(d + 1, 'r');
  const S = reader.f64Array(d + 1, 'S');
  const X = reader.f64Array(d + 1, 'X');
  const pi = checkedPermutation(reader.u32Array(d + 1, 'pi'), d + 1);
  if (pi === undefined) reader.fail(`pi is not a permutation of 0..${d}`);
  reader.end();
  const problem = inverseProblem(M, Minv, m);
  if (problem !== undefined) reader.fail(`Minv ${problem}`);
  return { d, keyId, M, Minv, r, S, pi, theta, X };
}

export function encodeUserKey(key: UserKey): Uint8Array {
  const { d } = key;
  const m = encryptedDimension(d);
  checkLength(key.Abar.length, m * d, 'user key Abar');
  checkLength(key.U.length, m, 'user key U');
  return new BinaryWriter(64 + 8 * m * (d + 1))
    .header(USER_KEY_MAGIC, USER_KEY_VERSION)
    .u32(d)
    .string(key.ownerKeyId)
    .f64Array(key.Abar)
    .f64Array(key.U)
    .finish();
}

export function decodeUserKey(bytes: Uint8Array): UserKey {
  const reader = new BinaryReader(bytes, USER_KEY);
  reader.header(USER_KEY_MAGIC, [USER_KEY_VERSION]);
  const d = reader.u32InRange('d', 1, MAX_SEI_DIMENSION);
  const ownerKeyId = readKeyId(reader, 'ownerKeyId');
  const m = encryptedDimension(d);
  expectRemaining(reader, 8 * m * (d + 1), d);
  const Abar = reader.f64Array(m * d, 'Abar');
  const U = reader.f64Array(m, 'U');
  reader.end();
  return { d, ownerKeyId, Abar, U };
}

export function encodeUserSecret(secret: UserSecret): Uint8Array {
  const { d } = secret;
  checkLength(secret.W.length, d * d, 'user secret W');
  return new BinaryWriter(16 + 8 * d * d)
    .header(USER_SECRET_MAGIC, USER_SECRET_VERSION)
    .u32(d)
    .f64Array(secret.W)
    .finish();
}

export function decodeUserSecret(bytes: Uint8Array): UserSecret {
  const reader = new BinaryReader(bytes, USER_SECRET);
  reader.header(USER_SECRET_MAGIC, [USER_SECRET_VERSION]);
  const d = reader.u32InRange('d', 1, MAX_SEI_DIMENSION);
  expectRemaining(reader, 8 * d * d, d);
  const W = reader.f64Array(d * d, 'W');
  reader.end();
  // A singular W can never have produced a user key: the file is corrupt.
  if (invertMatrix(W, d) === undefined) reader.fail('W is singular or too ill-conditioned');
  return { d, W };
}

/**
 * The body after the header fields must be exactly `bytes` long: checking it up front turns any
 * truncation or trailing garbage into one clear error (and avoids allocating for a bogus d).
 */
function expectRemaining(reader: BinaryReader, bytes: number, d: number): void {
  if (reader.remaining !== bytes) {
    reader.fail(`length does not match d = ${d} (expected ${bytes} more bytes, found ${reader.remaining})`);
  }
}

function readKeyId(reader: BinaryReader, field: string): string {
  const keyId = reader.string(field);
  if (!isValidKeyId(keyId)) reader.fail(`${field} is not 16-64 lowercase hex characters`);
  return keyId;
}

function checkLength(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new DimensionMismatchError(what, expected, actual);
}
