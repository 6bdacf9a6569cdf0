/**
 * Provider role: index creation and encryption (paper section 5.2).
 *
 * 1. buildPlainIndex: K-means partitions, integer reference points, iDistance keys, segments
 *    over the sorted keys (plaintext; stays with the provider).
 * 2. encryptIndex / encryptIndexTo / prepareIndexEncryption: templates encrypted in STORAGE
 *    order into fixed-size records, reference points encrypted likewise, and the material for
 *    each party. Storage order is key order with the templates of each record permuted
 *    (secureRandom): a SIMD record's slot order then carries no key order, so CS2, which sees
 *    the values of a record in slot order, cannot tie a value to a key position. CS1's id list
 *    follows the storage order, and CS1 evaluates whole records (cs1.ts), so it never needs the
 *    permutation. (With one vector per record, as for she, storage order IS key order.)
 *
 * The records blob is n * recordBytes (she at n = 20,000, d = 512, k0 = 1024: 2.6 GB), so
 * besides encryptIndex, which returns it in one buffer, the records can be produced lazily as
 * chunks of whole records (prepareIndexEncryption().chunks()) or written to a sink
 * (encryptIndexTo), holding one chunk at a time.
 */
import { DimensionMismatchError, InvalidInputError } from '../../core/errors';
import { secureRandom, shuffleInPlace } from '../../core/random';
import type { RandomSource } from '../../core/random';
import type { HeProvider } from '../../he/types';
import type { VectorSet } from '../../linalg/vectors';
import { assertIntegerTemplates, buildIDistance } from '../idistance';
import { publicMetadata } from '../idistance-codec';
import { buildSegmentIndex } from '../segments/build';
import type { SegmentationMethod, SegmentIndex } from '../segments/types';
import type { IDistanceIndex } from '../types';
import type { Cs1Index } from './types';

export interface PlainIndexOptions {
  /** K-means partitions (capped at n). */
  readonly partitions: number;
  /** Segment error bound in positions. */
  readonly eps: number;
  /** Default 'optimal'. */
  readonly method?: SegmentationMethod;
  /** K-means randomness (not a secret). Default: secureRandom. */
  readonly random?: RandomSource;
  readonly maxIterations?: number;
  /** Fit K-means on a sample of this many templates. Default: all. */
  readonly sampleSize?: number;
}

/** The provider's plaintext index. */
export interface PlainIndex {
  readonly idistance: IDistanceIndex;
  readonly segments: SegmentIndex;
}

/** What the provider hands out, except the records blob. */
export interface IndexManifest {
  /** To CS1, with the records and the evaluation material. */
  readonly cs1Index: Cs1Index;
  /** HE evaluation material for CS1 (never the secret). */
  readonly evaluationMaterial: Uint8Array;
  /** HE secret material for CS2. */
  readonly secretMaterial: Uint8Array;
  /** HE public material for clients. */
  readonly publicMaterial: Uint8Array;
  /** Records in the blob, and its exact size (recordCount * recordBytes). */
  readonly recordCount: number;
  readonly recordsBytes: number;
}

/** What the provider hands out. */
export interface ProviderOutput {
  /** To CS1, with the records and the evaluation material. */
  readonly cs1Index: Cs1Index;
  /** Templates in storage order, recordCount(n) * recordBytes bytes (e.g. one object in a bucket). */
  readonly records: Uint8Array;
  /** HE evaluation material for CS1 (never the secret). */
  readonly evaluationMaterial: Uint8Array;
  /** HE secret material for CS2. */
  readonly secretMaterial: Uint8Array;
  /** HE public material for clients. */
  readonly publicMaterial: Uint8Array;
}

export interface EncryptIndexOptions {
  /** ids[i] names input template i (default: its index as a string). */
  readonly ids?: readonly string[];
  /** Whole records per chunk. Default: as many as fit in DEFAULT_CHUNK_BYTES (at least one). */
  readonly chunkRecords?: number;
  /** Randomness of the in-record permutation (default secureRandom; tests may seed it). */
  readonly random?: RandomSource;
}

