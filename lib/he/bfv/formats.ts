/**
 * The bfv backend's byte formats and the key layout every role reads from its material.
 * SEAL payloads are serialized uncompressed, so every size is fixed.
 *
 *   material header (version 2): magic, version, keyId(8), scheme u8 (0 bgv, 1 bfv), N u32,
 *     coeff count u8, coeff bits u8 x count, t bits u8, t (u32 lo, u32 hi), d u32, maxAbs u32,
 *     aBits u8, bBits u8, output primes u8, noise budget u8, relinearize u8 (0/1),
 *     record payload u32, query payload u32, output ciphertext u32
 *     (version 1, still read: no relinearize byte, meaning 0)
 *   BFVP public = header, blob(public key)
 *   BFVE evaluation = header [, blob(relinearisation keys) when relinearize]
 *   BFVS secret = header, blob(secret key)     BFVK provider = header, blob(secret), blob(public)
 *   BFVR record = magic, version 1, keyId, SEAL ciphertext (fixed size)
 *   BFVQ query  = magic, version 1, keyId, SEAL ciphertext (fixed size)
 *   BFVB batch  = magic, version 1, keyId, count u32, count SEAL ciphertexts (fixed size each)
 */
import { InvalidParametersError } from '../../core/errors';
import type { BinaryReader, BinaryWriter } from '../../codec/binary';
import { dist2MaxOf } from '../bounds';
import { KEYED_HEADER_BYTES, keyedWriter, openKeyed, readKeyId, writeKeyId } from '../formats';
import type { HeDescriptor } from '../types';
import { resolveBfvParameters } from './params';
import type { BfvResolvedParameters } from './params';

/** Version of records, queries and batches. */
export const VERSION = 1;
/** Version written in materials; MATERIAL_VERSIONS are read. */
const MATERIAL_VERSION = 2;
const MATERIAL_VERSIONS = [1, 2];
export const MAGIC = {
  public: 'BFVP',
  evaluation: 'BFVE',
  secret: 'BFVS',
  provider: 'BFVK',
  record: 'BFVR',
  query: 'BFVQ',
  batch: 'BFVB',
} as const;

/** Everything about a key that is not secret: shared by all roles, written in every material. */
export interface BfvLayout {
  readonly params: BfvResolvedParameters;
  readonly keyId: string;
  readonly t: number;
  /** Primes kept in the ciphertexts sent to CS2. */
  readonly outputPrimes: number;
  /** CS1 relinearises (its evaluation material then carries relinearisation keys). */
  readonly relinearize: boolean;
  /** Invariant noise budget (bits) measured on the worst case at key generation. */
  readonly noiseBudget: number;
  readonly recordPayloadBytes: number;
  readonly queryPayloadBytes: number;
  readonly outputCiphertextBytes: number;
}

export function vectorsPerRecordOf(params: BfvResolvedParameters): number {
  return Math.floor(params.polyModulusDegree / params.d);
}

export function descriptorOf(layout: BfvLayout): HeDescriptor {
  const { params } = layout;
  return {
    backend: 'bfv',
    keyId: layout.keyId,
    d: params.d,
    maxAbs: params.maxAbs,
    aBits: params.aBits,
    bBits: params.bBits,
    valueModulus: layout.t,
    vectorsPerRecord: vectorsPerRecordOf(params),
    recordBytes: KEYED_HEADER_BYTES + layout.recordPayloadBytes,
    queryBytes: KEYED_HEADER_BYTES + layout.queryPayloadBytes,
    dist2Max: dist2MaxOf(params),
  };
}

export function writeMaterialHeader(writer: BinaryWriter, magic: string, layout: BfvLayout): void {
  const { params } = layout;
  writer.header(magic, MATERIAL_VERSION);
  writeKeyId(writer, layout.keyId);
  writer.u8(params.scheme === 'bgv' ? 0 : 1).u32(params.polyModulusDegree);
  writer.u8(params.coeffModulusBits.length);
  for (const bits of params.coeffModulusBits) writer.u8(bits);
  writer.u8(params.plainModulusBits).u32(layout.t % 2 ** 32).u32(Math.floor(layout.t / 2 ** 32));
  writer.u32(params.d).u32(params.maxAbs).u8(params.aBits).u8(params.bBits);
  writer.u8(layout.outputPrimes).u8(Math.max(0, Math.min(255, layout.noiseBudget))).u8(layout.relinearize ? 1 : 0);
  writer.u32(layout.recordPayloadBytes).u32(layout.queryPayloadBytes).u32(layout.outputCiphertextBytes);
}

export function readMaterialHeader(reader: BinaryReader, magic: string): BfvLayout {
  const version = reader.header(magic, MATERIAL_VERSIONS);
  const keyId = readKeyId(reader);
  const schemeCode = reader.u8('scheme');
  if (schemeCode > 1) reader.fail(`unknown scheme ${schemeCode}`);
  const polyModulusDegree = reader.u32('N');
  const count = reader.u8('coefficient prime count');
  const coeffModulusBits: number[] = [];
  for (let i = 0; i < count; i++) coeffModulusBits.push(reader.u8('coefficient prime bits'));
  const plainModulusBits = reader.u8('t bits');
  const t = reader.u32('t low') + reader.u32('t high') * 2 ** 32;
  const d = reader.u32('d');
  const maxAbs = reader.u32('maxAbs');
  const aBits = reader.u8('aBits');
  const bBits = reader.u8('bBits');
  const outputPrimes = reader.u8('output primes');
  const noiseBudget = reader.u8('noise budget');
  const relinCode = version >= 2 ? reader.u8('relinearize') : 0;
  if (relinCode > 1) reader.fail(`relinearize flag ${relinCode} is not 0 or 1`);
  const recordPayloadBytes = reader.u32('record size');
  const queryPayloadBytes = reader.u32('query size');
  const outputCiphertextBytes = reader.u32('output ciphertext size');
  let params: BfvResolvedParameters;
  try {
    params = resolveBfvParameters({
      scheme: schemeCode === 0 ? 'bgv' : 'bfv',
      polyModulusDegree,
      coeffModulusBits,
      plainModulusBits,
      d,
      maxAbs,
      aBits,
      bBits,
    });
  } catch (error) {
    if (error instanceof InvalidParametersError) reader.fail(`inconsistent parameters (${error.message})`);
    throw error;
  }
  if (outputPrimes < 1 || outputPrimes > coeffModulusBits.length - 1) reader.fail('output level is outside the modulus chain');
  if (t < 2 ** (plainModulusBits - 1) || t >= 2 ** plainModulusBits) reader.fail('plain modulus does not have the stated size');
  if (recordPayloadBytes === 0 || queryPayloadBytes === 0 || outputCiphertextBytes === 0) reader.fail('zero ciphertext size');
  return {
    params,
    keyId,
    t,
    outputPrimes,
    relinearize: relinCode === 1,
    noiseBudget,
    recordPayloadBytes,
    queryPayloadBytes,
    outputCiphertextBytes,
  };
}

/** A record or query: the keyed header and one SEAL ciphertext. */
export function writeKeyedCiphertext(magic: string, keyId: string, payload: Uint8Array): Uint8Array {
  return keyedWriter(magic, VERSION, keyId, payload.length).bytes(payload).finish();
}

/** The SEAL payload of a record or query of this key (sizes and key id checked). */
export function readKeyedCiphertext(bytes: Uint8Array, magic: string, what: string, layout: BfvLayout, payloadBytes: number): Uint8Array {
  openKeyed(bytes, magic, VERSION, what, payloadBytes, layout.keyId);
  return bytes.subarray(KEYED_HEADER_BYTES);
}
