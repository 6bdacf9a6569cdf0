/**
 * PublishJobStore on DynamoDB: one item per index version (pk INDEX#<ownerId>#<indexName>, sk
 * PUBLISH#<version>). Every write is conditional, so a job that lost its lease (a worker that
 * was presumed dead, or a newer job of the same version) can never overwrite the record:
 * - start: the item is absent, finished, or its lease passed before the new job's start;
 * - heartbeat: same jobId, still running, lease not yet passed;
 * - finish: same jobId, still running;
 * - remove (the clean-up): no job of the version runs with a live lease.
 * Times are ISO 8601 strings from toISOString (fixed width), so they compare as strings.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, MalformedDataError } from '../core/errors';
import { isConditionalCheckFailed } from './dynamo-errors';
import { indexPk, PUBLISH_JOB_SK_PREFIX, publishJobKey } from './dynamo-keys';
import type { DynamoTableOptions } from './dynamo-owner-registry';
import { decodeMetadata, encodeMetadata } from './json-metadata';
import type { PublishJobOutcome, PublishJobProgress, PublishJobRecord, PublishJobStatus, PublishJobStore } from './types';
import { parseStoredId, parseVersionId } from '../core/ids';
import type { IndexName, OwnerId, VersionId } from '../core/ids';

const STATUSES: readonly PublishJobStatus[] = ['running', 'succeeded', 'failed'];

function parseProgress(value: unknown, what: string): PublishJobProgress {
  const p = (value ?? {}) as Record<string, unknown>;
  const counts = [p.partsDone, p.partsTotal, p.bytesDone, p.bytesTotal];
  if (typeof p.phase !== 'string' || counts.some((c) => typeof c !== 'number')) throw new MalformedDataError(what, 'progress is incomplete');
  return { phase: p.phase, partsDone: p.partsDone as number, partsTotal: p.partsTotal as number, bytesDone: p.bytesDone as number, bytesTotal: p.bytesTotal as number };
}

function parseJob(ownerId: OwnerId, indexName: IndexName, item: Record<string, unknown>): PublishJobRecord {
  const what = `index ${indexName} publish job`;
  const { version, jobId, status, expectedCurrent, startedAt, updatedAt, leaseUntil, resultJson, error, signedManifest } = item;
  if (typeof version !== 'string' || typeof jobId !== 'string') throw new MalformedDataError(what, 'version or jobId is missing');
  if (!STATUSES.includes(status as PublishJobStatus)) throw new MalformedDataError(what, 'status is invalid');
  if (typeof startedAt !== 'string' || typeof updatedAt !== 'string' || typeof leaseUntil !== 'string') throw new MalformedDataError(what, 'a time is missing');
  if (expectedCurrent !== null && typeof expectedCurrent !== 'string') throw new MalformedDataError(what, 'expectedCurrent is invalid');
  const failure = error as { code?: unknown; message?: unknown } | undefined;
  return {
    ownerId,
    indexName,
    version: parseStoredId(parseVersionId, version, what),
    jobId,
    status: status as PublishJobStatus,
    expectedCurrent: expectedCurrent === null ? null : parseStoredId(parseVersionId, expectedCurrent, what),
    startedAt,
    updatedAt,
    leaseUntil,
    progress: parseProgress(item.progress, what),
    ...(typeof signedManifest === 'string' ? { signedManifest } : {}),
    ...(typeof resultJson === 'string' ? { result: decodeMetadata(resultJson, what) } : {}),
    ...(failure !== undefined && typeof failure.code === 'string' && typeof failure.message === 'string' ? { error: { code: failure.code, message: failure.message } } : {}),
  };
}

export class DynamoPublishJobStore implements PublishJobStore {
  constructor(private readonly options: DynamoTableOptions) {}

  async start(record: PublishJobRecord): Promise<void> {
    const { ownerId, indexName, version, result: _result, error: _error, ...fields } = record;
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...publishJobKey(ownerId, indexName, version), type: 'publish-job', version, ...fields },
          ConditionExpression: 'attribute_not_exists(pk) OR #status <> :running OR leaseUntil < :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'running', ':now': record.startedAt },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new ConflictError(`a publish of version "${version}" of index "${indexName}" is already running: wait for it (GET its publish status)`);
    }
  }

  async get(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<PublishJobRecord | undefined> {
    const response = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: publishJobKey(ownerId, indexName, version), ConsistentRead: true }),
    );
    return response.Item === undefined ? undefined : parseJob(ownerId, indexName, response.Item);
  }

  async heartbeat(ownerId: OwnerId, indexName: IndexName, version: VersionId, jobId: string, progress: PublishJobProgress, leaseUntil: Date, now: Date): Promise<boolean> {
    return this.update(ownerId, indexName, version, {
      UpdateExpression: 'SET progress = :progress, leaseUntil = :lease, updatedAt = :now',
      ConditionExpression: 'jobId = :job AND #status = :running AND leaseUntil >= :now',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':progress': { ...progress }, ':lease': leaseUntil.toISOString(), ':now': now.toISOString(), ':job': jobId, ':running': 'running' },
    });
  }

  async finish(ownerId: OwnerId, indexName: IndexName, version: VersionId, jobId: string, outcome: PublishJobOutcome, now: Date): Promise<boolean> {
    const values: Record<string, unknown> = { ':status': outcome.status, ':now': now.toISOString(), ':job': jobId, ':running': 'running' };
    let set = '#status = :status, updatedAt = :now';
    if (outcome.status === 'succeeded') {
      set += ', resultJson = :result, progress.phase = :done';
      values[':result'] = encodeMetadata(outcome.result);
      values[':done'] = 'done';
    } else {
      set += ', #error = :error';
      values[':error'] = { code: outcome.error.code, message: outcome.error.message };
    }
    return this.update(ownerId, indexName, version, {
      UpdateExpression: `SET ${set}`,
      ConditionExpression: 'jobId = :job AND #status = :running',
      ExpressionAttributeNames: { '#status': 'status', ...(outcome.status === 'failed' ? { '#error': 'error' } : {}) },
      ExpressionAttributeValues: values,
    });
  }

  async listVersions(ownerId: OwnerId, indexName: IndexName): Promise<VersionId[]> {
    const versions: VersionId[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': indexPk(ownerId, indexName), ':prefix': PUBLISH_JOB_SK_PREFIX },
          ProjectionExpression: 'sk',
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of response.Items ?? []) {
        versions.push(parseStoredId(parseVersionId, String(item.sk).slice(PUBLISH_JOB_SK_PREFIX.length), `index ${indexName} publish job key`));
      }
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
    return versions;
  }

  async remove(ownerId: OwnerId, indexName: IndexName, version: VersionId, now: Date): Promise<boolean> {
    try {
      await this.options.client.send(
        new DeleteCommand({
          TableName: this.options.tableName,
          Key: publishJobKey(ownerId, indexName, version),
          ConditionExpression: 'attribute_not_exists(pk) OR #status <> :running OR leaseUntil < :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':running': 'running', ':now': now.toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  private async update(
    ownerId: OwnerId,
    indexName: IndexName,
    version: VersionId,
    expression: { UpdateExpression: string; ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Record<string, unknown> },
  ): Promise<boolean> {
    try {
      await this.options.client.send(new UpdateCommand({ TableName: this.options.tableName, Key: publishJobKey(ownerId, indexName, version), ...expression }));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
