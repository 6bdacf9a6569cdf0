/**
 * Shard workers as Lambda functions: every task of a stage is one synchronous invocation of
 * CS1's identify worker function (the same account), all started at once, so a stage takes as
 * long as its slowest shard rather than the sum. A stage with a single task runs in the
 * coordinator itself (`local`): there is nothing to run in parallel, and an invocation would
 * only add its latency.
 *
 * Failures: a worker that times out, cannot be reached (one retry on a broken connection) or
 * reports that a dependency is down makes the query UNAVAILABLE (503: the next query tries
 * again); any other worker error is a server fault (INTERNAL, logged by the worker).
 */
import { BlindsightError, InvalidInputError, MalformedDataError, UnavailableError } from '../core/errors';
import type { ObjectStore } from '../storage/types';
import type { QueryHandle, ShardTask, ShardTaskResult, ShardWorkers } from '../twoserver/protocol/shard-worker';
import { taskSlots } from '../twoserver/protocol/shard-worker';
import type { BlindingMode } from '../twoserver/protocol/types';
import { sha256Hex } from '../twoserver/transport/decrypt-event';
import { invokeLambda, isConnectionError } from './lambda-invoke';
import type { InvocationReply, LambdaInvoker } from './lambda-invoke';
import { parseShardWorkerResult, shardWorkerEvent } from '../twoserver/transport/worker-event';
import type { IndexName, OwnerId, VersionId } from '../core/ids';

/** Attempts shorter than this are pointless: fail fast instead. */
const MIN_ATTEMPT_MS = 50;

export interface InvokedShardWorkersOptions {
  readonly invoker: LambdaInvoker;
  /** Name or ARN of the worker function. */
  readonly functionName: string;
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  /** Templates of each shard and templates per record (the tasks' slots follow from them). */
  readonly shardTemplates: readonly number[];
  readonly vectorsPerRecord: number;
  /** CS1's bucket: where workers leave batches too large for a Lambda response. */
  readonly objects: ObjectStore;
  /** Runs a stage of one task in the coordinator. */
  readonly local?: ShardWorkers;
  /** Per-invocation timeout. */
  readonly timeoutMs: number;
  /** Epoch ms by which every invocation must be over (the coordinator's own deadline). */
  readonly deadline?: number;
}

export class InvokedShardWorkers implements ShardWorkers {
  /** Invocations made, and batches fetched from the bucket. */
  invocations = 0;
  stagedResults = 0;

  constructor(private readonly options: InvokedShardWorkersOptions) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) throw new InvalidInputError('shard workers: timeoutMs must be positive');
  }

  async evaluate(query: QueryHandle, tasks: readonly ShardTask[], mode: BlindingMode): Promise<ShardTaskResult[]> {
    if (tasks.length === 1 && this.options.local !== undefined) return this.options.local.evaluate(query, tasks, mode);
    return Promise.all(tasks.map((task) => this.invoke(query, task, mode)));
  }

  private async invoke(query: QueryHandle, task: ShardTask, mode: BlindingMode): Promise<ShardTaskResult> {
    const { ownerId, indexName, version, shardTemplates, vectorsPerRecord } = this.options;
    const templates = shardTemplates[task.shard];
    if (templates === undefined) throw new InvalidInputError(`no shard ${task.shard}`);
    const event = shardWorkerEvent({ ownerId, indexName, version, blinding: mode }, query.bytes, task.shard, task.records);
    const reply = await this.send(event, task.shard);
    if (reply.kind === 'function-error') {
      const detail = `shard worker ${task.shard} failed (${reply.errorType}${reply.errorMessage ? `: ${reply.errorMessage.slice(0, 300)}` : ''})`;
      // Lambda reports the error's type (its class name); the local gateway adds its code.
      const transient = ['UnavailableError', 'Sandbox.Timedout', 'TooManyRequestsException'];
      if (reply.errorCode === 'UNAVAILABLE' || transient.includes(reply.errorType)) {
        throw new UnavailableError(`${detail}; try again`);
      }
      throw new BlindsightError('INTERNAL', detail);
    }
    const slots = taskSlots(task.records, templates, vectorsPerRecord);
    let parsed;
    try {
      parsed = parseShardWorkerResult(reply.value, slots);
    } catch (error) {
      throw new BlindsightError('INTERNAL', error instanceof Error ? error.message : 'malformed shard worker result');
    }
    if (parsed.partial.shard !== task.shard) throw new BlindsightError('INTERNAL', `shard worker answered for shard ${parsed.partial.shard}, asked ${task.shard}`);
    const bytes = parsed.batch ?? (await this.fetchStaged(parsed.staged!));
    return { ...parsed.partial, bytes };
  }

  private async fetchStaged(staged: { key: string; sha256: string }): Promise<Uint8Array> {
    const { objects } = this.options;
    this.stagedResults++;
    try {
      const bytes = await objects.get(staged.key);
      if (sha256Hex(bytes) !== staged.sha256) throw new MalformedDataError('staged shard batch', 'its SHA-256 does not match the worker\'s');
      return bytes;
    } finally {
      await objects.delete(staged.key).catch(() => undefined);
    }
  }

  private attemptTimeout(): number {
    const { deadline, timeoutMs } = this.options;
    return deadline === undefined ? timeoutMs : Math.min(timeoutMs, deadline - Date.now());
  }

  private async send(event: unknown, shard: number): Promise<InvocationReply> {
    for (let attempt = 0; ; attempt++) {
      const ms = this.attemptTimeout();
      if (ms < MIN_ATTEMPT_MS) throw new UnavailableError(`no time is left to ask shard worker ${shard}`);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), ms);
      this.invocations++;
      try {
        return await invokeLambda(this.options.invoker, this.options.functionName, event, controller.signal);
      } catch (error) {
        if (controller.signal.aborted) throw new UnavailableError(`shard worker ${shard} did not answer within ${ms} ms`);
        if (attempt === 0 && isConnectionError(error)) continue;
        const name = error instanceof Error ? error.name : 'error';
        throw new UnavailableError(`the invocation of shard worker ${shard} failed (${name})`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
