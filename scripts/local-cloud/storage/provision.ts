/**
 * Creates the table and bucket the services expect, idempotently (local cloud start, tests).
 * In AWS the CDK stacks create them; the key schema here matches those stacks.
 */
import { CreateTableCommand, DescribeTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { UnavailableError } from '../../../lib/core/errors';
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from '../../../lib/storage/dynamo-keys';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Needs the low-level client (table management is not part of the document client). */
export async function ensureTable(client: Pick<DynamoDBClient, 'send'>, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: TABLE_SORT_KEY, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: TABLE_SORT_KEY, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await sleep(100);
  }
  throw new UnavailableError(`table ${tableName} did not become ACTIVE`);
}

export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch {
    // Absent (or not visible): create it below.
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}
