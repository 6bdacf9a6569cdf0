/**
 * The SHE backend of the HE contract (./../types): one vector per record, d ciphertexts of
 * 2*k0 bits each; CS1 computes a * sum_j (E(q_j) - E(t_j))^2 + b mod N per requested vector.
 *
 * Binary formats (version 1, big-endian ciphertexts of exactly ceil(2*k0/8) bytes):
 *   material header: magic, version, keyId(8), k0 u16, k1 u16, k2 u16, d u32, maxAbs u32,
 *                    aBits u8, bBits u8, publicZeros u8
 *   SHEP public   = header, N, E(1), E(0) x publicZeros
 *   SHEE evaluation = header, N
 *   SHES secret   = header, N, p, L
 *   SHEK provider = header, N, p, q, L, E(1), E(0) x publicZeros
 *   SHER record   = magic, version, keyId, d ciphertexts           (fixed size)
 *   SHEQ query    = magic, version, keyId, d ciphertexts           (fixed size)
 *   SHEB batch    = magic, version, keyId, count u32, count ciphertexts
 */
import { DecryptionError, InvalidInputError, InvalidParametersError } from '../../core/errors';
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import { shuffleInPlace } from '../../core/random';
import type { VectorSet } from '../../linalg/vectors';
import { resolveBatchBlinding } from '../blinding';
import {
  assertIntegerCoordinate,
  assertRecordIndex,
  assertVectorSet,
  dist2MaxOf,
  fixedBytesToBigInt,
  newKeyId,
  readFixedBigInt,
  readKeyId,
  splitRequest,
  writeFixedBigInt,
  writeKeyId,
  bigIntToFixedBytes,
} from '../common';
import type {
  DistanceBatch,
  DistanceRequest,
  EncryptedQuery,
  HeClient,
  HeDecryptor,
  HeDescriptor,
  HeEvaluator,
  HeProvider,
  SheParameters,
} from '../types';
import { validateSheParameters } from './params';
import type { SheResolvedParameters } from './params';
import { mod, sheDecrypt, sheEncrypt, sheEncryptPublic, sheKeyGen } from './scheme';
import type { SheEncryptionPublic, SheSecretKey } from './scheme';

export { validateSheParameters } from './params';

const VERSION = 1;
const MAGIC = {
  public: 'SHEP',
  evaluation: 'SHEE',
  secret: 'SHES',
  provider: 'SHEK',
  record: 'SHER',
  query: 'SHEQ',
  batch: 'SHEB',
} as const;
/** magic (4) + version (2) + key id (8). */
const SMALL_HEADER_BYTES = 14;

/** Bytes of one ciphertext: N < 2^(2 k0). */
export function sheCiphertextBytes(k0: number): number {
  return Math.ceil((2 * k0) / 8);
}

/** Bytes of one record (one vector) or one query. */
export function sheRecordBytes(k0: number, d: number): number {
  return SMALL_HEADER_BYTES + d * sheCiphertextBytes(k0);
}

interface SheContext {
  readonly params: SheResolvedParameters;
  readonly keyId: string;
  readonly N: bigint;
  readonly ctBytes: number;
  readonly descriptor: HeDescriptor;
}

