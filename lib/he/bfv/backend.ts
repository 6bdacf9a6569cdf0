/**
 * The RLWE backend of the HE contract (../types) on Microsoft SEAL (BGV by default, BFV on
 * request), with SIMD packing of whole vectors and no rotations:
 * - a record packs vectorsPerRecord = floor(N / d) vectors, vector k in slots [k d, (k+1) d);
 *   the provider encrypts it symmetrically (SEAL's seeded serialization: half the bytes);
 * - a query is the vector replicated in every block, encrypted with the public key;
 * - CS1: sq = (record - query)^2 (one ciphertext multiplication), times the plaintext constant a,
 *   modulus-switched down to the smallest level that keeps a measured noise margin, plus a
 *   plaintext mask whose blocks are additive shares of b (./mask);
 * - CS2: decrypts and sums each block mod t: exactly a * dist2 + b (t exceeds it).
 *
 * Key generation measures the invariant noise budget of a worst-case computation (every
 * coordinate difference 2*maxAbs, a and b maximal) at every level, picks the lowest level with
 * >= BFV_MIN_NOISE_BUDGET bits left, and checks the decrypted values are exact.
 *
 * Binary formats (version 1; SEAL payloads uncompressed so every size is fixed):
 *   material header: magic, version, keyId(8), scheme u8 (0 bgv, 1 bfv), N u32, coeff count u8,
 *     coeff bits u8 x count, t bits u8, t (u32 lo, u32 hi), d u32, maxAbs u32, aBits u8,
 *     bBits u8, output primes u8, noise budget u8, record payload u32, query payload u32,
 *     output ciphertext u32
 *   BFVP public = header, blob(public key)     BFVE evaluation = header
 *   BFVS secret = header, blob(secret key)     BFVK provider = header, blob(secret), blob(public)
 *   BFVR record = magic, version, keyId, SEAL ciphertext (fixed size)
 *   BFVQ query  = magic, version, keyId, SEAL ciphertext (fixed size)
 *   BFVB batch  = magic, version, keyId, count u32, count SEAL ciphertexts (fixed size each)
 */
import type { Decryptor } from 'node-seal/implementation/decryptor';
import type { Encryptor } from 'node-seal/implementation/encryptor';
import type { Evaluator } from 'node-seal/implementation/evaluator';
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { PublicKey } from 'node-seal/implementation/public-key';
import type { SecretKey } from 'node-seal/implementation/secret-key';
import { DecryptionError, InvalidInputError, InvalidParametersError, MalformedDataError } from '../../core/errors';
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import { shuffleInPlace } from '../../core/random';
import type { VectorSet } from '../../linalg/vectors';
import { resolveBatchBlinding } from '../blinding';
import {
  assertIntegerCoordinate,
  assertRecordIndex,
  assertVectorSet,
  blindedMaxOf,
  dist2MaxOf,
  newKeyId,
  readKeyId,
  splitRequest,
  writeKeyId,
} from '../common';
import type {
  BfvParameters,
  DistanceBatch,
  DistanceRequest,
  EncryptedQuery,
  HeClient,
  HeDecryptor,
  HeDescriptor,
  HeEvaluator,
  HeProvider,
} from '../types';
import { blockMask, blockSums, ResidueSampler } from './mask';
import { BFV_MIN_NOISE_BUDGET, resolveBfvParameters } from './params';
import type { BfvResolvedParameters } from './params';
import { assertUncompressedSeal, errorText, loadCiphertext, sameParmsId, SealContext, sealLibrary } from './seal';
import type { CipherText, ParmsIdType } from './seal';

const VERSION = 1;
const MAGIC = {
  public: 'BFVP',
  evaluation: 'BFVE',
  secret: 'BFVS',
  provider: 'BFVK',
  record: 'BFVR',
  query: 'BFVQ',
  batch: 'BFVB',
} as const;
/** magic (4) + version (2) + key id (8). */
const SMALL_HEADER_BYTES = 14;

/** Everything about a key that is not secret: shared by all roles, written in every material. */
interface BfvLayout {
  readonly params: BfvResolvedParameters;
  readonly keyId: string;
  readonly t: number;
  /** Primes kept in the ciphertexts sent to CS2. */
  readonly outputPrimes: number;
  /** Invariant noise budget (bits) measured on the worst case at key generation. */
  readonly noiseBudget: number;
  readonly recordPayloadBytes: number;
  readonly queryPayloadBytes: number;
  readonly outputCiphertextBytes: number;
}

