/**
 * CS1 role: biometric identification (paper section 5.4) over the encrypted index.
 *
 * Range query with threshold tau (given as the exact integer tauSquared):
 *   stage 1: E(a*||q - O_i||^2 + b) for ALL reference points in ONE batch to CS2; CS1 unblinds
 *            the exact squared distances, keeps the partitions that can hold a match and turns
 *            them into key ranges (idistance-query.ts) and storage positions (segments);
 *   stage 2: the distances to ALL candidates of ALL surviving partitions in ONE batch; CS1
 *            returns the ids with dist2 <= tauSquared, sorted by (dist2, id).
 * Stage 2 evaluates whole RECORDS: every template of every record that holds a candidate. A
 * SIMD (bfv) record costs the same however few of its slots are wanted, and the provider
 * permutes the templates inside each record (provider.ts), so a candidate's key position only
 * names its record; extra templates are exact distances too and only ever add true matches.
 * Every stage-2 batch is padded with decoy records (padding.ts) to a power-of-two number of
 * records, at least padding.minValues values, so CS2 learns the size bucket of the candidate
 * set, not its size; when no partition survives, stage 2 still sends a batch of the minimum
 * size (exactly two CS2 calls per range query).
 *
 * k-nearest: stage 1, then rounds of stage 2 at growing radii R (squared). Round r evaluates
 * every not-yet-evaluated candidate of radius R (with the rest of their records and the
 * decoys, all kept as evaluated); it stops once at least k evaluated templates have dist2 <= R.
 * That is exact: every template with dist2 <= R is a candidate at R, so any template never
 * evaluated is farther than R, hence farther than the k-th result (ties at the k-th distance
 * are all <= R, so all evaluated, and broken by id). The first R comes from the
 * public metadata (smallest radius whose key ranges hold about k * initialCandidateFactor
 * templates, no CS2 call); the next is the k-th smallest distance found so far when k were
 * evaluated (the following round then always finishes), else R * 4 (the radius doubles). Once R
 * covers every partition entirely all templates have been evaluated and the loop ends.
 */
import { DimensionMismatchError, InvalidInputError } from '../../core/errors';
import { secureRandom } from '../../core/random';
import type { EncryptedQuery, HeEvaluator } from '../../he/types';
import { candidateRanges, coveringRadius, rangeSize, searchRanges } from '../idistance-query';
import { predictPosition } from '../segments/lookup';
import type { PositionRange } from '../segments/types';
import type { Match } from '../types';
import { evaluateBatch } from './batch';
import { drawDecoyRecords, paddedRecordCount, resolveBatchPadding } from './padding';
import type { BatchPadding } from './padding';
import { planReads } from './read-plan';
import type { BlindingMode, Cs1Index, Cs1Options, Cs2Transport, QueryResult, QueryStats, RecordStore } from './types';

const DEFAULT_INITIAL_CANDIDATE_FACTOR = 2;
/** Bisection steps for the first k-nearest radius (relative precision 2^-40 is plenty). */
const RADIUS_BISECTION_STEPS = 40;

