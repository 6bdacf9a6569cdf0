/**
 * The RLWE backend of the HE contract (../types) on Microsoft SEAL (BGV by default, BFV on
 * request), with SIMD packing of whole vectors and no rotations:
 * - a record packs vectorsPerRecord = floor(N / d) vectors, vector k in slots [k d, (k+1) d);
 *   the provider encrypts it symmetrically (SEAL's seeded serialization: half the bytes);
 * - a query is the vector replicated in every block, encrypted with the public key;
 * - CS1: sq = (record - query)^2 (one ciphertext multiplication), times the plaintext constant
 *   a, modulus-switched down to the output level (relinearised one level above it when the key
 *   says so), plus a plaintext mask whose blocks are additive shares of b (./mask);
 * - CS2: decrypts and sums each block mod t: (a * dist2 + b) mod t, and a * dist2 < t.
 *
 * Key generation measures the invariant noise budget of a worst-case computation (every
 * coordinate difference 2*maxAbs, a maximal, b = t - 1) at every level, with and without
 * relinearisation, keeps for each the lowest level with >= BFV_MIN_NOISE_BUDGET bits left and
 * exact block sums, and picks the configuration with the fewest output bytes
 * (BfvParameters.relinearize).
 *
 * Binary formats (SEAL payloads uncompressed so every size is fixed):
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
import type { Decryptor } from 'node-seal/implementation/decryptor';
import type { Encryptor } from 'node-seal/implementation/encryptor';
import type { Evaluator } from 'node-seal/implementation/evaluator';
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { PublicKey } from 'node-seal/implementation/public-key';
import type { RelinKeys } from 'node-seal/implementation/relin-keys';
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
import { acquireSealContext, assertUncompressedSeal, errorText, loadCiphertext, sameParmsId, sealLibrary } from './seal';
import type { SealContext } from './seal';
import type { CipherText, ParmsIdType } from './seal';

/** Version of records, queries and batches. */
const VERSION = 1;
/** Version written in materials; MATERIAL_VERSIONS are read. */
const MATERIAL_VERSION = 2;
const MATERIAL_VERSIONS = [1, 2];
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
  /** CS1 relinearises (its evaluation material then carries relinearisation keys). */
  readonly relinearize: boolean;
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
    valueModulus: layout.t,
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