function descriptorOf(layout: BfvLayout): HeDescriptor {
  const { params } = layout;
  return {
    backend: 'bfv',
    keyId: layout.keyId,
    d: params.d,
    maxAbs: params.maxAbs,
    aBits: params.aBits,
    bBits: params.bBits,
    vectorsPerRecord: vectorsPerRecordOf(params),
    recordBytes: SMALL_HEADER_BYTES + layout.recordPayloadBytes,
    queryBytes: SMALL_HEADER_BYTES + layout.queryPayloadBytes,
    dist2Max: dist2MaxOf(params),
  };
}

function vectorsPerRecordOf(params: BfvResolvedParameters): number {
  return Math.floor(params.polyModulusDegree / params.d);
}

function writeMaterialHeader(writer: BinaryWriter, magic: string, layout: BfvLayout): void {
  const { params } = layout;
  writer.header(magic, VERSION);
  writeKeyId(writer, layout.keyId);
  writer.u8(params.scheme === 'bgv' ? 0 : 1).u32(params.polyModulusDegree);
  writer.u8(params.coeffModulusBits.length);
  for (const bits of params.coeffModulusBits) writer.u8(bits);
  writer.u8(params.plainModulusBits).u32(layout.t % 2 ** 32).u32(Math.floor(layout.t / 2 ** 32));
  writer.u32(params.d).u32(params.maxAbs).u8(params.aBits).u8(params.bBits);
  writer.u8(layout.outputPrimes).u8(Math.max(0, Math.min(255, layout.noiseBudget)));
  writer.u32(layout.recordPayloadBytes).u32(layout.queryPayloadBytes).u32(layout.outputCiphertextBytes);
}

function readMaterialHeader(reader: BinaryReader, magic: string): BfvLayout {
  reader.header(magic, [VERSION]);
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
    noiseBudget,
    recordPayloadBytes,
    queryPayloadBytes,
    outputCiphertextBytes,
  };
}

/** SEAL context for a layout; checks SEAL derives the same t the material names. */
async function contextFor(layout: BfvLayout, what: string): Promise<SealContext> {
  let ctx: SealContext;
  try {
    ctx = new SealContext(await sealLibrary(), layout.params);
  } catch (error) {
    if (error instanceof InvalidParametersError) throw new MalformedDataError(what, `unusable parameters (${error.message})`);
    throw error;
  }
  if (ctx.t !== layout.t || !ctx.levels.includes(layout.outputPrimes)) {
    ctx.dispose();
    throw new MalformedDataError(what, 'plain modulus or output level does not match the parameters');
  }
  return ctx;
}

function writeSmall(magic: string, keyId: string, payload: Uint8Array): Uint8Array {
  const writer = new BinaryWriter(SMALL_HEADER_BYTES + payload.length);
  writer.header(magic, VERSION);
  writeKeyId(writer, keyId);
  writer.bytes(payload);
  return writer.finish();
}

/** Header and key id of a fixed-size record or query; returns its SEAL payload. */
function readSmall(bytes: Uint8Array, magic: string, what: string, layout: BfvLayout, payloadBytes: number): Uint8Array {
  const reader = new BinaryReader(bytes, what);
  reader.header(magic, [VERSION]);
  const keyId = readKeyId(reader);
  if (reader.remaining !== payloadBytes) reader.fail(`expected ${payloadBytes} ciphertext bytes, found ${reader.remaining}`);
  if (keyId !== layout.keyId) {
    throw new InvalidInputError(`${what} was encrypted under another key (key id ${keyId}, expected ${layout.keyId})`);
  }
  return bytes.subarray(SMALL_HEADER_BYTES);
}

function isAtLevel(ct: CipherText, parmsId: ParmsIdType): boolean {
  const id = ct.parmsId;
  try {
    return sameParmsId(id, parmsId);
  } finally {
    id.delete();
  }
}

/** Slots of a vector replicated into `copies` blocks (the query) or of up to vpr vectors (a record). */
function packQuery(query: ArrayLike<number>, slots: number, d: number, copies: number): Int32Array {
  const out = new Int32Array(slots);
  for (let k = 0; k < copies; k++) for (let j = 0; j < d; j++) out[k * d + j] = query[j];
  return out;
}

