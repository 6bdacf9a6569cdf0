/**
 * The she backend's byte formats and the key layout every role reads from its material.
 * Big-endian ciphertexts of exactly ceil(2*k0/8) bytes, each reduced mod N (checked on read).
 *
 *   material header (version 1): magic, version, keyId(8), k0 u16, k1 u16, k2 u16, d u32,
 *                    maxAbs u32, aBits u8, bBits u8, publicZeros u8, N
 *   SHEP public   = header, E(1), E(0) x publicZeros
 *   SHEE evaluation = header
 *   SHES secret   = header, p, L
 *   SHEK provider = header, p, q, L, E(1), E(0) x publicZeros
 *   SHER record   = magic, version, keyId, d ciphertexts           (fixed size)
 *   SHEQ query    = magic, version, keyId, d ciphertexts           (fixed size)
 *   SHEB batch    = magic, version, keyId, count u32, count ciphertexts
 */
import { InvalidParametersError } from '../../core/errors';
import type { BinaryReader, BinaryWriter } from '../../codec/binary';
import { dist2MaxOf } from '../bounds';
import { KEYED_HEADER_BYTES, keyedWriter, openKeyed, readKeyId, writeKeyId } from '../formats';
import type { HeDescriptor } from '../types';
import { validateSheParameters } from './params';
import type { SheResolvedParameters } from './params';
import type { SheEncryptionPublic } from './scheme';

export const VERSION = 1;
export const MAGIC = {
  public: 'SHEP',
  evaluation: 'SHEE',
  secret: 'SHES',
  provider: 'SHEK',
  record: 'SHER',
  query: 'SHEQ',
  batch: 'SHEB',
} as const;

/** Bytes of one ciphertext: N < 2^(2 k0). */
export function sheCiphertextBytes(k0: number): number {
  return Math.ceil((2 * k0) / 8);
}

/** Bytes of one record (one vector) or one query. */
export function sheRecordBytes(k0: number, d: number): number {
  return KEYED_HEADER_BYTES + d * sheCiphertextBytes(k0);
}

/** Everything about a key that is not secret: shared by all roles, written in every material. */
export interface SheLayout {
  readonly params: SheResolvedParameters;
  readonly keyId: string;
  readonly N: bigint;
  readonly ctBytes: number;
  readonly descriptor: HeDescriptor;
}

export function sheLayout(params: SheResolvedParameters, keyId: string, N: bigint): SheLayout {
  const ctBytes = sheCiphertextBytes(params.k0);
  return {
    params,
    keyId,
    N,
    ctBytes,
    descriptor: {
      backend: 'she',
      keyId,
      d: params.d,
      maxAbs: params.maxAbs,
      aBits: params.aBits,
      bBits: params.bBits,
      valueModulus: 0,
      vectorsPerRecord: 1,
      recordBytes: sheRecordBytes(params.k0, params.d),
      queryBytes: sheRecordBytes(params.k0, params.d),
      dist2Max: dist2MaxOf(params),
    },
  };
}

// --- fixed-width big integers ---------------------------------------------------------------

/** Big-endian, exactly `length` bytes; the value must fit (callers guarantee value < modulus). */
export function bigIntToFixedBytes(value: bigint, length: number): Uint8Array {
  const hex = value.toString(16);
  if (value < 0n || hex.length > length * 2) throw new RangeError('value does not fit the fixed width');
  return Buffer.from(hex.padStart(length * 2, '0'), 'hex');
}

export function fixedBytesToBigInt(bytes: Uint8Array, offset: number, length: number): bigint {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('hex');
  return hex.length === 0 ? 0n : BigInt(`0x${hex}`);
}

function writeFixedBigInt(writer: BinaryWriter, value: bigint, length: number): void {
  writer.bytes(bigIntToFixedBytes(value, length));
}

/** Reads a fixed-width value that must lie in [0, bound). */
function readFixedBigInt(reader: BinaryReader, length: number, bound: bigint, field: string): bigint {
  const bytes = reader.bytes(length, field);
  const value = fixedBytesToBigInt(bytes, 0, length);
  if (value >= bound) reader.fail(`${field} is out of range`);
  return value;
}

// --- materials ------------------------------------------------------------------------------

export function writeMaterialHeader(writer: BinaryWriter, magic: string, layout: SheLayout): void {
  const { params } = layout;
  writer.header(magic, VERSION);
  writeKeyId(writer, layout.keyId);
  writer.u16(params.k0).u16(params.k1).u16(params.k2);
  writer.u32(params.d).u32(params.maxAbs);
  writer.u8(params.aBits).u8(params.bBits).u8(params.publicZeros);
  writeFixedBigInt(writer, layout.N, layout.ctBytes);
}

