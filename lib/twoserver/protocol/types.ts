/**
 * The two-server identification protocol's roles and what travels between them.
 *
 * - Provider (provider.ts): from plaintext templates builds the iDistance index and segments,
 *   encrypts the templates in key order into fixed-size records and the reference points O_i,
 *   and hands out: to CS1 a {@link Cs1Index} plus the records blob (stored behind a
 *   {@link RecordStore}) and the HE evaluation material; to CS2 the HE secret material; to
 *   clients the HE public material.
 * - Client (client.ts): encrypts a quantized template into a request for CS1.
 * - CS1 (cs1.ts): answers range and k-nearest queries with two batches to CS2 (stage 1: all
 *   reference points; stage 2: every record holding a candidate of a surviving partition, plus
 *   decoy records up to a power-of-two batch size), each blinded with a fresh secret map and
 *   shuffled before CS2 sees it.
 * - CS2 (cs2.ts): decrypts batches to blinded values; reached through a {@link Cs2Transport}.
 */
import type { HeBackendName } from '../../he/types';
import type { IdentificationPolicy } from '../policy';
import type { BatchPadding } from './padding';
import type { SegmentIndex } from '../segments/types';
import type { IDistanceMetadata, Match } from '../types';

/** Everything CS1 holds besides the records blob and the HE evaluation material. */
export interface Cs1Index {
  /** Backend and key the records were made with (checked against the evaluator). */
  readonly backend: HeBackendName;
  readonly keyId: string;
  readonly recordBytes: number;
  readonly vectorsPerRecord: number;
  /** Public iDistance metadata: offsets, dmax, partition position ranges. */
  readonly metadata: IDistanceMetadata;
  /** Segments over the sorted keys (key -> storage position). */
  readonly segments: SegmentIndex;
  /** The K encrypted reference points, as whole records (vector i = partition i). */
  readonly referenceRecords: Uint8Array;
  /**
   * Template id at each storage position. Storage order is key order with the templates of
   * each record randomly permuted (provider.ts): a key position names the record, not the slot.
   */
  readonly templateIds: readonly string[];
  /** What users may ask (checked by the service before anything runs). */
  readonly policy: IdentificationPolicy;
  /** The shards, in storage order (../shards.ts); their counts sum to n. */
  readonly shards: readonly ShardEntry[];
}

/** One shard of the records: how many templates, and where its records come from. */
export interface ShardEntry {
  readonly templates: number;
  /**
   * Copy-on-write: the shard's records are exactly those of shard `shard` of the earlier
   * version `version` (same templates, same order). Absent: uploaded with this version.
   */
  readonly inherited?: { readonly version: string; readonly shard: number };
}

/** Byte-range access to the records of one shard (in memory here; an object store in deployment). */
export interface RecordStore {
  /** Total size in bytes. */
  readonly size: number;
  /** Bytes [offset, offset + length); the range must lie inside the blob. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** CS1's only channel to CS2: one call per batch. */
export interface Cs2Transport {
  /** Sends one encrypted batch and returns CS2's decrypted (blinded) values, in batch order. */
  decryptBatch(batch: Uint8Array): Promise<bigint[]>;
  /**
   * Largest batch worth sending in one call (the network transports: what goes inline, without
   * staging). A stage's batch above it is cut into parts of at most this size, sent in parallel:
   * one round trip, each part its own CS2 call (in AWS its own execution environment), so CS2's
   * share of a query does not grow with its candidates. Undefined: never cut.
   */
  readonly partBytes?: number;
  /**
   * The parts of one stage, answered in order. Optional: without it the parts go out as
   * concurrent decryptBatch calls (a benchmark implements it to time each part alone).
   */
  decryptParts?(parts: readonly Uint8Array[]): Promise<bigint[][]>;
}

/**
 * How CS1 blinds a batch. 'shared': one monotone map a*x + b for the whole batch (the notes'
 * proposal; CS2 still sees differences a*(x_i - x_j)). 'per-value': one a, a fresh uniform b
 * per value: each value is perfectly hidden with bfv (b uniform mod t) and statistically with
 * she (see blindingLeakage in lib/he/blinding). CS1 unblinds exactly in both cases, so results
 * are identical.
 */
export type BlindingMode = 'shared' | 'per-value';

export interface Cs1Options {
  /** Default 'per-value'. */
  readonly blinding?: BlindingMode;
  /**
   * k-nearest queries start from the smallest radius whose candidate set holds at least
   * k * initialCandidateFactor positions (computed from public metadata; no CS2 call). Default 1.
   */
  readonly initialCandidateFactor?: number;
  /**
   * k-nearest: each further round widens the radius so that the candidate set grows about this
   * many times (estimated from public metadata), unless the k-th distance found so far is
   * smaller (then that round is the last). Default 4.
   */
  readonly candidateGrowth?: number;
  /**
   * Decoy records in stage-2 batches (padding.ts). Default { minValues: 16, powerOfTwo: true };
   * false: none beyond the one decoy record sent when nothing can match.
   */
  readonly padding?: Partial<BatchPadding> | false;
  /**
   * Most record bytes one shard task evaluates (at least one record); a shard with more
   * candidates is split over several tasks (workers) in the same round. Default
   * DEFAULT_MAX_TASK_BYTES (cs1.ts); Infinity: one task per shard.
   */
  readonly maxTaskBytes?: number;
}

/** Per-query counters (what a benchmark reports and what CS2 / storage saw). */
export interface QueryStats {
  /** Partitions that survived the stage-1 test (last round for k-nearest). */
  readonly partitionsSearched: number;
  /** Templates of candidate records whose distance was computed in stage 2 (all rounds; decoys excluded). */
  readonly candidates: number;
  /** Decoy records added to stage-2 batches (all rounds). */
  readonly decoyRecords: number;
  /** Round trips to CS2 (2 for a range query). */
  readonly cs2Calls: number;
  /** Batches sent to CS2 (a round trip carries several when a stage is cut into parts). */
  readonly cs2Parts: number;
  /** Bytes of all batches sent to CS2. */
  readonly bytesToCs2: number;
  /** Byte-range reads on the record store and the bytes they returned. */
  readonly recordReads: number;
  readonly bytesRead: number;
  /** Stage-2 rounds (1 for a range query; 1 or more for k-nearest). */
  readonly rounds: number;
  /** Shard tasks run (all rounds; a crowded shard is several tasks), and the most shards one round used. */
  readonly shardTasks: number;
  readonly maxShardsPerRound: number;
}

export interface QueryResult {
  /** Sorted by exact squared distance, ties by id (code-unit order). */
  readonly matches: Match[];
  readonly stats: QueryStats;
}