function makeContext(params: SheResolvedParameters, keyId: string, N: bigint): SheContext {
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

function writeMaterialHeader(writer: BinaryWriter, magic: string, context: SheContext): void {
  const { params } = context;
  writer.header(magic, VERSION);
  writeKeyId(writer, context.keyId);
  writer.u16(params.k0).u16(params.k1).u16(params.k2);
  writer.u32(params.d).u32(params.maxAbs);
  writer.u8(params.aBits).u8(params.bBits).u8(params.publicZeros);
  writeFixedBigInt(writer, context.N, context.ctBytes);
}

function readMaterialHeader(reader: BinaryReader, magic: string): SheContext {
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
  return makeContext(params, keyId, N);
}

function readCiphertexts(reader: BinaryReader, count: number, context: SheContext, field: string): bigint[] {
  const raw = reader.bytes(count * context.ctBytes, field);
  const out = new Array<bigint>(count);
  for (let i = 0; i < count; i++) {
    const c = fixedBytesToBigInt(raw, i * context.ctBytes, context.ctBytes);
    if (c >= context.N) reader.fail(`${field}[${i}] is not reduced mod N`);
    out[i] = c;
  }
  return out;
}

/** Reads a fixed-size vector encryption (record or query) and checks it belongs to this key. */
function readVectorCiphertexts(bytes: Uint8Array, magic: string, what: string, context: SheContext): bigint[] {
  const reader = new BinaryReader(bytes, what);
  reader.header(magic, [VERSION]);
  const keyId = readKeyId(reader);
  if (reader.remaining !== context.params.d * context.ctBytes) {
    reader.fail(`expected ${context.params.d * context.ctBytes} ciphertext bytes, found ${reader.remaining}`);
  }
  // The key id first: another key's ciphertexts are reduced mod ITS N, so about half of them
  // would otherwise fail the range check below with a misleading "malformed" error.
  if (keyId !== context.keyId) {
    throw new InvalidInputError(`${what} was encrypted under another key (key id ${keyId}, expected ${context.keyId})`);
  }
  const cts = readCiphertexts(reader, context.params.d, context, 'ciphertext');
  reader.end();
  return cts;
}

function writeVectorCiphertexts(magic: string, context: SheContext, cts: readonly bigint[]): Uint8Array {
  const writer = new BinaryWriter(SMALL_HEADER_BYTES + cts.length * context.ctBytes);
  writer.header(magic, VERSION);
  writeKeyId(writer, context.keyId);
  for (const c of cts) writer.bytes(bigIntToFixedBytes(c, context.ctBytes));
  return writer.finish();
}

class Lifecycle {
  private disposed = false;

  protected live(): void {
    if (this.disposed) throw new InvalidInputError('this HE object was disposed');
  }

  dispose(): void {
    this.disposed = true;
  }
}

class SheProvider extends Lifecycle implements HeProvider {
  readonly descriptor: HeDescriptor;

  constructor(
    private readonly context: SheContext,
    private readonly key: SheSecretKey,
    private readonly pub: SheEncryptionPublic,
  ) {
    super();
    this.descriptor = context.descriptor;
  }

  recordCount(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new InvalidInputError(`vector count ${n} must be a non-negative integer`);
    return n;
  }

  encryptRecord(vectors: VectorSet, recordIndex: number): Uint8Array {
    this.live();
    const { d, maxAbs } = this.context.params;
    assertVectorSet(vectors, d);
    assertRecordIndex(vectors, recordIndex, 1);
    const cts = new Array<bigint>(d);
    const base = recordIndex * d;
    for (let j = 0; j < d; j++) {
      const v = vectors.data[base + j];
      assertIntegerCoordinate(v, maxAbs, `vectors[${recordIndex}][${j}]`);
      cts[j] = sheEncrypt(this.key, BigInt(v));
    }
    return writeVectorCiphertexts(MAGIC.record, this.context, cts);
  }

  encryptRecords(vectors: VectorSet): Uint8Array {
    this.live();
    assertVectorSet(vectors, this.context.params.d);
    const size = this.descriptor.recordBytes;
    const out = new Uint8Array(vectors.n * size);
    for (let i = 0; i < vectors.n; i++) out.set(this.encryptRecord(vectors, i), i * size);
    return out;
  }

  exportPublic(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.public, this.context);
    writePublicCiphertexts(writer, this.context, this.pub);
    return writer.finish();
  }

  exportEvaluation(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.evaluation, this.context);
    return writer.finish();
  }

  exportSecret(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.secret, this.context);
    writeFixedBigInt(writer, this.key.p, primeBytes(this.context));
    writeFixedBigInt(writer, this.key.L, lBytes(this.context));
    return writer.finish();
  }

  exportProviderKey(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.provider, this.context);
    writeFixedBigInt(writer, this.key.p, primeBytes(this.context));
    writeFixedBigInt(writer, this.key.q, primeBytes(this.context));
    writeFixedBigInt(writer, this.key.L, lBytes(this.context));
    writePublicCiphertexts(writer, this.context, this.pub);
    return writer.finish();
  }
}

function primeBytes(context: SheContext): number {
  return Math.ceil(context.params.k0 / 8);
}

function lBytes(context: SheContext): number {
  return Math.ceil(context.params.k2 / 8);
}

