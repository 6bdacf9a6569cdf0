/**
 * Provider role: index creation and encryption (paper section 5.2).
 *
 * 1. buildPlainIndex: K-means partitions, integer reference points, iDistance keys, segments
 *    over the sorted keys (plaintext; stays with the provider).
 * 2. encryptIndex / prepareIndexEncryption: the templates split into SHARDS of
 *    bounded size by partition range (../shards.ts), each encrypted in STORAGE order into
 *    fixed-size records; reference points encrypted likewise; and the material for each party.
 *    Storage order is key order with the templates of each record permuted (secureRandom): a
 *    SIMD record's slot order then carries no key order, so CS2, which sees the values of a
 *    record in slot order, cannot tie a value to a key position. CS1's id list follows the
 *    storage order, and CS1 evaluates whole records (cs1.ts), so it never needs the
 *    permutation. (With one vector per record, as for she, storage order IS key order.)
 * 3. The owner keeps the ProviderIndex (provider-index.ts) to add and delete templates later,
 *    copy-on-write: only the shards an update touches are encrypted again.
 *
 * The records are n * recordBytes in total (bfv at n = 1,000,000, d = 512: 12 GB), so besides
 * encryptIndex, which returns each shard in one buffer, the records can be produced lazily as
 * chunks of whole records per shard (prepareIndexEncryption().chunks(shard)), holding one chunk
 * at a time.
 */
import { DimensionMismatchError, InvalidInputError } from '../../core/errors';
import type { RandomSource } from '../../core/random';
import type { HeProvider } from '../../he/types';
import type { VectorSet } from '../../linalg/vectors';
import { assertIntegerTemplates, buildIDistance } from '../idistance';
import { identificationPolicy } from '../policy';
import type { IdentificationPolicy } from '../policy';
import { buildSegmentIndex } from '../segments/build';
import type { SegmentationMethod, SegmentIndex } from '../segments/types';
import { maxTemplatesForBytes } from '../shards';
import type { IDistanceIndex } from '../types';
import { ProviderIndex } from './provider-index';
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

/** What the provider hands out, except the records. */
export interface IndexManifest {
  /** To CS1, with the records and the evaluation material. */
  readonly cs1Index: Cs1Index;
  /** HE evaluation material for CS1 (never the secret). */
  readonly evaluationMaterial: Uint8Array;
  /** HE secret material for CS2. */
  readonly secretMaterial: Uint8Array;
  /** HE public material for clients. */
  readonly publicMaterial: Uint8Array;
  /** Exact size of each shard's records (records * recordBytes), and their sum. */
  readonly shardBytes: readonly number[];
  readonly recordsBytes: number;
}

/** What the provider hands out. */
export interface ProviderOutput {
  /** To CS1, with the records and the evaluation material. */
  readonly cs1Index: Cs1Index;
  /** Each shard's templates in storage order, records * recordBytes bytes (one object each). */
  readonly shards: readonly Uint8Array[];
  /** HE evaluation material for CS1 (never the secret). */
  readonly evaluationMaterial: Uint8Array;
  /** HE secret material for CS2. */
  readonly secretMaterial: Uint8Array;
  /** HE public material for clients. */
  readonly publicMaterial: Uint8Array;
  /** The provider's updatable index (plaintext: keep it private, or drop it). */
  readonly provider: ProviderIndex;
}

export interface EncryptIndexOptions {
  /** ids[i] names input template i (default: its index as a string). */
  readonly ids?: readonly string[];
  /** Whole records per chunk. Default: as many as fit in DEFAULT_CHUNK_BYTES (at least one). */
  readonly chunkRecords?: number;
  /** Randomness of the in-record permutation (default secureRandom; tests may seed it). */
  readonly random?: RandomSource;
  /** What users may ask. Default: k-nearest up to 10, exact-match range queries, 100 queries an hour. */
  readonly policy?: IdentificationPolicy;
  /** Largest shard in templates. Default: what fits in DEFAULT_MAX_SHARD_BYTES. */
  readonly maxShardTemplates?: number;
}

