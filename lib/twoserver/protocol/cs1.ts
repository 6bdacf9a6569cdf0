/**
 * CS1 role: biometric identification (paper section 5.4) over the encrypted index. This is the
 * COORDINATOR: it holds the public index (metadata, segments, encrypted reference points, ids,
 * shard table) and decides what to evaluate; the templates' records are evaluated by shard
 * workers (shard-worker.ts: in process, or one Lambda per shard), in parallel.
 *
 * Range query with threshold tau (given as the exact integer tauSquared):
 *   stage 1: E(a*||q - O_i||^2 + b) for ALL reference points in ONE batch to CS2; CS1 unblinds
 *            the exact squared distances, keeps the partitions that can hold a match and turns
 *            them into key ranges (idistance-query.ts) and storage positions (segments);
 *   stage 2: every shard holding candidate records evaluates them (one task per shard, all in
 *            parallel); the coordinator merges the shards' batches into ONE batch to CS2 and
 *            returns the ids with dist2 <= tauSquared, sorted by (dist2, id).
 * Stage 2 evaluates whole RECORDS: every template of every record that holds a candidate. A
 * SIMD (bfv) record costs the same however few of its slots are wanted, and the provider
 * permutes the templates inside each record (provider.ts), so a candidate's key position only
 * names its record; extra templates are exact distances too and only ever add true matches.
 * Every stage-2 batch is padded with decoy records (padding.ts; drawn over all shards) to a
 * power-of-two number of records, at least padding.minValues values, so CS2 learns the size
 * bucket of the candidate set, not its size nor how it spreads over shards; when no partition
 * survives, stage 2 still sends a batch of the minimum size (exactly two CS2 calls per range
 * query, whatever the number of shards).
 *
 * k-nearest: stage 1, then rounds of stage 2 at growing radii R (squared). Round r evaluates
 * every not-yet-evaluated candidate of radius R (with the rest of their records and the
 * decoys, all kept as evaluated); it stops once at least k evaluated templates have dist2 <= R.
 * That is exact: every template with dist2 <= R is a candidate at R, so any template never
 * evaluated is farther than R, hence farther than the k-th result (ties at the k-th distance
 * are all <= R, so all evaluated, and broken by id).
 * Radii. No exact search built on iDistance's pruning can evaluate fewer templates than the
 * candidates at R = r_k^2, the k-th nearest squared distance: a template whose key lies within
 * r_k of the query's key in its partition may be among the k nearest, whatever its true
 * distance. So the schedule aims at r_k without overshooting it by much:
 * - the first R is the smallest radius whose key ranges hold about k * initialCandidateFactor
 *   templates, estimated from the public metadata (segments' predictions, no CS2 call);
 * - each next R is the SMALLER of the k-th distance found so far (an upper bound of r_k^2:
 *   the round after is then the last) and the radius whose key ranges are estimated to hold
 *   candidateGrowth times the current candidates (at least R * 4 if the estimate does not
 *   grow), so the candidate set grows geometrically and the last round evaluates at most about
 *   candidateGrowth times the candidates at r_k.
 * The k-th distance found so far alone (the previous schedule) is a poor bound in high
 * dimensions: the first candidates come from annuli, not from near the query, so their k-th
 * distance covered most of the index (3,456 of 4,000 templates examined at k = 40).
 * Once R covers every partition entirely, all templates have been evaluated and the loop ends.
 */
import { evenChunks } from '../../core/even-split';
import { InvalidInputError } from '../../core/errors';
import { secureRandom } from '../../core/random';
import type { HeEvaluator } from '../../he/types';
import { candidateRanges, coveringRadius, rangeSize, searchRanges } from '../idistance-query';
import { predictPosition } from '../segments/lookup';
import { recordsOfRanges, shardLayout, shardOfRecord, templateCount, totalRecords } from '../shards';
import type { ShardLayout } from '../shards';
import type { Match } from '../types';
import { exchangeBatches, prepareBatch } from './batch';
import { drawDecoyRecords, paddedRecordCount, resolveBatchPadding } from './padding';
import type { BatchPadding } from './padding';
import type { QueryHandle, ShardTask, ShardWorkers } from './shard-worker';
import type { BlindingMode, Cs1Index, Cs1Options, Cs2Transport, QueryResult, QueryStats } from './types';