function writePublicCiphertexts(writer: BinaryWriter, context: SheContext, pub: SheEncryptionPublic): void {
  writeFixedBigInt(writer, pub.one, context.ctBytes);
  for (const zero of pub.zeros) writeFixedBigInt(writer, zero, context.ctBytes);
}

function readPublicCiphertexts(reader: BinaryReader, context: SheContext): SheEncryptionPublic {
  const [one, ...zeros] = readCiphertexts(reader, 1 + context.params.publicZeros, context, 'public ciphertext');
  return { N: context.N, one, zeros, k2: context.params.k2 };
}

/** Reads p (a k0-bit divisor of N) and L (k2 bits). */
function readSecretParts(reader: BinaryReader, context: SheContext): { p: bigint; L: bigint } {
  const { k0, k2 } = context.params;
  const p = readFixedBigInt(reader, primeBytes(context), 1n << BigInt(k0), 'p');
  if (p.toString(2).length !== k0 || context.N % p !== 0n) reader.fail('p is not a k0-bit factor of N');
  return { p, L: readL(reader, context, k2) };
}

function readL(reader: BinaryReader, context: SheContext, k2: number): bigint {
  const L = readFixedBigInt(reader, lBytes(context), 1n << BigInt(k2), 'L');
  if (L.toString(2).length !== k2) reader.fail('L is not a k2-bit number');
  return L;
}

class SheClient extends Lifecycle implements HeClient {
  readonly descriptor: HeDescriptor;

  constructor(
    private readonly context: SheContext,
    private readonly pub: SheEncryptionPublic,
  ) {
    super();
    this.descriptor = context.descriptor;
  }

  encryptQuery(query: ArrayLike<number>): Uint8Array {
    this.live();
    const { d, maxAbs } = this.context.params;
    if (query === null || typeof query !== 'object' || query.length !== d) {
      throw new InvalidInputError(`query must have exactly d = ${d} coordinates`);
    }
    const cts = new Array<bigint>(d);
    for (let j = 0; j < d; j++) {
      assertIntegerCoordinate(query[j], maxAbs, `query[${j}]`);
      cts[j] = sheEncryptPublic(this.pub, BigInt(query[j]));
    }
    return writeVectorCiphertexts(MAGIC.query, this.context, cts);
  }
}

class SheEncryptedQuery extends Lifecycle implements EncryptedQuery {
  constructor(
    readonly keyId: string,
    readonly ciphertexts: readonly bigint[],
  ) {
    super();
  }

  get values(): readonly bigint[] {
    this.live();
    return this.ciphertexts;
  }
}

class SheEvaluator extends Lifecycle implements HeEvaluator {
  readonly descriptor: HeDescriptor;

  constructor(private readonly context: SheContext) {
    super();
    this.descriptor = context.descriptor;
  }

  openQuery(bytes: Uint8Array): EncryptedQuery {
    this.live();
    const cts = readVectorCiphertexts(bytes, MAGIC.query, 'SHE encrypted query', this.context);
    return new SheEncryptedQuery(this.context.keyId, cts);
  }

  distanceBatch(query: EncryptedQuery, request: DistanceRequest): DistanceBatch {
    this.live();
    if (!(query instanceof SheEncryptedQuery) || query.keyId !== this.context.keyId) {
      throw new InvalidInputError('distance batch: the query was not opened by this evaluator');
    }
    const q = query.values;
    const { records, wanted } = splitRequest(request, this.descriptor.recordBytes, 1);
    const { a, b } = resolveBatchBlinding(request.blinding, request.slots.length, this.descriptor);
    const offsetOfSlot = new Map<number, bigint>();
    request.slots.forEach((slot, k) => offsetOfSlot.set(slot, b[k]));
    const N = this.context.N;
    const items: { slot: number; c: bigint }[] = [];
    for (let r = 0; r < records.length; r++) {
      if (wanted[r][0] < 0) continue;
      const t = readVectorCiphertexts(records[r].bytes, MAGIC.record, 'SHE record', this.context);
      // sum_j (E(q_j) - E(t_j))^2 without reducing each term: one reduction per vector. The
      // difference's noise integer is X_q - X_t; its square is positive, so decryption sees
      // a * sum (X_q - X_t)^2 + b, which the parameter check keeps below p.
      let acc = 0n;
      for (let j = 0; j < q.length; j++) {
        const diff = q[j] - t[j];
        acc += diff * diff;
      }
      const slot = wanted[r][0];
      items.push({ slot, c: mod(a * (acc % N) + (offsetOfSlot.get(slot) as bigint), N) });
    }
    shuffleInPlace(items);
    const writer = new BinaryWriter(SMALL_HEADER_BYTES + 4 + items.length * this.context.ctBytes);
    writer.header(MAGIC.batch, VERSION);
    writeKeyId(writer, this.context.keyId);
    writer.u32(items.length);
    for (const item of items) writer.bytes(bigIntToFixedBytes(item.c, this.context.ctBytes));
    return { bytes: writer.finish(), valueSlot: Int32Array.from(items, (item) => item.slot) };
  }
}