/** A lazily encrypted index: the manifest now, each shard's records chunk by chunk. */
export interface IndexEncryption {
  readonly manifest: IndexManifest;
  readonly provider: ProviderIndex;
  /**
   * Shard `shard`'s records as consecutive chunks of whole records, in storage order; each
   * chunk is encrypted when it is pulled. Concatenated, they are exactly
   * manifest.shardBytes[shard] bytes. Callable more than once (fresh encryptions of the same
   * layout each time).
   */
  chunks(shard: number): Generator<Uint8Array, void, undefined>;
}

/** Default chunk size of the record stream. */
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * Default shard bound: 256 MiB of records (bfv, N = 8192: about 1,360 records, 87,000 d = 128
 * or 21,800 d = 512 templates). Small enough for one worker to read its candidates quickly and
 * far below S3's 5 GB per upload.
 */
export const DEFAULT_MAX_SHARD_BYTES = 256 * 1024 * 1024;

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

/**
 * Partitions for n templates when the owner does not choose: about sqrt(n), at least 1. The
 * pruning of iDistance needs partitions small enough that a query's neighbours fill few of
 * them, while every partition costs one reference point in each query's first stage.
 */
export function defaultPartitionCount(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`partitions: n = ${n} must be a positive integer`);
  return Math.max(1, Math.min(n, Math.round(Math.sqrt(n))));
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

function checkChunkRecords(chunkRecords: number | undefined, recordBytes: number): number {
  if (chunkRecords === undefined) return Math.max(1, Math.floor(DEFAULT_CHUNK_BYTES / recordBytes));
  if (!Number.isInteger(chunkRecords) || chunkRecords < 1) {
    throw new InvalidInputError(`encrypt index: chunkRecords = ${chunkRecords} must be a positive integer`);
  }
  return chunkRecords;
}

/**
 * Checks the inputs, fixes the shards and the storage order, encrypts the reference points and
 * exports the materials; the template records are encrypted only when chunks(shard) is pulled.
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
  const provider = ProviderIndex.fromIDistance(
    templates,
    idistance,
    checkIds(options.ids, templates.n),
    {
      policy: options.policy ?? identificationPolicy({ maxTauSquared: 0 }),
      eps: segments.eps,
      method: segments.method,
      maxShardTemplates: options.maxShardTemplates ?? maxTemplatesForBytes(DEFAULT_MAX_SHARD_BYTES, recordBytes, vectorsPerRecord),
      vectorsPerRecord,
    },
    options.random,
  );
  const shardBytes = Array.from({ length: provider.shardCount }, (_, s) => provider.shardRecordCount(s) * recordBytes);
  const manifest: IndexManifest = {
    cs1Index: provider.cs1Index(he),
    evaluationMaterial: he.exportEvaluation(),
    secretMaterial: he.exportSecret(),
    publicMaterial: he.exportPublic(),
    shardBytes,
    recordsBytes: shardBytes.reduce((a, b) => a + b, 0),
  };
  return { manifest, provider, chunks: (shard) => provider.shardChunks(he, shard, chunkRecords) };
}

/**
 * Encrypts the templates shard by shard and the reference points, each shard's records in ONE
 * buffer (small and medium indexes; use prepareIndexEncryption for large ones). `options.ids[i]` (or `ids[i]`) names input template i (default: its index as a
 * string); CS1 gets them in storage order.
 */
export function encryptIndex(he: HeProvider, templates: VectorSet, plain: PlainIndex, options: EncryptIndexOptions | readonly string[] = {}): ProviderOutput {
  const resolved: EncryptIndexOptions = Array.isArray(options) ? { ids: options as readonly string[] } : (options as EncryptIndexOptions);
  const { manifest, provider } = prepareIndexEncryption(he, templates, plain, resolved);
  const shards = manifest.shardBytes.map((bytes, s) => {
    const records = provider.encryptShard(he, s);
    if (records.length !== bytes) throw new Error(`encrypt index: produced ${records.length} record bytes for shard ${s}, expected ${bytes}`);
    return records;
  });
  const { cs1Index, evaluationMaterial, secretMaterial, publicMaterial } = manifest;
  return { cs1Index, shards, evaluationMaterial, secretMaterial, publicMaterial, provider };
}
