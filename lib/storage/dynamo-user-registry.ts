/**
 * UserRegistry on DynamoDB: one item per user in its owner's partition
 * (pk OWNER#<ownerId>, sk USER#<userId>), so users of different owners are different items by
 * construction. Reads are strongly consistent: a revocation applies to the next request.
 * Status changes are conditional on the status read before, and retried on a race, so a
 * re-activation is counted exactly once.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, MalformedDataError, NotFoundError } from '../core/errors';
import { isConditionalCheckFailed } from './dynamo-errors';
import { userKey } from './dynamo-keys';
import type { DynamoTableOptions } from './dynamo-owner-registry';
import type { UserRecord, UserRegistry } from './types';
import type { OwnerId, UserId } from '../core/ids';

export interface DynamoUserRegistryOptions extends DynamoTableOptions {
  /** Clock for timestamps (tests). Default: the system clock. */
  readonly now?: () => Date;
}

const MAX_ATTEMPTS = 5;

function toRecord(ownerId: OwnerId, userId: UserId, item: Record<string, unknown>): UserRecord {
  const what = `user record ${userId}`;
  if (item.status !== 'active' && item.status !== 'revoked') throw new MalformedDataError(what, 'status is neither active nor revoked');
  if (typeof item.createdAt !== 'string' || typeof item.updatedAt !== 'string') throw new MalformedDataError(what, 'timestamps are missing');
  return {
    ownerId,
    userId,
    status: item.status,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
    revokedAt: typeof item.revokedAt === 'string' ? item.revokedAt : undefined,
    reactivatedAt: typeof item.reactivatedAt === 'string' ? item.reactivatedAt : undefined,
    reactivationCount: typeof item.reactivationCount === 'number' ? item.reactivationCount : 0,
  };
}

/**
 * The string, number and boolean attributes of a raw item, as the document client would give
 * them (a user item holds nothing else; anything else is left out and fails toRecord's checks).
 */
function scalarAttributes(item: Record<string, AttributeValue>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (value.S !== undefined) plain[name] = value.S;
    else if (value.N !== undefined) plain[name] = Number(value.N);
    else if (value.BOOL !== undefined) plain[name] = value.BOOL;
  }
  return plain;
}

export class DynamoUserRegistry implements UserRegistry {
  private readonly now: () => Date;

  constructor(private readonly options: DynamoUserRegistryOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Read on every request by the authorizer: a raw GetItem (no document-client marshalling). */
  async get(ownerId: OwnerId, userId: UserId): Promise<UserRecord | undefined> {
    const key = userKey(ownerId, userId);
    const response = await (this.options.readClient ?? this.options.client).send(
      new GetItemCommand({ TableName: this.options.tableName, Key: { pk: { S: key.pk }, sk: { S: key.sk } }, ConsistentRead: true }),
    );
    return response.Item === undefined ? undefined : toRecord(ownerId, userId, scalarAttributes(response.Item));
  }

  async put(ownerId: OwnerId, userId: UserId): Promise<UserRecord> {
    const key = userKey(ownerId, userId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const existing = await this.get(ownerId, userId);
      if (existing?.status === 'active') return existing;
      const at = this.now().toISOString();
      try {
        if (existing === undefined) {
          const record: UserRecord = { ownerId, userId, status: 'active', createdAt: at, updatedAt: at, reactivationCount: 0 };
          await this.options.client.send(
            new PutCommand({
              TableName: this.options.tableName,
              Item: { ...key, type: 'user', ...record },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
          return record;
        }
        const response = await this.options.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: key,
            UpdateExpression: 'SET #status = :active, updatedAt = :at, reactivatedAt = :at, reactivationCount = :count',
            ConditionExpression: '#status = :revoked AND updatedAt = :seen',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':active': 'active',
              ':revoked': 'revoked',
              ':at': at,
              ':seen': existing.updatedAt,
              ':count': existing.reactivationCount + 1,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toRecord(ownerId, userId, response.Attributes ?? {});
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // Someone changed the user since we read it: read again and redo the decision.
      }
    }
    throw new ConflictError(`user "${userId}" is being changed concurrently: retry`);
  }

  async revoke(ownerId: OwnerId, userId: UserId): Promise<UserRecord> {
    const key = userKey(ownerId, userId);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const at = this.now().toISOString();
      try {
        const response = await this.options.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: key,
            UpdateExpression: 'SET #status = :revoked, updatedAt = :at, revokedAt = :at',
            // Only an active user changes: revoking twice keeps the first revocation time.
            ConditionExpression: 'attribute_exists(pk) AND #status = :active',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':revoked': 'revoked', ':active': 'active', ':at': at },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toRecord(ownerId, userId, response.Attributes ?? {});
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const existing = await this.get(ownerId, userId);
      if (existing === undefined) {
        throw new NotFoundError(`user "${userId}" is not registered with owner ${ownerId}: nothing to revoke`);
      }
      if (existing.status === 'revoked') return existing;
      // Re-activated between our write and read: revoke again.
    }
    throw new ConflictError(`user "${userId}" is being changed concurrently: retry`);
  }
}