/**
 * The CS1 computation on one record: ((record - query)^2 * a) switched to the output level,
 * plus the mask. Consumes nothing; returns a new ciphertext the caller deletes.
 */
function distanceCiphertext(
  ctx: SealContext,
  evaluator: Evaluator,
  record: CipherText,
  query: CipherText,
  aPlain: PlainText,
  outputParmsId: ParmsIdType,
  mask: BigUint64Array,
): CipherText {
  const diff = evaluator.sub(record, query) as CipherText;
  const sq = evaluator.square(diff) as CipherText;
  diff.delete();
  evaluator.multiplyPlain(sq, aPlain, sq);
  evaluator.cipherModSwitchTo(sq, outputParmsId, sq);
  const maskPlain = ctx.encoder.encode(mask) as PlainText;
  evaluator.addPlain(sq, maskPlain, sq);
  maskPlain.delete();
  return sq;
}

/** The constant a as a plaintext (all slots a), in NTT form at the first level for BGV. */
function constantPlain(ctx: SealContext, evaluator: Evaluator, a: bigint): PlainText {
  const plain = ctx.encoder.encode(new BigUint64Array(ctx.slots).fill(a)) as PlainText;
  if (ctx.shape.scheme === 'bgv') {
    const first = ctx.context.firstParmsId;
    evaluator.plainTransformToNtt(plain, first, plain);
    first.delete();
  }
  return plain;
}

interface NoiseTrial {
  readonly outputPrimes: number;
  readonly noiseBudget: number;
  readonly outputCiphertextBytes: number;
}

/**
 * Worst-case trial at key generation: every difference 2*maxAbs, a = a_max, b = b_max. Picks
 * the lowest level whose budget keeps BFV_MIN_NOISE_BUDGET bits, and checks exact decryption.
 */
function noiseTrial(
  ctx: SealContext,
  params: BfvResolvedParameters,
  secretKey: SecretKey,
  publicKey: PublicKey,
): NoiseTrial {
  const { seal } = ctx;
  const vpr = vectorsPerRecordOf(params);
  const encryptor = seal.Encryptor(ctx.context, publicKey, secretKey) as Encryptor;
  const decryptor = seal.Decryptor(ctx.context, secretKey) as Decryptor;
  const evaluator = seal.Evaluator(ctx.context) as Evaluator;
  const recordSlots = new Int32Array(ctx.slots);
  recordSlots.fill(params.maxAbs, 0, vpr * params.d);
  const recordPlain = ctx.encoder.encode(recordSlots) as PlainText;
  const queryPlain = ctx.encoder.encode(packQuery(new Array(params.d).fill(-params.maxAbs), ctx.slots, params.d, vpr)) as PlainText;
  const record = encryptor.encryptSymmetric(recordPlain) as CipherText;
  const query = encryptor.encrypt(queryPlain) as CipherText;
  const aMax = (1n << BigInt(params.aBits)) - 1n;
  const bMax = Number((1n << BigInt(params.bBits)) - 1n);
  const aPlain = constantPlain(ctx, evaluator, aMax);
  const expected = Number(blindedMaxOf(params));
  const sampler = new ResidueSampler(ctx.t);
  let best: NoiseTrial | undefined;
  let topBudget = -1;
  try {
    for (const primes of ctx.levels.reverse()) {
      if (best !== undefined) break;
      const level = ctx.parmsIdWithPrimes(primes);
      const mask = blockMask(ctx.t, params.d, ctx.slots, new Array(vpr).fill(bMax), sampler);
      const out = distanceCiphertext(ctx, evaluator, record, query, aPlain, level, mask);
      const budget = decryptor.invariantNoiseBudget(out);
      topBudget = budget;
      if (budget >= BFV_MIN_NOISE_BUDGET) {
        const plain = decryptor.decrypt(out) as PlainText;
        const sums = blockSums(ctx.encoder.decodeBigInt(plain, false) as BigUint64Array, ctx.t, params.d, vpr);
        plain.delete();
        if (sums.some((s) => s !== expected)) {
          throw new InvalidParametersError('bfv noise trial: worst-case distances did not decrypt exactly; choose other parameters');
        }
        best = { outputPrimes: primes, noiseBudget: budget, outputCiphertextBytes: out.saveArray(seal.ComprModeType.none).length };
      }
      out.delete();
    }
  } finally {
    for (const obj of [recordPlain, queryPlain, record, query, aPlain, encryptor, decryptor, evaluator]) obj.delete();
  }
  if (best === undefined) {
    throw new InvalidParametersError(
      `bfv noise bound: ${topBudget} bits of noise budget left after the worst-case distance at the top level ` +
        `< ${BFV_MIN_NOISE_BUDGET} required (t ~ 2^${params.plainModulusBits}, q = ${params.coeffModulusBits.join('+')} bits); ` +
        'decrease aBits/bBits or increase polyModulusDegree',
    );
  }
  return best;
}