/** A lazily encrypted index: the manifest now, the records chunk by chunk. */
export interface IndexEncryption {
  readonly manifest: IndexManifest;
  /**
   * The records blob as consecutive chunks of whole records, in storage order; each chunk is
   * encrypted when it is pulled. Concatenated, they are exactly manifest.recordsBytes bytes.
   * Works with for-of, for-await and stream.Readable.from. Callable more than once (fresh
   * encryptions of the same layout each time).
   */
  chunks(): Generator<Uint8Array, void, undefined>;
}

/** Where encryptIndexTo writes the records: called once per chunk, in order; may apply backpressure. */
export interface RecordSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

/** Default chunk size of the record stream. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

export function buildPlainIndex(templates: VectorSet, options: PlainIndexOptions): PlainIndex {
  const idistance = buildIDistance(templates, {
    partitions: options.partitions,
    random: options.random,
    maxIterations: options.maxIterations,
    sampleSize: options.sampleSize,
  });
  const segments = buildSegmentIndex(idistance.keys, { eps: options.eps, method: options.method });
  return { idistance, segments };
}

function checkIds(ids: readonly string[] | undefined, n: number): string[] {
  if (ids === undefined) return Array.from({ length: n }, (_, i) => String(i));
  if (!Array.isArray(ids) || ids.length !== n) throw new InvalidInputError(`template ids: expected ${n} ids`);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id, 'utf8') > 0xffff) {
      throw new InvalidInputError(`template ids: id ${i} must be a non-empty string of at most 65535 bytes`);
    }
    if (seen.has(id)) throw new InvalidInputError(`template ids: id ${i} is a duplicate`);
    seen.add(id);
  }
  return [...ids];
}

/**
 * Storage order: storage position p holds input template order[p]. Key order (idistance.order)
 * with each run of vectorsPerRecord positions (one record) shuffled, so the slot of a template
 * inside its record is independent of its key position.
 */
export function storageOrder(idistance: Pick<IDistanceIndex, 'order'>, vectorsPerRecord: number, random: RandomSource = secureRandom): Uint32Array {
  if (!Number.isInteger(vectorsPerRecord) || vectorsPerRecord < 1) {
    throw new InvalidInputError(`storage order: vectorsPerRecord = ${vectorsPerRecord} must be a positive integer`);
  }
  const out = Uint32Array.from(idistance.order);
  if (vectorsPerRecord === 1) return out;
  for (let start = 0; start < out.length; start += vectorsPerRecord) {
    const record = Array.from(out.subarray(start, Math.min(out.length, start + vectorsPerRecord)));
    out.set(shuffleInPlace(record, random), start);
  }
  return out;
}

/** Rows order[first .. first + count) of `templates`, as a new set. */
function rowsInOrder(templates: VectorSet, order: Uint32Array, first: number, count: number): VectorSet {
  const { d } = templates;
  const data = new Float64Array(count * d);
  for (let k = 0; k < count; k++) {
    const i = order[first + k];
    data.set(templates.data.subarray(i * d, (i + 1) * d), k * d);
  }
  return { n: count, d, data };
}

function checkChunkRecords(chunkRecords: number | undefined, recordBytes: number): number {
  if (chunkRecords === undefined) return Math.max(1, Math.floor(DEFAULT_CHUNK_BYTES / recordBytes));
  if (!Number.isInteger(chunkRecords) || chunkRecords < 1) {
    throw new InvalidInputError(`encrypt index: chunkRecords = ${chunkRecords} must be a positive integer`);
  }
  return chunkRecords;
}

/**
 * Checks the inputs, fixes the storage order, encrypts the reference points and exports the
 * materials; the template records are encrypted only when chunks() is pulled.
 */