function byDistanceThenId(a: Match, b: Match): number {
  return a.dist2 - b.dist2 || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Distinct records (ascending) holding the positions of sorted, disjoint ranges. */
function recordsOfRanges(ranges: readonly PositionRange[], vectorsPerRecord: number): number[] {
  const out: number[] = [];
  for (const { start, end } of ranges) {
    if (end <= start) continue;
    const first = Math.max(Math.floor(start / vectorsPerRecord), out.length > 0 ? out[out.length - 1] + 1 : 0);
    const last = Math.floor((end - 1) / vectorsPerRecord);
    for (let r = first; r <= last; r++) out.push(r);
  }
  return out;
}

/** Every position of the given records (ascending), as ranges clipped to the n templates. */
function recordsToRanges(records: readonly number[], vectorsPerRecord: number, n: number): PositionRange[] {
  const out: PositionRange[] = [];
  for (const r of records) {
    const start = r * vectorsPerRecord;
    const end = Math.min(n, start + vectorsPerRecord);
    const last = out[out.length - 1];
    if (last !== undefined && last.end === start) out[out.length - 1] = { start: last.start, end };
    else out.push({ start, end });
  }
  return out;
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
  bytesToCs2 = 0;
  recordReads = 0;
  bytesRead = 0;
  rounds = 0;
  decoyRecords = 0;

  snapshot(): QueryStats {
    return { ...this };
  }
}

export class Cs1Server {
  private readonly blinding: BlindingMode;
  private readonly initialCandidateFactor: number;
  private readonly padding: BatchPadding;

  /**
   * Checks that the index, the records and the evaluation material belong together
   * (InvalidInputError otherwise).
   */
  constructor(
    private readonly evaluator: HeEvaluator,
    private readonly index: Cs1Index,
    private readonly store: RecordStore,
    private readonly transport: Cs2Transport,
    options: Cs1Options = {},
  ) {
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
    const records = (count: number) => Math.ceil(count / descriptor.vectorsPerRecord) * descriptor.recordBytes;
    if (index.referenceRecords.length !== records(metadata.partitions)) {
      throw new InvalidInputError(`CS1: expected ${records(metadata.partitions)} bytes of encrypted reference points`);
    }
    if (store.size !== records(metadata.n)) {
      throw new InvalidInputError(`CS1: the record store holds ${store.size} bytes, expected ${records(metadata.n)}`);
    }
    this.blinding = options.blinding ?? 'per-value';
    if (this.blinding !== 'shared' && this.blinding !== 'per-value') {
      throw new InvalidInputError(`CS1: blinding "${String(this.blinding)}" must be 'shared' or 'per-value'`);
    }
    this.initialCandidateFactor = options.initialCandidateFactor ?? DEFAULT_INITIAL_CANDIDATE_FACTOR;
    if (!Number.isFinite(this.initialCandidateFactor) || this.initialCandidateFactor <= 0) {
      throw new InvalidInputError('CS1: initialCandidateFactor must be a positive number');
    }
    this.padding = resolveBatchPadding(options.padding);
  }

  get templateCount(): number {
    return this.index.metadata.n;
  }

  /** Every template within sqrt(tauSquared) of the request (exact integer comparison). */
  async rangeQuery(request: Uint8Array, tauSquared: number): Promise<QueryResult> {
    if (typeof tauSquared !== 'number' || !Number.isFinite(tauSquared) || tauSquared < 0) {
      throw new InvalidInputError('range query: tauSquared must be a finite number >= 0');
    }
    const query = this.evaluator.openQuery(request);
    try {
      const counters = new Counters();
      const centreDist2 = await this.stage1(query, counters);
      const searches = searchRanges(this.index.metadata, centreDist2, tauSquared);
      counters.partitionsSearched = searches.length;
      const ranges = candidateRanges(this.index.metadata, this.index.segments, searches);
      // No candidates: a batch of decoys only, the same size as the smallest real batch.
      const evaluated = await this.evaluateRecords(query, recordsOfRanges(ranges, this.index.vectorsPerRecord), counters);
      const matches = evaluated.map((e) => e.match).filter((m) => m.dist2 <= tauSquared);
      return { matches: matches.sort(byDistanceThenId), stats: counters.snapshot() };
    } finally {
      query.dispose();
    }
  }

  /** The k nearest templates (fewer if there are fewer), sorted by (dist2, id). */
  async nearest(request: Uint8Array, k: number): Promise<QueryResult> {
    if (!Number.isInteger(k) || k < 1) throw new InvalidInputError(`k-nearest: k = ${k} must be a positive integer`);
    const { metadata, segments } = this.index;
    const wanted = Math.min(k, metadata.n);
    const query = this.evaluator.openQuery(request);
    try {
      const counters = new Counters();
      const centreDist2 = await this.stage1(query, counters);
      const evaluated = new Map<number, Match>(); // storage position -> match (whole records)
      const vpr = this.index.vectorsPerRecord;
      let radiusSquared = this.initialRadiusSquared(centreDist2, Math.min(metadata.n, Math.ceil(wanted * this.initialCandidateFactor)));
      for (;;) {
        const searches = searchRanges(metadata, centreDist2, radiusSquared);
        counters.partitionsSearched = searches.length;
        const ranges = candidateRanges(metadata, segments, searches);
        // Records are evaluated whole, so a record's first position tells whether it was.
        const fresh = recordsOfRanges(ranges, vpr).filter((r) => !evaluated.has(r * vpr));
        if (fresh.length > 0) {
          for (const e of await this.evaluateRecords(query, fresh, counters)) evaluated.set(e.position, e.match);
        }
        const all = [...evaluated.values()].sort(byDistanceThenId);
        const within = all.filter((m) => m.dist2 <= radiusSquared).length;
        if (within >= wanted || rangeSize(ranges) === metadata.n) return { matches: all.slice(0, wanted), stats: counters.snapshot() };
        radiusSquared = all.length >= wanted ? all[wanted - 1].dist2 : Math.max(1, radiusSquared * 4);
      }
    } finally {
      query.dispose();
    }
  }

  /** Exact squared distances to every reference point: one batch. */
  private async stage1(query: EncryptedQuery, counters: Counters): Promise<Float64Array> {
    const k = this.index.metadata.partitions;
    const slots = Array.from({ length: k }, (_, i) => i);
    const outcome = await evaluateBatch(this.evaluator, this.transport, query, [this.index.referenceRecords], slots, this.blinding);
    counters.cs2Calls++;
    counters.bytesToCs2 += outcome.bytes;
    return outcome.dist2;
  }

  /**
   * Reads the candidate records plus decoys (padding.ts) and evaluates every template in them in
   * one batch. `records`: distinct, ascending record indices (may be empty: decoys only).
   */
  private async evaluateRecords(query: EncryptedQuery, records: readonly number[], counters: Counters): Promise<Evaluated[]> {
    const { recordBytes, vectorsPerRecord } = this.index;
    const n = this.index.metadata.n;
    const total = Math.ceil(n / vectorsPerRecord);
    const decoys = drawDecoyRecords(records, paddedRecordCount(records.length, total, vectorsPerRecord, this.padding) - records.length, total, secureRandom);
    const all = [...records, ...decoys].sort((x, y) => x - y);
    const plan = planReads(recordsToRanges(all, vectorsPerRecord, n), vectorsPerRecord);
    const reads = await Promise.all(plan.runs.map((run) => this.store.read(run.firstRecord * recordBytes, run.count * recordBytes)));
    reads.forEach((bytes, i) => {
      if (bytes.length !== plan.runs[i].count * recordBytes) throw new DimensionMismatchError('record read', plan.runs[i].count * recordBytes, bytes.length);
      counters.bytesRead += bytes.length;
    });
    counters.recordReads += reads.length;
    const outcome = await evaluateBatch(this.evaluator, this.transport, query, reads, plan.slots, this.blinding);
    counters.cs2Calls++;
    counters.rounds++;
    counters.bytesToCs2 += outcome.bytes;
    counters.decoyRecords += decoys.length;
    const decoySet = new Set(decoys);
    plan.positions.forEach((p) => {
      if (!decoySet.has(Math.floor(p / vectorsPerRecord))) counters.candidates++;
    });
    return plan.positions.map((p, i) => ({ position: p, match: { id: this.index.templateIds[p], dist2: outcome.dist2[i] } }));
  }

  /**
   * Smallest radius (squared) whose key ranges hold about `target` templates, estimated from the
   * segments' predictions without their error windows (public data only).
   */
  private initialRadiusSquared(centreDist2: Float64Array, target: number): number {
    const { metadata, segments } = this.index;
    const estimate = (radius: number): number => {
      let total = 0;
      for (const s of searchRanges(metadata, centreDist2, radius * radius)) {
        const lo = Math.max(metadata.partitionStarts[s.partition], predictPosition(segments, s.keyLo));
        const hi = Math.min(metadata.partitionStarts[s.partition + 1], predictPosition(segments, s.keyHi) + 1);
        if (hi > lo) total += hi - lo;
      }
      return total;
    };
    let lo = 0;
    let hi = coveringRadius(metadata, centreDist2);
    if (estimate(lo) >= target) return 0;
    for (let step = 0; step < RADIUS_BISECTION_STEPS && hi - lo > 1e-9 * hi; step++) {
      const mid = (lo + hi) / 2;
      if (estimate(mid) >= target) hi = mid;
      else lo = mid;
    }
    return hi * hi;
  }
}