class Lifecycle {
  private disposed = false;

  protected live(): void {
    if (this.disposed) throw new InvalidInputError('this HE object was disposed');
  }

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  protected markDisposed(): boolean {
    if (this.disposed) return false;
    this.disposed = true;
    return true;
  }
}

class BfvProvider extends Lifecycle implements HeProvider {
  readonly descriptor: HeDescriptor;
  private readonly encryptor: Encryptor;

  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    private readonly secretKey: SecretKey,
    private readonly publicKey: PublicKey,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.encryptor = ctx.seal.Encryptor(ctx.context, publicKey, secretKey);
  }

  recordCount(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new InvalidInputError(`vector count ${n} must be a non-negative integer`);
    return Math.ceil(n / this.descriptor.vectorsPerRecord);
  }

  encryptRecord(vectors: VectorSet, recordIndex: number): Uint8Array {
    this.live();
    const { d, maxAbs } = this.layout.params;
    const vpr = this.descriptor.vectorsPerRecord;
    assertVectorSet(vectors, d);
    assertRecordIndex(vectors, recordIndex, vpr);
    const slots = new Int32Array(this.ctx.slots);
    const first = recordIndex * vpr;
    const last = Math.min(vectors.n, first + vpr);
    for (let i = first; i < last; i++) {
      for (let j = 0; j < d; j++) {
        const v = vectors.data[i * d + j];
        assertIntegerCoordinate(v, maxAbs, `vectors[${i}][${j}]`);
        slots[(i - first) * d + j] = v;
      }
    }
    const plain = this.ctx.encoder.encode(slots) as PlainText;
    const serializable = this.encryptor.encryptSymmetricSerializable(plain);
    const payload = serializable.saveArray(this.ctx.seal.ComprModeType.none);
    serializable.delete();
    plain.delete();
    if (payload.length !== this.layout.recordPayloadBytes) {
      throw new Error(`bfv record serialised to ${payload.length} bytes, expected ${this.layout.recordPayloadBytes}`);
    }
    return writeSmall(MAGIC.record, this.layout.keyId, payload);
  }

  encryptRecords(vectors: VectorSet): Uint8Array {
    this.live();
    assertVectorSet(vectors, this.layout.params.d);
    const count = this.recordCount(vectors.n);
    const size = this.descriptor.recordBytes;
    const out = new Uint8Array(count * size);
    for (let r = 0; r < count; r++) out.set(this.encryptRecord(vectors, r), r * size);
    return out;
  }

  exportPublic(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.public, this.layout);
    writer.blob(this.publicKey.saveArray(this.ctx.seal.ComprModeType.none));
    return writer.finish();
  }

  exportEvaluation(): Uint8Array {
    this.live();
    const writer = new BinaryWriter(256);
    writeMaterialHeader(writer, MAGIC.evaluation, this.layout);
    return writer.finish();
  }

  exportSecret(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.secret, this.layout);
    writer.blob(this.secretKey.saveArray(this.ctx.seal.ComprModeType.none));
    return writer.finish();
  }

  exportProviderKey(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.provider, this.layout);
    writer.blob(this.secretKey.saveArray(this.ctx.seal.ComprModeType.none));
    writer.blob(this.publicKey.saveArray(this.ctx.seal.ComprModeType.none));
    return writer.finish();
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.encryptor.delete();
    this.secretKey.delete();
    this.publicKey.delete();
    this.ctx.dispose();
  }
}

