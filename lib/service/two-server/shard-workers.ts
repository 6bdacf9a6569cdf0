/**
 * Who evaluates a query's shards, from the environment (lib/config/settings.ts):
 * BLINDSIGHT_IDENTIFY_WORKER_FUNCTION names the identify worker function, whose parallel
 * invocations evaluate each stage's shards (AWS; the local cloud's own Lambda endpoint; unset: in
 * this process), with BLINDSIGHT_IDENTIFY_WORKER_TIMEOUT_MS per invocation. The SDK reads
 * AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL itself (the local cloud, LocalStack).
 *
 * In this process, each shard's records are read from S3 by byte range, checked against the
 * digests fixed at publish. A misconfiguration is a
 * server fault (INTERNAL, naming the variable).
 */
import { EnvironmentConfig } from '../../config/environment';
import type { Environment } from '../../config/types';
import { BlindsightError } from '../../core/errors';
import type { HeEvaluator } from '../../he/types';
import { indexPartObjectKey } from '../../storage/object-keys';
import type { ObjectStore } from '../../storage/types';
import { LocalShardWorkers } from '../../twoserver/protocol/shard-worker';
import type { ShardWorkers } from '../../twoserver/protocol/shard-worker';
import { InvokedShardWorkers } from '../../invoke/invoked-workers';
import { createLambdaInvoker } from '../../invoke/lambda-invoke';
import type { LambdaInvoker } from '../../invoke/lambda-invoke';
import { ObjectStoreRecordStore } from '../../twoserver/transport/object-record-store';
import type { VerifiedParts } from '../versions/verified-parts';
import type { TwoServerMetadata } from './metadata';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

export interface ShardWorkersConfig {
  /** Unset: shards are evaluated in this process. */
  readonly functionName?: string;
  readonly timeoutMs: number;
}

/** What one query needs to reach its version's shards. */
export interface ShardWorkersContext {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly metadata: TwoServerMetadata;
  readonly evaluator: HeEvaluator;
  readonly objects: ObjectStore;
  /** Checks record reads against the digests fixed at publish (unset: unchecked reads, tests only). */
  readonly verified?: VerifiedParts;
  /** Epoch ms by which every invocation must be over. */
  readonly deadline?: number;
  readonly recordReadConcurrency?: number;
}

export type ShardWorkersFactory = (context: ShardWorkersContext) => ShardWorkers;

function misconfigured(message: string): BlindsightError {
  return new BlindsightError('INTERNAL', `CS1 is not configured to run shard workers: ${message}`);
}

export function readShardWorkersConfig(env?: Environment): ShardWorkersConfig {
  const config = new EnvironmentConfig(env, { misconfigured });
  const functionName = config.get('identifyWorkerFunction')?.trim() || undefined;
  if (functionName !== undefined && !/^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$/.test(functionName)) {
    throw misconfigured('BLINDSIGHT_IDENTIFY_WORKER_FUNCTION must be a function name or ARN');
  }
  return { functionName, timeoutMs: config.get('identifyWorkerTimeoutMs') };
}

/** Workers in this process: each shard's records read from S3 by byte range. */
export function localShardWorkers(context: ShardWorkersContext): LocalShardWorkers {
  const { metadata, ownerId, indexName, objects } = context;
  return new LocalShardWorkers(
    context.evaluator,
    metadata.shards.map((s) => s.templates),
    metadata.shards.map(
      (shard) =>
        new ObjectStoreRecordStore({
          objects: context.verified?.lazilyCheckedStore(objects, ownerId, indexName, shard.ref) ?? objects,
          key: indexPartObjectKey(ownerId, indexName, shard.ref.version, shard.ref.part),
          size: shard.bytes,
          concurrency: context.recordReadConcurrency,
        }),
    ),
  );
}

/** A factory of per-query workers; the Lambda client is shared by all of them. */
export function createShardWorkersFactory(config: ShardWorkersConfig, options: { lambdaClient?: LambdaInvoker } = {}): ShardWorkersFactory {
  let client = options.lambdaClient;
  return (context) => {
    const local = localShardWorkers(context);
    if (config.functionName === undefined) return local;
    client ??= createLambdaInvoker();
    return new InvokedShardWorkers({
      invoker: client,
      functionName: config.functionName,
      ownerId: context.ownerId,
      indexName: context.indexName,
      version: context.version,
      shardTemplates: context.metadata.shards.map((s) => s.templates),
      vectorsPerRecord: context.metadata.vectorsPerRecord,
      objects: context.objects,
      local,
      timeoutMs: config.timeoutMs,
      deadline: context.deadline,
    });
  };
}
