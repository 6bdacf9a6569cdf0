/** The DynamoDB clients: explicit (tests, local cloud) and the process's own (see config.ts). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { processClient, readRegion, sdkClientSettings } from './config';
import type { ClientOptions } from './config';
import { failUnavailable } from './unavailable';

export function newDocumentClient(options: ClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient(sdkClientSettings(options));
  client.middlewareStack.use(failUnavailable('DynamoDB'));
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * A low-level DynamoDB client for the reads made on every request (a user's status): the SDK
 * resolves its middleware stack once per command type instead of on every call
 * (`cacheMiddleware`, which saves a few tenths of a millisecond of CPU per call). Safe because
 * nothing adds middleware to it after the first call; the document client refuses this option
 * (its commands keep per-call state in the stack), so it is a separate client for raw commands
 * only.
 */
export function newDynamoReadClient(options: ClientOptions): DynamoDBClient {
  const client = new DynamoDBClient({ ...sdkClientSettings(options), cacheMiddleware: true });
  client.middlewareStack.use(failUnavailable('DynamoDB'));
  return client;
}

/** The process's DynamoDB document client (undefined values are dropped when marshalling). */
export function createDocumentClient(): DynamoDBDocumentClient {
  return processClient('dynamodb-document', { region: readRegion() }, newDocumentClient);
}

/** The process's low-level read client (see newDynamoReadClient). */
export function createDynamoReadClient(): DynamoDBClient {
  return processClient('dynamodb-read', { region: readRegion() }, newDynamoReadClient);
}