class BfvClient extends Lifecycle implements HeClient {
  readonly descriptor: HeDescriptor;
  private readonly encryptor: Encryptor;

  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    private readonly publicKey: PublicKey,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.encryptor = ctx.seal.Encryptor(ctx.context, publicKey);
  }

  encryptQuery(query: ArrayLike<number>): Uint8Array {
    this.live();
    const { d, maxAbs } = this.layout.params;
    if (query === null || typeof query !== 'object' || query.length !== d) {
      throw new InvalidInputError(`query must have exactly d = ${d} coordinates`);
    }
    for (let j = 0; j < d; j++) assertIntegerCoordinate(query[j], maxAbs, `query[${j}]`);
    const plain = this.ctx.encoder.encode(packQuery(query, this.ctx.slots, d, this.descriptor.vectorsPerRecord)) as PlainText;
    const ct = this.encryptor.encrypt(plain) as CipherText;
    const payload = ct.saveArray(this.ctx.seal.ComprModeType.none);
    ct.delete();
    plain.delete();
    if (payload.length !== this.layout.queryPayloadBytes) {
      throw new Error(`bfv query serialised to ${payload.length} bytes, expected ${this.layout.queryPayloadBytes}`);
    }
    return writeSmall(MAGIC.query, this.layout.keyId, payload);
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.encryptor.delete();
    this.publicKey.delete();
    this.ctx.dispose();
  }
}

class BfvEncryptedQuery extends Lifecycle implements EncryptedQuery {
  constructor(
    readonly keyId: string,
    private readonly ct: CipherText,
  ) {
    super();
  }

  get ciphertext(): CipherText {
    this.live();
    return this.ct;
  }

  dispose(): void {
    if (this.markDisposed()) this.ct.delete();
  }
}

class BfvEvaluator extends Lifecycle implements HeEvaluator {
  readonly descriptor: HeDescriptor;
  private readonly evaluator: Evaluator;
  private readonly firstParmsId: ParmsIdType;
  private readonly outputParmsId: ParmsIdType;
  private readonly sampler: ResidueSampler;

  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.evaluator = ctx.seal.Evaluator(ctx.context);
    this.firstParmsId = ctx.context.firstParmsId;
    this.outputParmsId = ctx.parmsIdWithPrimes(layout.outputPrimes);
    this.sampler = new ResidueSampler(ctx.t);
  }

  openQuery(bytes: Uint8Array): EncryptedQuery {
    this.live();
    const what = 'bfv encrypted query';
    const payload = readSmall(bytes, MAGIC.query, what, this.layout, this.layout.queryPayloadBytes);
    const ct = loadCiphertext(this.ctx, payload, what);
    if (ct.size !== 2 || !isAtLevel(ct, this.firstParmsId)) {
      ct.delete();
      throw new MalformedDataError(what, 'not a fresh ciphertext of this key');
    }
    return new BfvEncryptedQuery(this.layout.keyId, ct);
  }

  distanceBatch(query: EncryptedQuery, request: DistanceRequest): DistanceBatch {
    this.live();
    if (!(query instanceof BfvEncryptedQuery) || query.keyId !== this.layout.keyId) {
      throw new InvalidInputError('distance batch: the query was not opened by this evaluator');
    }
    const queryCt = query.ciphertext;
    const { d } = this.layout.params;
    const vpr = this.descriptor.vectorsPerRecord;
    const { records, wanted } = splitRequest(request, this.descriptor.recordBytes, vpr);
    const { a, b } = resolveBatchBlinding(request.blinding, request.slots.length, this.layout.params);
    const offsetOfSlot = new Map<number, number>();
    request.slots.forEach((slot, k) => offsetOfSlot.set(slot, Number(b[k])));
    // Only records with at least one requested vector are computed and sent.
    const order = shuffleInPlace(records.map((_, r) => r).filter((r) => wanted[r].some((slot) => slot >= 0)));
    const aPlain = constantPlain(this.ctx, this.evaluator, a);
    const writer = new BinaryWriter(SMALL_HEADER_BYTES + 4 + order.length * this.layout.outputCiphertextBytes);
    writer.header(MAGIC.batch, VERSION);
    writeKeyId(writer, this.layout.keyId);
    writer.u32(order.length);
    const valueSlot = new Int32Array(order.length * vpr);
    try {
      order.forEach((r, i) => {
        const what = 'bfv record';
        const payload = readSmall(records[r].bytes, MAGIC.record, what, this.layout, this.layout.recordPayloadBytes);
        const recordCt = loadCiphertext(this.ctx, payload, what);
        try {
          if (recordCt.size !== 2 || !isAtLevel(recordCt, this.firstParmsId)) {
            throw new MalformedDataError(what, 'not a fresh ciphertext of this key');
          }
          const offsets = Array.from(wanted[r], (slot) => (slot >= 0 ? (offsetOfSlot.get(slot) as number) : null));
          const mask = blockMask(this.ctx.t, d, this.ctx.slots, offsets, this.sampler);
          const out = distanceCiphertext(this.ctx, this.evaluator, recordCt, queryCt, aPlain, this.outputParmsId, mask);
          const bytes = out.saveArray(this.ctx.seal.ComprModeType.none);
          out.delete();
          if (bytes.length !== this.layout.outputCiphertextBytes) {
            throw new Error(`bfv output ciphertext of ${bytes.length} bytes, expected ${this.layout.outputCiphertextBytes}`);
          }
          writer.bytes(bytes);
          valueSlot.set(wanted[r], i * vpr);
        } finally {
          recordCt.delete();
        }
      });
    } finally {
      aPlain.delete();
    }
    return { bytes: writer.finish(), valueSlot };
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.evaluator.delete();
    this.firstParmsId.delete();
    this.outputParmsId.delete();
    this.ctx.dispose();
  }
}

