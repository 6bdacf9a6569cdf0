/**
 * Batch writes to DynamoDB with the retries the service requires: BatchWriteItem may accept
 * only part of a batch (UnprocessedItems) under throttling, and the rest must be resent with
 * backoff. No transactions are used anywhere (dynalite has none, and none are needed).
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mapLimited } from '../core/concurrency';
import { UnavailableError } from '../core/errors';

/** BatchWriteItem takes at most 25 requests; chunk items are large, so send fewer at once. */
const DEFAULT_BATCH_SIZE = 10;
const MAX_ATTEMPTS = 8;

type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function writeBatch(client: DynamoDBDocumentClient, tableName: string, batch: WriteRequest[]): Promise<void> {
  let pending = batch;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const response = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
    const unprocessed = (response.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    if (unprocessed.length === 0) return;
    pending = unprocessed;
    await sleep(Math.min(2000, 50 * 2 ** attempt));
  }
  throw new UnavailableError(`DynamoDB kept ${pending.length} writes unprocessed after ${MAX_ATTEMPTS} attempts (throttling): retry later`);
}

export interface BatchWriteOptions {
  readonly batchSize?: number;
  readonly concurrency?: number;
}

export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
  options: BatchWriteOptions = {},
): Promise<void> {
  const size = Math.min(25, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += size) batches.push(requests.slice(i, i + size));
  await mapLimited(batches, options.concurrency ?? 4, (batch) => writeBatch(client, tableName, batch));
}

export type { WriteRequest };