export function prepareIndexEncryption(he: HeProvider, templates: VectorSet, plain: PlainIndex, options: EncryptIndexOptions = {}): IndexEncryption {
  const descriptor = he.descriptor;
  const maxAbs = assertIntegerTemplates(templates);
  if (templates.d !== descriptor.d) throw new DimensionMismatchError('templates', descriptor.d, templates.d);
  if (maxAbs > descriptor.maxAbs) {
    throw new InvalidInputError(`templates: coordinates exceed the key's bound ${descriptor.maxAbs} (generate the key with a larger maxAbs)`);
  }
  const { idistance, segments } = plain;
  if (idistance.n !== templates.n || segments.n !== templates.n) {
    throw new InvalidInputError('plain index: it was built for a different template set');
  }
  const { recordBytes, vectorsPerRecord } = descriptor;
  const chunkRecords = checkChunkRecords(options.chunkRecords, recordBytes);
  const inputIds = checkIds(options.ids, templates.n);
  const order = storageOrder(idistance, vectorsPerRecord, options.random);
  const templateIds = Array.from(order, (i) => inputIds[i]);
  const recordCount = he.recordCount(templates.n);
  const manifest: IndexManifest = {
    cs1Index: {
      backend: descriptor.backend,
      keyId: descriptor.keyId,
      recordBytes,
      vectorsPerRecord,
      metadata: publicMetadata(idistance),
      segments,
      referenceRecords: he.encryptRecords(idistance.referencePoints),
      templateIds,
    },
    evaluationMaterial: he.exportEvaluation(),
    secretMaterial: he.exportSecret(),
    publicMaterial: he.exportPublic(),
    recordCount,
    recordsBytes: recordCount * recordBytes,
  };
  function* chunks(): Generator<Uint8Array, void, undefined> {
    const n = templates.n;
    for (let record = 0; record < recordCount; record += chunkRecords) {
      // Chunks start on a record boundary, so the backend packs each record exactly as in one pass.
      const first = record * vectorsPerRecord;
      const count = Math.min(n, (record + chunkRecords) * vectorsPerRecord) - first;
      yield he.encryptRecords(rowsInOrder(templates, order, first, count));
    }
  }
  return { manifest, chunks };
}

/**
 * Encrypts the index and writes the records to `sink` chunk by chunk (one chunk in memory at a
 * time); returns everything else. Checks that exactly recordsBytes were produced.
 */
export async function encryptIndexTo(
  he: HeProvider,
  templates: VectorSet,
  plain: PlainIndex,
  sink: RecordSink,
  options: EncryptIndexOptions = {},
): Promise<IndexManifest> {
  const encryption = prepareIndexEncryption(he, templates, plain, options);
  let written = 0;
  for (const chunk of encryption.chunks()) {
    written += chunk.length;
    await sink.write(chunk);
  }
  if (written !== encryption.manifest.recordsBytes) {
    throw new Error(`encrypt index: wrote ${written} record bytes, expected ${encryption.manifest.recordsBytes}`);
  }
  return encryption.manifest;
}

/**
 * Encrypts the templates in storage order and the reference points, records in ONE buffer
 * (small and medium indexes; use encryptIndexTo or prepareIndexEncryption for large ones).
 * `ids[i]` names input template i (default: its index as a string); CS1 gets them in storage
 * order.
 */
export function encryptIndex(he: HeProvider, templates: VectorSet, plain: PlainIndex, ids?: readonly string[]): ProviderOutput {
  const { manifest, chunks } = prepareIndexEncryption(he, templates, plain, { ids });
  const records = new Uint8Array(manifest.recordsBytes);
  let at = 0;
  for (const chunk of chunks()) {
    records.set(chunk, at);
    at += chunk.length;
  }
  if (at !== records.length) throw new Error(`encrypt index: produced ${at} record bytes, expected ${records.length}`);
  const { cs1Index, evaluationMaterial, secretMaterial, publicMaterial } = manifest;
  return { cs1Index, records, evaluationMaterial, secretMaterial, publicMaterial };
}