export class BfvDecryptor extends Lifecycle implements HeDecryptor {
  readonly descriptor: HeDescriptor;
  private readonly decryptor: Decryptor;
  private readonly outputParmsId: ParmsIdType;

  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    private readonly secretKey: SecretKey,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.decryptor = ctx.seal.Decryptor(ctx.context, secretKey);
    this.outputParmsId = ctx.parmsIdWithPrimes(layout.outputPrimes);
  }

  /** Parses a batch and calls `use` with each loaded ciphertext (deleted afterwards). */
  private forEachCiphertext(bytes: Uint8Array, use: (ct: CipherText) => void): void {
    const what = 'bfv distance batch';
    const reader = new BinaryReader(bytes, what);
    reader.header(MAGIC.batch, [VERSION]);
    const keyId = readKeyId(reader);
    const size = this.layout.outputCiphertextBytes;
    const count = reader.u32InRange('ciphertext count', 1, Math.floor(reader.remaining / size));
    if (reader.remaining !== count * size) reader.fail(`${reader.remaining - count * size} unexpected trailing bytes`);
    if (keyId !== this.layout.keyId) {
      throw new DecryptionError('the distance batch was made for another key; check which CS2 secret is deployed');
    }
    for (let i = 0; i < count; i++) {
      const payload = reader.bytes(size, 'ciphertext');
      assertUncompressedSeal(payload, what);
      const ct = loadCiphertext(this.ctx, payload, what);
      try {
        if (!isAtLevel(ct, this.outputParmsId) || ct.size < 2 || ct.size > 3) {
          throw new MalformedDataError(what, 'ciphertext is not at the output level of this key');
        }
        use(ct);
      } finally {
        ct.delete();
      }
    }
  }

  decryptBatch(bytes: Uint8Array): bigint[] {
    this.live();
    const { d } = this.layout.params;
    const vpr = this.descriptor.vectorsPerRecord;
    const values: bigint[] = [];
    this.forEachCiphertext(bytes, (ct) => {
      const plain = this.decryptor.decrypt(ct) as PlainText;
      const slots = this.ctx.encoder.decodeBigInt(plain, false) as BigUint64Array;
      plain.delete();
      for (const sum of blockSums(slots, this.ctx.t, d, vpr)) values.push(BigInt(sum));
    });
    return values;
  }

  /** Invariant noise budget (bits) of every ciphertext of a batch: diagnostics and tests. */
  noiseBudgets(bytes: Uint8Array): number[] {
    this.live();
    const budgets: number[] = [];
    this.forEachCiphertext(bytes, (ct) => budgets.push(this.decryptor.invariantNoiseBudget(ct)));
    return budgets;
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.decryptor.delete();
    this.outputParmsId.delete();
    this.secretKey.delete();
    this.ctx.dispose();
  }
}