function readMaterialHeader(reader: BinaryReader, magic: string): BfvLayout {
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

/** SEAL context for a layout; checks SEAL derives the same t the material names. */
async function contextFor(layout: BfvLayout, what: string): Promise<SealContext> {
  let ctx: SealContext;
  try {
    ctx = acquireSealContext(await sealLibrary(), layout.params);
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

/** Where CS1's computation ends: the output level and, when relinearising, the keys and level. */
interface OutputPlan {
  readonly outputParmsId: ParmsIdType;
  /** Relinearisation keys, or null to send size-3 ciphertexts. */
  readonly relinKeys: RelinKeys | null;
  /** Level (one above the output, or the output when it is the first) where CS1 relinearises. */
  readonly relinParmsId: ParmsIdType;
}

/** The level one above `outputPrimes` (the key-switching noise is then divided away by the last switch). */
function relinPrimesFor(ctx: SealContext, outputPrimes: number): number {
  return Math.min(ctx.dataPrimes, outputPrimes + 1);
}

/**
 * The CS1 computation on one record: ((record - query)^2 * a) switched to the output level
 * (relinearised on the way when the plan has keys), plus the mask. Consumes nothing; returns a
 * new ciphertext the caller deletes.
 */
function distanceCiphertext(
  ctx: SealContext,
  evaluator: Evaluator,
  record: CipherText,
  query: CipherText,
  aPlain: PlainText,
  plan: OutputPlan,
  mask: BigUint64Array,
): CipherText {
  const diff = evaluator.sub(record, query) as CipherText;
  const sq = evaluator.square(diff) as CipherText;
  diff.delete();
  evaluator.multiplyPlain(sq, aPlain, sq);
  if (plan.relinKeys !== null) {
    // Relinearising one level down is ~2x cheaper than at the top and, measured, as quiet.
    if (!isAtLevel(sq, plan.relinParmsId)) evaluator.cipherModSwitchTo(sq, plan.relinParmsId, sq);
    evaluator.relinearize(sq, plan.relinKeys, sq);
  }
  if (!isAtLevel(sq, plan.outputParmsId)) evaluator.cipherModSwitchTo(sq, plan.outputParmsId, sq);
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

/** What the worst-case trial found for one configuration. */
interface NoiseTrial {
  readonly relinearize: boolean;
  readonly outputPrimes: number;
  readonly noiseBudget: number;
  readonly outputCiphertextBytes: number;
}

/**
 * Worst-case trial at key generation: every difference 2*maxAbs, a = a_max, b = t - 1 (the
 * block sums wrap mod t). For each configuration allowed by `relinearize` (without, with
 * relinearisation) finds the lowest level whose budget keeps BFV_MIN_NOISE_BUDGET bits and whose
 * block sums are exact, then returns the one with the fewest output bytes (ties: without, which
 * is cheaper for CS1). The budget does not depend on the slot values (measured: constant,
 * alternating and random vectors give the same budget), so one trial covers every input.
 */
function noiseTrial(
  ctx: SealContext,
  params: BfvResolvedParameters,
  secretKey: SecretKey,
  publicKey: PublicKey,
  relinKeys: RelinKeys | null,
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
  const bMax = ctx.t - 1;
  const aPlain = constantPlain(ctx, evaluator, aMax);
  const expected = Number((aMax * BigInt(dist2MaxOf(params)) + BigInt(bMax)) % BigInt(ctx.t));
  const sampler = new ResidueSampler(ctx.t);
  const trials: NoiseTrial[] = [];
  const topBudgets: number[] = [];
  const options = params.relinearize === 'auto' ? [false, true] : [params.relinearize];
  try {
    for (const relinearize of options) {
      if (relinearize && relinKeys === null) throw new Error('bfv noise trial: relinearisation keys are missing');
      // Lowest level first: the first level that passes is the one to keep.
      for (const primes of [...ctx.levels].reverse()) {
        const outputParmsId = ctx.parmsIdWithPrimes(primes);
        const relinParmsId = ctx.parmsIdWithPrimes(relinPrimesFor(ctx, primes));
        const plan: OutputPlan = { outputParmsId, relinParmsId, relinKeys: relinearize ? relinKeys : null };
        const mask = blockMask(ctx.t, params.d, ctx.slots, new Array(vpr).fill(bMax), sampler);
        const out = distanceCiphertext(ctx, evaluator, record, query, aPlain, plan, mask);
        outputParmsId.delete();
        relinParmsId.delete();
        try {
          const budget = decryptor.invariantNoiseBudget(out);
          if (primes === ctx.dataPrimes) topBudgets.push(budget);
          if (budget < BFV_MIN_NOISE_BUDGET) continue;
          const plain = decryptor.decrypt(out) as PlainText;
          const sums = blockSums(ctx.encoder.decodeBigInt(plain, false) as BigUint64Array, ctx.t, params.d, vpr);
          plain.delete();
          if (sums.some((sum) => sum !== expected)) {
            throw new InvalidParametersError('bfv noise trial: worst-case distances did not decrypt exactly; choose other parameters');
          }
          trials.push({ relinearize, outputPrimes: primes, noiseBudget: budget, outputCiphertextBytes: out.saveArray(seal.ComprModeType.none).length });
          break;
        } finally {
          out.delete();
        }
      }
    }
  } finally {
    for (const obj of [recordPlain, queryPlain, record, query, aPlain, encryptor, decryptor, evaluator]) obj.delete();
  }
  if (trials.length === 0) {
    throw new InvalidParametersError(
      `bfv noise bound: ${Math.max(...topBudgets)} bits of noise budget left after the worst-case distance at the top level ` +
        `< ${BFV_MIN_NOISE_BUDGET} required (t ~ 2^${params.plainModulusBits}, q = ${params.coeffModulusBits.join('+')} bits); ` +
        'decrease aBits/bBits or maxAbs, or increase polyModulusDegree',
    );
  }
  return trials.reduce((best, trial) => (trial.outputCiphertextBytes < best.outputCiphertextBytes ? trial : best));
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

export class BfvProvider extends Lifecycle implements HeProvider {
  readonly descriptor: HeDescriptor;
  private readonly encryptor: Encryptor;

  /**
   * `relinKeyBytes`: serialised relinearisation keys for CS1 when the layout relinearises and
   * key generation made them; a reloaded provider makes fresh ones from the secret key when
   * exportEvaluation first needs them.
   */
  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    private readonly secretKey: SecretKey,
    private readonly publicKey: PublicKey,
    private relinKeyBytes: Uint8Array | null = null,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.encryptor = ctx.seal.Encryptor(ctx.context, publicKey, secretKey);
  }

  /** What key generation measured (diagnostics, benchmarks and tests). */
  get outputLayout(): { relinearize: boolean; outputPrimes: number; noiseBudget: number; outputCiphertextBytes: number } {
    const { relinearize, outputPrimes, noiseBudget, outputCiphertextBytes } = this.layout;
    return { relinearize, outputPrimes, noiseBudget, outputCiphertextBytes };
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
    if (this.layout.relinearize) this.relinKeyBytes ??= relinKeysFor(this.ctx, this.secretKey);
    const writer = new BinaryWriter(256 + (this.relinKeyBytes?.length ?? 0));
    writeMaterialHeader(writer, MAGIC.evaluation, this.layout);
    if (this.layout.relinearize) writer.blob(this.relinKeyBytes as Uint8Array);
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
  private readonly plan: OutputPlan;
  private readonly sampler: ResidueSampler;

  /** `relinKeys` (owned from now on) must be present exactly when the layout relinearises. */
  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    relinKeys: RelinKeys | null,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.evaluator = ctx.seal.Evaluator(ctx.context);
    this.firstParmsId = ctx.context.firstParmsId;
    this.plan = {
      outputParmsId: ctx.parmsIdWithPrimes(layout.outputPrimes),
      relinParmsId: ctx.parmsIdWithPrimes(relinPrimesFor(ctx, layout.outputPrimes)),
      relinKeys,
    };
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
    const { a, b } = resolveBatchBlinding(request.blinding, request.slots.length, this.descriptor);
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
          const out = distanceCiphertext(this.ctx, this.evaluator, recordCt, queryCt, aPlain, this.plan, mask);
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
    this.plan.outputParmsId.delete();
    this.plan.relinParmsId.delete();
    this.plan.relinKeys?.delete();
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
        if (!isAtLevel(ct, this.outputParmsId) || ct.size !== (this.layout.relinearize ? 2 : 3)) {
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

function loadKey<K extends SecretKey | PublicKey | RelinKeys>(ctx: SealContext, key: K, bytes: Uint8Array, what: string): K {
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
  const ctx = acquireSealContext(await sealLibrary(), resolved);
  try {
    const keygen = ctx.seal.KeyGenerator(ctx.context);
    const secretKey = keygen.secretKey();
    const publicSerializable = keygen.createPublicKeySerializable();
    const publicKey = ctx.seal.PublicKey();
    publicKey.loadArray(ctx.context, publicSerializable.saveArray(ctx.seal.ComprModeType.none));
    publicSerializable.delete();
    keygen.delete();
    let relinKeyBytes = resolved.relinearize === false ? null : relinKeysFor(ctx, secretKey);
    const relinKeys = relinKeyBytes === null ? null : loadKey(ctx, ctx.seal.RelinKeys(), relinKeyBytes, 'bfv relinearisation keys');
    let trial: NoiseTrial;
    try {
      trial = noiseTrial(ctx, resolved, secretKey, publicKey, relinKeys);
    } finally {
      relinKeys?.delete();
    }
    if (!trial.relinearize) relinKeyBytes = null;
    const sizes = measureSizes(ctx, secretKey, publicKey);
    const layout: BfvLayout = {
      params: resolved,
      keyId: newKeyId(),
      t: ctx.t,
      outputPrimes: trial.outputPrimes,
      relinearize: trial.relinearize,
      noiseBudget: trial.noiseBudget,
      recordPayloadBytes: sizes.record,
      queryPayloadBytes: sizes.query,
      outputCiphertextBytes: trial.outputCiphertextBytes,
    };
    return new BfvProvider(ctx, layout, secretKey, publicKey, relinKeyBytes);
  } catch (error) {
    ctx.dispose();
    throw error;
  }
}

/** Fresh relinearisation keys for CS1 (SEAL's seeded serialisation, uncompressed). */
function relinKeysFor(ctx: SealContext, secretKey: SecretKey): Uint8Array {
  const keygen = ctx.seal.KeyGenerator(ctx.context, secretKey);
  try {
    const serializable = keygen.createRelinKeysSerializable();
    const bytes = serializable.saveArray(ctx.seal.ComprModeType.none);
    serializable.delete();
    return bytes;
  } finally {
    keygen.delete();
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
  const relinBytes = layout.relinearize ? reader.blob('relinearisation keys') : null;
  reader.end();
  const ctx = await contextFor(layout, what);
  try {
    const relinKeys = relinBytes === null ? null : loadKey(ctx, ctx.seal.RelinKeys(), relinBytes, what);
    return new BfvEvaluator(ctx, layout, relinKeys);
  } catch (error) {
    ctx.dispose();
    throw error;
  }
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
