/**
 * The identify worker's service: evaluates one task of one shard for CS1's coordinator
 * (lib/twoserver/transport/worker-event.ts is the contract). It loads the version the task
 * names (held by a lease on the loaded-version cache, kept warm across invocations), reads the
 * task's records of that shard from S3 by byte range (checked against the digests fixed at
 * publish), evaluates them under a blinding it draws, and returns the batch: inline, or through
 * the transfer prefix of CS1's bucket when it would not fit in a Lambda response.
 *
 * Only the coordinator invokes it (IAM in AWS; the local cloud's Lambda endpoint is CS1's own).
 * Errors keep their codes: a task the version cannot satisfy is the coordinator's bug
 * (INVALID_INPUT), storage down is UNAVAILABLE, records changed after publish INTEGRITY_FAILED;
 * nothing secret is in any message.
 */
import { randomBytes } from 'node:crypto';
import { InvalidInputError, isBlindsightError, UnavailableError } from '../../core/errors';
import { indexPartObjectKey } from '../../storage/object-keys';
import type { IndexCatalog, ObjectStore } from '../../storage/types';
import { evaluateShardTask } from '../../twoserver/protocol/shard-worker';
import { transferPrefix } from '../../twoserver/transport/batch-staging';
import { sha256Hex } from '../../twoserver/transport/decrypt-event';
import { ObjectStoreRecordStore } from '../../twoserver/transport/object-record-store';
import { parseShardWorkerEvent, shardWorkerResult, WORKER_INLINE_BATCH_MAX_BYTES } from '../../twoserver/transport/worker-event';
import type { ShardWorkerResult } from '../../twoserver/transport/worker-event';
import { VerifiedParts } from '../versions/verified-parts';
import type { TwoServerIndexCache } from './index-cache';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

/** Counts for the handler's log. */
export interface ShardWorkerOutcome {
  readonly result: ShardWorkerResult;
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly shard: number;
  readonly records: number;
  readonly bytesRead: number;
  readonly batchBytes: number;
  readonly staged: boolean;
  readonly warm: boolean;
}

export class ShardWorkerService {
  /** Record reads are checked against the digests fixed at publish. */
  private readonly verified: VerifiedParts;

  constructor(
    private readonly objects: ObjectStore,
    indexes: IndexCatalog,
    private readonly cache: TwoServerIndexCache,
    private readonly options: { readonly recordReadConcurrency?: number; readonly inlineMaxBytes?: number } = {},
  ) {
    this.verified = new VerifiedParts(indexes);
  }

  async evaluate(event: unknown): Promise<ShardWorkerOutcome> {
    const task = parseShardWorkerEvent(event);
    const { ownerId, indexName, version, shard } = task;
    const loadsBefore = this.cache.loads;
    const lease = await this.cache.acquire(ownerId, indexName, version);
    try {
      const { loaded } = lease;
      const location = loaded.metadata.shards[shard];
      if (location === undefined) throw new InvalidInputError(`index "${indexName}" version "${version}" has no shard ${shard}`);
      const store = new ObjectStoreRecordStore({
        objects: this.verified.lazilyCheckedStore(this.objects, ownerId, indexName, location.ref),
        key: indexPartObjectKey(ownerId, indexName, location.ref.version, location.ref.part),
        size: location.bytes,
        concurrency: this.options.recordReadConcurrency,
      });
      const query = loaded.evaluator.openQuery(task.query);
      let evaluated;
      try {
        evaluated = await evaluateShardTask(loaded.evaluator, query, store, location.templates, { shard, records: task.records }, task.blinding);
      } catch (error) {
        // Reads that fail are storage trouble (UNAVAILABLE); everything else keeps its code.
        if (isBlindsightError(error)) throw error;
        throw new UnavailableError(`shard ${shard}: its records could not be read`, { cause: error });
      } finally {
        query.dispose();
      }
      let staged: { key: string; sha256: string } | undefined;
      if (evaluated.bytes.length > (this.options.inlineMaxBytes ?? WORKER_INLINE_BATCH_MAX_BYTES)) {
        staged = { key: `${transferPrefix(ownerId)}${randomBytes(16).toString('hex')}.bin`, sha256: sha256Hex(evaluated.bytes) };
        await this.objects.put(staged.key, evaluated.bytes, 'application/octet-stream');
      }
      return {
        result: shardWorkerResult(evaluated, staged),
        ownerId,
        indexName,
        version,
        shard,
        records: task.records.length,
        bytesRead: evaluated.bytesRead,
        batchBytes: evaluated.bytes.length,
        staged: staged !== undefined,
        warm: this.cache.loads === loadsBefore,
      };
    } finally {
      lease.release();
    }
  }
}