function loadKey<K extends SecretKey | PublicKey>(ctx: SealContext, key: K, bytes: Uint8Array, what: string): K {
  try {
    assertUncompressedSeal(bytes, what);
    key.loadArray(ctx.context, bytes);
    return key;
  } catch (error) {
    key.delete();
    if (error instanceof MalformedDataError) throw error;
    throw new MalformedDataError(what, `invalid key (${errorText(error)})`);
  }
}

/** Resolves parameters and runs the worst-case noise trial with a throwaway key. */
export async function validateBfvParameters(params: BfvParameters): Promise<void> {
  const provider = await createBfvProvider(params);
  provider.dispose();
}

export { resolveBfvParameters } from './params';

/** KeyGen: validated parameters, keys, fixed record/query sizes and the measured output level. */
export async function createBfvProvider(params: BfvParameters): Promise<HeProvider> {
  const resolved = resolveBfvParameters(params);
  const ctx = new SealContext(await sealLibrary(), resolved);
  try {
    const keygen = ctx.seal.KeyGenerator(ctx.context);
    const secretKey = keygen.secretKey();
    const publicSerializable = keygen.createPublicKeySerializable();
    const publicKey = ctx.seal.PublicKey();
    publicKey.loadArray(ctx.context, publicSerializable.saveArray(ctx.seal.ComprModeType.none));
    publicSerializable.delete();
    keygen.delete();
    const trial = noiseTrial(ctx, resolved, secretKey, publicKey);
    const sizes = measureSizes(ctx, secretKey, publicKey);
    const layout: BfvLayout = {
      params: resolved,
      keyId: newKeyId(),
      t: ctx.t,
      outputPrimes: trial.outputPrimes,
      noiseBudget: trial.noiseBudget,
      recordPayloadBytes: sizes.record,
      queryPayloadBytes: sizes.query,
      outputCiphertextBytes: trial.outputCiphertextBytes,
    };
    return new BfvProvider(ctx, layout, secretKey, publicKey);
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}

/** Serialised sizes of a record (seeded symmetric) and a query (public-key) ciphertext. */
function measureSizes(ctx: SealContext, secretKey: SecretKey, publicKey: PublicKey): { record: number; query: number } {
  const encryptor = ctx.seal.Encryptor(ctx.context, publicKey, secretKey);
  const plain = ctx.encoder.encode(new Int32Array(ctx.slots)) as PlainText;
  const serializable = encryptor.encryptSymmetricSerializable(plain);
  const record = serializable.saveArray(ctx.seal.ComprModeType.none).length;
  const ct = encryptor.encrypt(plain) as CipherText;
  const query = ct.saveArray(ctx.seal.ComprModeType.none).length;
  for (const obj of [serializable, ct, plain, encryptor]) obj.delete();
  return { record, query };
}

export async function loadBfvProvider(bytes: Uint8Array): Promise<HeProvider> {
  const what = 'bfv provider key';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.provider);
  const secretBytes = reader.blob('secret key');
  const publicBytes = reader.blob('public key');
  reader.end();
  const ctx = await contextFor(layout, what);
  try {
    const secretKey = loadKey(ctx, ctx.seal.SecretKey(), secretBytes, what);
    const publicKey = loadKey(ctx, ctx.seal.PublicKey(), publicBytes, what);
    return new BfvProvider(ctx, layout, secretKey, publicKey);
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}

export async function loadBfvClient(bytes: Uint8Array): Promise<HeClient> {
  const what = 'bfv public material';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.public);
  const publicBytes = reader.blob('public key');
  reader.end();
  const ctx = await contextFor(layout, what);
  try {
    return new BfvClient(ctx, layout, loadKey(ctx, ctx.seal.PublicKey(), publicBytes, what));
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}

export async function loadBfvEvaluator(bytes: Uint8Array): Promise<HeEvaluator> {
  const what = 'bfv evaluation material';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.evaluation);
  reader.end();
  return new BfvEvaluator(await contextFor(layout, what), layout);
}

export async function loadBfvDecryptor(bytes: Uint8Array): Promise<HeDecryptor> {
  const what = 'bfv secret material';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.secret);
  const secretBytes = reader.blob('secret key');
  reader.end();
  const ctx = await contextFor(layout, what);
  try {
    return new BfvDecryptor(ctx, layout, loadKey(ctx, ctx.seal.SecretKey(), secretBytes, what));
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}