const DEFAULT_INITIAL_CANDIDATE_FACTOR = 1;
const DEFAULT_CANDIDATE_GROWTH = 4;
/**
 * Record bytes one shard task evaluates at most (at least one record). A query's candidates
 * crowd into the shards of its neighbouring partitions; capping tasks spreads a crowded shard
 * over several workers, so the slowest worker (the query's critical path) does about as much
 * as the others. A worker's time grows with the record bytes it reads and multiplies (bfv: one
 * ciphertext-plaintext product per record, about 197 KB at N = 8192; she: d ciphertexts per
 * template), so the cap is in bytes: about 31 bfv records, 48 she templates of d = 512.
 */
export const DEFAULT_MAX_TASK_BYTES = 6 * 1024 * 1024;
/** Bisection steps for a radius (relative precision 2^-40 is plenty). */
const RADIUS_BISECTION_STEPS = 40;

function byDistanceThenId(a: Match, b: Match): number {
  return a.dist2 - b.dist2 || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** An evaluated template: storage position and exact match. */
interface Evaluated {
  readonly position: number;
  readonly match: Match;
}

/** Mutable per-query counters. */
class Counters {
  partitionsSearched = 0;
  candidates = 0;
  cs2Calls = 0;
  cs2Parts = 0;
  bytesToCs2 = 0;
  recordReads = 0;
  bytesRead = 0;
  rounds = 0;
  decoyRecords = 0;
  shardTasks = 0;
  maxShardsPerRound = 0;

  snapshot(): QueryStats {
    return { ...this };
  }
}

/** Checks the cross-field invariants of an index (InvalidInputError otherwise). */
export function checkCs1Index(index: Cs1Index, evaluator: HeEvaluator): ShardLayout {
  const descriptor = evaluator.descriptor;
  if (descriptor.keyId !== index.keyId || descriptor.backend !== index.backend) {
    throw new InvalidInputError('CS1: the index was encrypted under another HE key than the evaluation material');
  }
  if (descriptor.recordBytes !== index.recordBytes || descriptor.vectorsPerRecord !== index.vectorsPerRecord) {
    throw new InvalidInputError('CS1: the index record layout does not match the evaluation material');
  }
  const { metadata, segments } = index;
  if (segments.n !== metadata.n || index.templateIds.length !== metadata.n) {
    throw new InvalidInputError('CS1: segments, ids and metadata disagree on the number of templates');
  }
  const referenceBytes = Math.ceil(metadata.partitions / descriptor.vectorsPerRecord) * descriptor.recordBytes;
  if (index.referenceRecords.length !== referenceBytes) {
    throw new InvalidInputError(`CS1: expected ${referenceBytes} bytes of encrypted reference points`);
  }
  const layout = shardLayout(
    index.shards.map((s) => s.templates),
    descriptor.vectorsPerRecord,
  );
  if (templateCount(layout) !== metadata.n) throw new InvalidInputError(`CS1: the shards hold ${templateCount(layout)} templates, the index ${metadata.n}`);
  return layout;
}

export class Cs1Server {
  private readonly blinding: BlindingMode;
  private readonly initialCandidateFactor: number;
  private readonly candidateGrowth: number;
  private readonly padding: BatchPadding;
  private readonly recordsPerTask: number;
  readonly layout: ShardLayout;

  /**
   * Checks that the index and the evaluation material belong together (InvalidInputError
   * otherwise). `workers` evaluate the shards' records.
   */
  constructor(
    private readonly evaluator: HeEvaluator,
    private readonly index: Cs1Index,
    private readonly workers: ShardWorkers,
    private readonly transport: Cs2Transport,
    options: Cs1Options = {},
  ) {
    this.layout = checkCs1Index(index, evaluator);
    this.blinding = options.blinding ?? 'per-value';
    if (this.blinding !== 'shared' && this.blinding !== 'per-value') {
      throw new InvalidInputError(`CS1: blinding "${String(this.blinding)}" must be 'shared' or 'per-value'`);
    }
    this.initialCandidateFactor = options.initialCandidateFactor ?? DEFAULT_INITIAL_CANDIDATE_FACTOR;
    if (!Number.isFinite(this.initialCandidateFactor) || this.initialCandidateFactor <= 0) {
      throw new InvalidInputError('CS1: initialCandidateFactor must be a positive number');
    }
    this.candidateGrowth = options.candidateGrowth ?? DEFAULT_CANDIDATE_GROWTH;
    if (!Number.isFinite(this.candidateGrowth) || this.candidateGrowth <= 1) {
      throw new InvalidInputError('CS1: candidateGrowth must be a number > 1');
    }
    this.padding = resolveBatchPadding(options.padding);
    const maxTaskBytes = options.maxTaskBytes ?? DEFAULT_MAX_TASK_BYTES;
    if (!(maxTaskBytes === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxTaskBytes) && maxTaskBytes >= 1))) {
      throw new InvalidInputError('CS1: maxTaskBytes must be a positive integer (or Infinity: one task per shard)');
    }
    this.recordsPerTask = Math.max(1, Math.floor(maxTaskBytes / index.recordBytes));
  }

  get templateCount(): number {
    return this.index.metadata.n;
  }

  /** Every template within sqrt(tauSquared) of the request (exact integer comparison). */
  async rangeQuery(request: Uint8Array, tauSquared: number): Promise<QueryResult> {
    if (typeof tauSquared !== 'number' || !Number.isFinite(tauSquared) || tauSquared < 0) {
      throw new InvalidInputError('range query: tauSquared must be a finite number >= 0');
    }
    const query = { bytes: request, opened: this.evaluator.openQuery(request) };
    try {
      const counters = new Counters();
      const centreDist2 = await this.stage1(query, counters);
      const searches = searchRanges(this.index.metadata, centreDist2, tauSquared);
      counters.partitionsSearched = searches.length;
      const ranges = candidateRanges(this.index.metadata, this.index.segments, searches);
      // No candidates: a batch of decoys only, the same size as the smallest real batch.
      const evaluated = await this.evaluateRecords(query, recordsOfRanges(this.layout, ranges), counters);
      const matches = evaluated.map((e) => e.match).filter((m) => m.dist2 <= tauSquared);
      return { matches: matches.sort(byDistanceThenId), stats: counters.snapshot() };
    } finally {
      query.opened.dispose();
    }
  }

  /** The k nearest templates (fewer if there are fewer), sorted by (dist2, id). */
  async nearest(request: Uint8Array, k: number): Promise<QueryResult> {
    if (!Number.isInteger(k) || k < 1) throw new InvalidInputError(`k-nearest: k = ${k} must be a positive integer`);
    const { metadata, segments } = this.index;
    const wanted = Math.min(k, metadata.n);
    const query = { bytes: request, opened: this.evaluator.openQuery(request) };
    try {
      const counters = new Counters();
      const centreDist2 = await this.stage1(query, counters);
      const evaluated = new Map<number, Match>(); // storage position -> match (whole records)
      const done = new Set<number>(); // evaluated global records
      const target = Math.min(metadata.n, Math.ceil(wanted * this.initialCandidateFactor));
      let radiusSquared = this.radiusSquaredFor(centreDist2, target);
      for (;;) {
        const searches = searchRanges(metadata, centreDist2, radiusSquared);
        counters.partitionsSearched = searches.length;
        const ranges = candidateRanges(metadata, segments, searches);
        const fresh = recordsOfRanges(this.layout, ranges).filter((r) => !done.has(r));
        if (fresh.length > 0) {
          for (const e of await this.evaluateRecords(query, fresh, counters, done)) evaluated.set(e.position, e.match);
        }
        const all = [...evaluated.values()].sort(byDistanceThenId);
        const within = all.filter((m) => m.dist2 <= radiusSquared).length;
        if (within >= wanted || rangeSize(ranges) === metadata.n) return { matches: all.slice(0, wanted), stats: counters.snapshot() };
        radiusSquared = this.nextRadiusSquared(centreDist2, radiusSquared, all.length >= wanted ? all[wanted - 1].dist2 : Infinity);
      }
    } finally {
      query.opened.dispose();
    }
  }

  /** Exact squared distances to every reference point: one batch, evaluated here. */
  private async stage1(query: QueryHandle, counters: Counters): Promise<Float64Array> {
    const k = this.index.metadata.partitions;
    const slots = Array.from({ length: k }, (_, i) => i);
    const batch = prepareBatch(this.evaluator, query.opened, [this.index.referenceRecords], slots, this.blinding);
    const outcome = await exchangeBatches(this.evaluator.descriptor, this.transport, [batch]);
    counters.cs2Calls++;
    counters.cs2Parts += outcome.parts;
    counters.bytesToCs2 += outcome.bytes;
    return outcome.dist2[0];
  }

  /**
   * Pads the candidate records with decoys (padding.ts), has every shard involved evaluate its
   * records, and sends all of it to CS2 as one batch. `records`: distinct, ascending global
   * record indices (may be empty: decoys only). Evaluated records are added to `done`.
   */
  private async evaluateRecords(query: QueryHandle, records: readonly number[], counters: Counters, done?: Set<number>): Promise<Evaluated[]> {
    const { vectorsPerRecord: vpr } = this.index;
    const layout = this.layout;
    const total = totalRecords(layout);
    // Decoys come from records not evaluated before either, so every round's batch is fresh.
    const taken = done === undefined || done.size === 0 ? [...records] : [...new Set([...records, ...done])].sort((x, y) => x - y);
    const free = total - taken.length;
    const decoyCount = Math.min(free, paddedRecordCount(records.length, total, vpr, this.padding) - records.length);
    const decoys = drawDecoyRecords(taken, decoyCount, total, secureRandom);
    const decoySet = new Set(decoys);

    const byShard = new Map<number, number[]>();
    for (const record of [...records, ...decoys].sort((x, y) => x - y)) {
      const { shard, local } = shardOfRecord(layout, record);
      let list = byShard.get(shard);
      if (list === undefined) byShard.set(shard, (list = []));
      list.push(local);
      done?.add(record);
    }
    const tasks: ShardTask[] = [...byShard].flatMap(([shard, locals]) => evenChunks(locals, this.recordsPerTask).map((records) => ({ shard, records })));
    const results = await this.workers.evaluate(query, tasks, this.blinding);
    if (results.length !== tasks.length || results.some((r, i) => r.shard !== tasks[i].shard)) {
      throw new InvalidInputError('CS1: the shard workers did not answer every task');
    }
    const outcome = await exchangeBatches(this.evaluator.descriptor, this.transport, results);
    counters.cs2Calls++;
    counters.cs2Parts += outcome.parts;
    counters.rounds++;
    counters.bytesToCs2 += outcome.bytes;
    counters.decoyRecords += decoys.length;
    counters.shardTasks += tasks.length;
    counters.maxShardsPerRound = Math.max(counters.maxShardsPerRound, byShard.size);

    const out: Evaluated[] = [];
    results.forEach((result, t) => {
      counters.recordReads += result.recordReads;
      counters.bytesRead += result.bytesRead;
      const task = tasks[t];
      const base = layout.positionStarts[task.shard];
      const recordBase = layout.recordBases[task.shard];
      result.slots.forEach((slot, i) => {
        const local = task.records[Math.floor(slot / vpr)];
        const position = base + local * vpr + (slot % vpr);
        if (!decoySet.has(recordBase + local)) counters.candidates++;
        out.push({ position, match: { id: this.index.templateIds[position], dist2: outcome.dist2[t][i] } });
      });
    });
    return out;
  }

  /** Estimated number of positions in the key ranges of a radius (segments' predictions, no windows). */
  private estimatedCandidates(centreDist2: Float64Array, radius: number): number {
    const { metadata, segments } = this.index;
    let total = 0;
    for (const s of searchRanges(metadata, centreDist2, radius * radius)) {
      const lo = Math.max(metadata.partitionStarts[s.partition], predictPosition(segments, s.keyLo));
      const hi = Math.min(metadata.partitionStarts[s.partition + 1], predictPosition(segments, s.keyHi) + 1);
      if (hi > lo) total += hi - lo;
    }
    return total;
  }

  /** Smallest radius (squared) whose key ranges hold about `target` templates (public data only). */
  private radiusSquaredFor(centreDist2: Float64Array, target: number): number {
    let lo = 0;
    let hi = coveringRadius(this.index.metadata, centreDist2);
    if (this.estimatedCandidates(centreDist2, lo) >= target) return 0;
    for (let step = 0; step < RADIUS_BISECTION_STEPS && hi - lo > 1e-9 * hi; step++) {
      const mid = (lo + hi) / 2;
      if (this.estimatedCandidates(centreDist2, mid) >= target) hi = mid;
      else lo = mid;
    }
    return hi * hi;
  }

  /** The radius of the next k-nearest round (see the header); always larger than `current`. */
  private nextRadiusSquared(centreDist2: Float64Array, current: number, kthFound: number): number {
    const grown = Math.max(1, this.estimatedCandidates(centreDist2, Math.sqrt(current))) * this.candidateGrowth;
    let next = this.radiusSquaredFor(centreDist2, Math.min(this.index.metadata.n, Math.ceil(grown)));
    if (!(next > current)) next = Math.max(1, current * 4);
    return Math.min(kthFound, next);
  }
}
