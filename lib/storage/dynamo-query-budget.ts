/**
 * QueryBudgetStore on DynamoDB: one counter item per (owner, user, index, window)
 * (pk BUDGET#<ownerId>#<userId>, sk INDEX#<indexName>#<windowStart>), changed only by
 * UpdateItem:
 * - consume: ADD used 1, SET expiresAt if absent, on the condition that the item is new or
 *   used < limit. DynamoDB evaluates the condition and the update atomically per item, so
 *   concurrent requests can never count past the limit. A refused condition changes nothing.
 * - refund: ADD used -1 on the condition used > 0.
 * Counters carry `expiresAt` (the table's time-to-live attribute): DynamoDB deletes them some
 * time after their window ended; a counter is never read after its window anyway.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './dynamo-errors';
import { queryBudgetKey, TABLE_TTL_ATTRIBUTE } from './dynamo-keys';
import type { DynamoTableOptions } from './dynamo-owner-registry';
import type { QueryBudgetKey, QueryBudgetStore, QueryBudgetUse } from './types';

function keyOf(key: QueryBudgetKey) {
  return queryBudgetKey(key.ownerId, key.userId, key.indexName, key.windowStart);
}

export class DynamoQueryBudgetStore implements QueryBudgetStore {
  constructor(private readonly options: DynamoTableOptions) {}

  async consume(key: QueryBudgetKey, limit: number, expiresAt: Date): Promise<QueryBudgetUse> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`budget limit ${limit} must be a positive integer`);
    try {
      const response = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: keyOf(key),
          UpdateExpression: 'ADD used :one SET #type = :type, #ttl = if_not_exists(#ttl, :ttl)',
          ConditionExpression: 'attribute_not_exists(used) OR used < :limit',
          ExpressionAttributeNames: { '#type': 'type', '#ttl': TABLE_TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':one': 1, ':type': 'query-budget', ':ttl': Math.ceil(expiresAt.getTime() / 1000), ':limit': limit },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const used = response.Attributes?.used;
      return { allowed: true, used: typeof used === 'number' ? used : 1 };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return { allowed: false, used: limit };
      throw error;
    }
  }

  async refund(key: QueryBudgetKey): Promise<void> {
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: keyOf(key),
          UpdateExpression: 'ADD used :minus',
          ConditionExpression: 'used > :zero',
          ExpressionAttributeValues: { ':minus': -1, ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