export function readMaterialHeader(reader: BinaryReader, magic: string): SheLayout {
  reader.header(magic, [VERSION]);
  const keyId = readKeyId(reader);
  const k0 = reader.u16('k0');
  const k1 = reader.u16('k1');
  const k2 = reader.u16('k2');
  const d = reader.u32('d');
  const maxAbs = reader.u32('maxAbs');
  const aBits = reader.u8('aBits');
  const bBits = reader.u8('bBits');
  const publicZeros = reader.u8('publicZeros');
  let params: SheResolvedParameters;
  try {
    params = validateSheParameters({ k0, k1, k2, d, maxAbs, aBits, bBits, publicZeros });
  } catch (error) {
    if (error instanceof InvalidParametersError) reader.fail(`inconsistent parameters (${error.message})`);
    throw error;
  }
  const ctBytes = sheCiphertextBytes(k0);
  const N = readFixedBigInt(reader, ctBytes, 1n << BigInt(2 * k0), 'N');
  if (N.toString(2).length !== 2 * k0 || N % 2n === 0n) reader.fail('N is not a 2*k0-bit odd modulus');
  return sheLayout(params, keyId, N);
}

function primeBytes(layout: SheLayout): number {
  return Math.ceil(layout.params.k0 / 8);
}

function lBytes(layout: SheLayout): number {
  return Math.ceil(layout.params.k2 / 8);
}

export function writePublicCiphertexts(writer: BinaryWriter, layout: SheLayout, pub: SheEncryptionPublic): void {
  writeFixedBigInt(writer, pub.one, layout.ctBytes);
  for (const zero of pub.zeros) writeFixedBigInt(writer, zero, layout.ctBytes);
}

export function readPublicCiphertexts(reader: BinaryReader, layout: SheLayout): SheEncryptionPublic {
  const [one, ...zeros] = readCiphertexts(reader, 1 + layout.params.publicZeros, layout, 'public ciphertext');
  return { N: layout.N, one, zeros, k2: layout.params.k2 };
}

/** The secret parts in material order: p, then q (provider key only), then L. */
export function writeSecretParts(writer: BinaryWriter, layout: SheLayout, secret: { p: bigint; q?: bigint; L: bigint }): void {
  writeFixedBigInt(writer, secret.p, primeBytes(layout));
  if (secret.q !== undefined) writeFixedBigInt(writer, secret.q, primeBytes(layout));
  writeFixedBigInt(writer, secret.L, lBytes(layout));
}

/** Reads p (a k0-bit divisor of N) and L (k2 bits). */
export function readSecretParts(reader: BinaryReader, layout: SheLayout): { p: bigint; L: bigint } {
  const { k0 } = layout.params;
  const p = readFixedBigInt(reader, primeBytes(layout), 1n << BigInt(k0), 'p');
  if (p.toString(2).length !== k0 || layout.N % p !== 0n) reader.fail('p is not a k0-bit factor of N');
  return { p, L: readL(reader, layout) };
}

/** Reads p and q (k0-bit factors of N) and L (k2 bits). */
export function readFactoredSecret(reader: BinaryReader, layout: SheLayout): { p: bigint; q: bigint; L: bigint } {
  const { k0 } = layout.params;
  const p = readFixedBigInt(reader, primeBytes(layout), 1n << BigInt(k0), 'p');
  const q = readFixedBigInt(reader, primeBytes(layout), 1n << BigInt(k0), 'q');
  if (p.toString(2).length !== k0 || q.toString(2).length !== k0 || p * q !== layout.N) {
    reader.fail('p and q are not k0-bit factors of N');
  }
  return { p, q, L: readL(reader, layout) };
}

function readL(reader: BinaryReader, layout: SheLayout): bigint {
  const { k2 } = layout.params;
  const L = readFixedBigInt(reader, lBytes(layout), 1n << BigInt(k2), 'L');
  if (L.toString(2).length !== k2) reader.fail('L is not a k2-bit number');
  return L;
}

// --- ciphertexts ----------------------------------------------------------------------------

/** `count` ciphertexts, each checked to be reduced mod N. */
export function readCiphertexts(reader: BinaryReader, count: number, layout: SheLayout, field: string): bigint[] {
  const raw = reader.bytes(count * layout.ctBytes, field);
  const out = new Array<bigint>(count);
  for (let i = 0; i < count; i++) {
    const c = fixedBytesToBigInt(raw, i * layout.ctBytes, layout.ctBytes);
    if (c >= layout.N) reader.fail(`${field}[${i}] is not reduced mod N`);
    out[i] = c;
  }
  return out;
}

/** Reads a fixed-size vector encryption (record or query) and checks it belongs to this key. */
export function readVectorCiphertexts(bytes: Uint8Array, magic: string, what: string, layout: SheLayout): bigint[] {
  // openKeyed checks the key id first: another key's ciphertexts are reduced mod ITS N, so
  // about half of them would otherwise fail the range check with a misleading "malformed" error.
  const reader = openKeyed(bytes, magic, VERSION, what, layout.params.d * layout.ctBytes, layout.keyId);
  const cts = readCiphertexts(reader, layout.params.d, layout, 'ciphertext');
  reader.end();
  return cts;
}

export function writeVectorCiphertexts(magic: string, layout: SheLayout, cts: readonly bigint[]): Uint8Array {
  const writer = keyedWriter(magic, VERSION, layout.keyId, cts.length * layout.ctBytes);
  for (const c of cts) writer.bytes(bigIntToFixedBytes(c, layout.ctBytes));
  return writer.finish();
}
