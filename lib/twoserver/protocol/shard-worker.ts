/**
 * The shard worker role: evaluates the encrypted distances of some records of ONE shard. CS1's
 * coordinator (cs1.ts) decides which records every shard must evaluate and gives each shard's
 * task to a worker: in process ({@link LocalShardWorkers}: tests, benchmarks, small
 * deployments) or one Lambda invocation per shard (lib/service/two-server), all in parallel.
 *
 * A task names records by their index inside the shard. The worker reads them (adjacent
 * records in one byte-range read), evaluates EVERY template they hold (whole records: see
 * cs1.ts) under a blinding it draws itself, and returns the batch with that blinding; the
 * coordinator merges the batches of all workers into one CS2 call and unblinds.
 *
 * Slots: the template at index j of the k-th record of the task has slot k * vpr + j; the
 * padding of the shard's last record is never requested.
 */
import { DimensionMismatchError, InvalidInputError } from '../../core/errors';
import type { EncryptedQuery, HeEvaluator } from '../../he/types';
import { prepareBatch } from './batch';
import type { PreparedBatch } from './batch';
import type { BlindingMode, RecordStore } from './types';

/** Records of one shard to evaluate. */
export interface ShardTask {
  readonly shard: number;
  /** Record indices inside the shard: distinct, ascending. */
  readonly records: readonly number[];
}

export interface ShardTaskResult extends PreparedBatch {
  readonly shard: number;
  /** Byte-range reads and the bytes they returned. */
  readonly recordReads: number;
  readonly bytesRead: number;
}

/** The query as every kind of worker needs it: the client's bytes, and opened for local use. */
export interface QueryHandle {
  readonly bytes: Uint8Array;
  readonly opened: EncryptedQuery;
}

/** Runs the tasks of one stage, in parallel where it can; results in task order. */
export interface ShardWorkers {
  evaluate(query: QueryHandle, tasks: readonly ShardTask[], mode: BlindingMode): Promise<ShardTaskResult[]>;
}

/** Consecutive runs of sorted record indices: [first, count]. */
export function recordRuns(records: readonly number[]): Array<{ first: number; count: number }> {
  const runs: Array<{ first: number; count: number }> = [];
  for (const r of records) {
    const last = runs[runs.length - 1];
    if (last !== undefined && r === last.first + last.count) last.count++;
    else runs.push({ first: r, count: 1 });
  }
  return runs;
}

/** The slots of a task's records (padding of the shard's last record excluded). */
export function taskSlots(records: readonly number[], shardTemplates: number, vectorsPerRecord: number): number[] {
  const slots: number[] = [];
  records.forEach((record, k) => {
    const valid = Math.min(vectorsPerRecord, shardTemplates - record * vectorsPerRecord);
    for (let j = 0; j < valid; j++) slots.push(k * vectorsPerRecord + j);
  });
  return slots;
}

/** Checks a task against its shard: distinct ascending records inside it. */
export function checkTask(task: ShardTask, shardTemplates: number, vectorsPerRecord: number): void {
  const records = Math.ceil(shardTemplates / vectorsPerRecord);
  if (!Array.isArray(task.records) || task.records.length === 0) throw new InvalidInputError(`shard ${task.shard}: a task needs at least one record`);
  task.records.forEach((r, k) => {
    if (!Number.isInteger(r) || r < 0 || r >= records) throw new InvalidInputError(`shard ${task.shard}: record ${r} is outside [0, ${records})`);
    if (k > 0 && r <= task.records[k - 1]) throw new InvalidInputError(`shard ${task.shard}: records must be distinct and ascending`);
  });
}

/**
 * Evaluates a task on a shard's records: the worker's whole job, wherever it runs. `store`
 * holds the shard's records (ceil(shardTemplates / vpr) * recordBytes bytes).
 */
export async function evaluateShardTask(
  evaluator: HeEvaluator,
  query: EncryptedQuery,
  store: RecordStore,
  shardTemplates: number,
  task: ShardTask,
  mode: BlindingMode,
): Promise<ShardTaskResult> {
  const { recordBytes, vectorsPerRecord: vpr } = evaluator.descriptor;
  checkTask(task, shardTemplates, vpr);
  const expected = Math.ceil(shardTemplates / vpr) * recordBytes;
  if (store.size !== expected) throw new InvalidInputError(`shard ${task.shard}: the record store holds ${store.size} bytes, expected ${expected}`);
  const runs = recordRuns(task.records);
  const reads = await Promise.all(runs.map((run) => store.read(run.first * recordBytes, run.count * recordBytes)));
  let bytesRead = 0;
  reads.forEach((bytes, i) => {
    if (bytes.length !== runs[i].count * recordBytes) throw new DimensionMismatchError('record read', runs[i].count * recordBytes, bytes.length);
    bytesRead += bytes.length;
  });
  const prepared = prepareBatch(evaluator, query, reads, taskSlots(task.records, shardTemplates, vpr), mode);
  return { ...prepared, shard: task.shard, recordReads: reads.length, bytesRead };
}

/**
 * Workers in this process over one record store per shard (tasks run one after another: they
 * are CPU-bound and share this thread).
 */
export class LocalShardWorkers implements ShardWorkers {
  constructor(
    private readonly evaluator: HeEvaluator,
    /** Templates of each shard. */
    private readonly shardTemplates: readonly number[],
    private readonly stores: readonly RecordStore[],
  ) {
    if (stores.length !== shardTemplates.length) throw new InvalidInputError(`local workers: ${stores.length} record stores for ${shardTemplates.length} shards`);
    const { recordBytes, vectorsPerRecord } = evaluator.descriptor;
    stores.forEach((store, s) => {
      const expected = Math.ceil(shardTemplates[s] / vectorsPerRecord) * recordBytes;
      if (store.size !== expected) throw new InvalidInputError(`CS1: the record store of shard ${s} holds ${store.size} bytes, expected ${expected}`);
    });
  }

  async evaluate(query: QueryHandle, tasks: readonly ShardTask[], mode: BlindingMode): Promise<ShardTaskResult[]> {
    const out: ShardTaskResult[] = [];
    for (const task of tasks) {
      if (!Number.isInteger(task.shard) || task.shard < 0 || task.shard >= this.stores.length) throw new InvalidInputError(`no shard ${task.shard}`);
      out.push(await evaluateShardTask(this.evaluator, query.opened, this.stores[task.shard], this.shardTemplates[task.shard], task, mode));
    }
    return out;
  }
}