class SheDecryptor extends Lifecycle implements HeDecryptor {
  readonly descriptor: HeDescriptor;

  constructor(
    private readonly context: SheContext,
    private readonly secret: { p: bigint; L: bigint },
  ) {
    super();
    this.descriptor = context.descriptor;
  }

  decryptBatch(bytes: Uint8Array): bigint[] {
    this.live();
    const reader = new BinaryReader(bytes, 'SHE distance batch');
    reader.header(MAGIC.batch, [VERSION]);
    const keyId = readKeyId(reader);
    const count = reader.u32InRange('value count', 1, Math.floor(reader.remaining / this.context.ctBytes));
    if (reader.remaining !== count * this.context.ctBytes) reader.fail(`${reader.remaining - count * this.context.ctBytes} unexpected trailing bytes`);
    // Key id before the range checks (see readVectorCiphertexts).
    if (keyId !== this.context.keyId) {
      throw new DecryptionError('the distance batch was made for another key; check which CS2 secret is deployed');
    }
    const cts = readCiphertexts(reader, count, this.context, 'ciphertext');
    reader.end();
    return cts.map((c) => sheDecrypt(this.secret, c));
  }
}

/** KeyGen with validated parameters; publishes E(1) and publicZeros E(0) for clients. */
export function createSheProvider(params: SheParameters): HeProvider {
  const resolved = validateSheParameters(params);
  const key = sheKeyGen(resolved.k0, resolved.k2);
  const context = makeContext(resolved, newKeyId(), key.N);
  const zeros = Array.from({ length: resolved.publicZeros }, () => sheEncrypt(key, 0n));
  const pub: SheEncryptionPublic = { N: key.N, one: sheEncrypt(key, 1n), zeros, k2: resolved.k2 };
  return new SheProvider(context, key, pub);
}

export function loadSheProvider(bytes: Uint8Array): HeProvider {
  const reader = new BinaryReader(bytes, 'SHE provider key');
  const context = readMaterialHeader(reader, MAGIC.provider);
  const { k0, k2 } = context.params;
  const p = readFixedBigInt(reader, primeBytes(context), 1n << BigInt(k0), 'p');
  const q = readFixedBigInt(reader, primeBytes(context), 1n << BigInt(k0), 'q');
  if (p.toString(2).length !== k0 || q.toString(2).length !== k0 || p * q !== context.N) {
    reader.fail('p and q are not k0-bit factors of N');
  }
  const L = readL(reader, context, k2);
  const pub = readPublicCiphertexts(reader, context);
  reader.end();
  return new SheProvider(context, { p, q, L, N: context.N, k0, k2 }, pub);
}

export function loadSheClient(bytes: Uint8Array): HeClient {
  const reader = new BinaryReader(bytes, 'SHE public material');
  const context = readMaterialHeader(reader, MAGIC.public);
  const pub = readPublicCiphertexts(reader, context);
  reader.end();
  return new SheClient(context, pub);
}

export function loadSheEvaluator(bytes: Uint8Array): HeEvaluator {
  const reader = new BinaryReader(bytes, 'SHE evaluation material');
  const context = readMaterialHeader(reader, MAGIC.evaluation);
  reader.end();
  return new SheEvaluator(context);
}

export function loadSheDecryptor(bytes: Uint8Array): HeDecryptor {
  const reader = new BinaryReader(bytes, 'SHE secret material');
  const context = readMaterialHeader(reader, MAGIC.secret);
  const secret = readSecretParts(reader, context);
  reader.end();
  return new SheDecryptor(context, secret);
}
