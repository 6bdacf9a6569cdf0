/**
 * Storage configuration (settings table: lib/config/settings.ts, "storage"), and the AWS SDK
 * clients built from it.
 *
 * Endpoints: the SDK v3 itself reads AWS_ENDPOINT_URL and the service-specific
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SECRETS_MANAGER (and
 * `endpoint_url` in the shared config file), so the factories pass no endpoint and rely on that;
 * explicit endpoints are only for the `new*Client` builders that tests and the local cloud use.
 *
 * The create* factories build each client once per process (module-level cache): a warm Lambda
 * reuses its connections across invocations.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { failUnavailable } from './unavailable';
import { EnvironmentConfig } from '../config/environment';
import type { Environment } from '../config/types';

export interface StorageConfig {
  readonly tableName: string;
  readonly bucketName: string;
  readonly region: string;
  readonly s3ForcePathStyle: boolean;
}

/** Options of the explicit client builders (tests, local cloud). */
export interface ClientOptions {
  readonly region: string;
  /** Omit to let the SDK resolve it (AWS, or AWS_ENDPOINT_URL*). */
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Omit to use the SDK's default provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Reads and checks all storage settings at once (so a misconfiguration shows up at start). */
export function readStorageConfig(env?: Environment): StorageConfig {
  const config = new EnvironmentConfig(env);
  return {
    tableName: config.require('table'),
    bucketName: config.require('bucket'),
    region: config.require('region'),
    s3ForcePathStyle: config.get('s3ForcePathStyle'),
  };
}

function readRegion(): string {
  return new EnvironmentConfig().require('region');
}

/**
 * A host that does not accept the connection is unreachable after this long (the SDK's default
 * is to wait forever, i.e. until the function times out); transfers themselves are not cut.
 */
const CONNECTION_TIMEOUT_MS = 5_000;

export function newS3Client(options: ClientOptions): S3Client {
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: options.credentials,
    // With WHEN_SUPPORTED the SDK puts a checksum of the *empty* body into presigned PUT URLs,
    // and real S3 then rejects the upload; emulators also return no checksums to validate.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS },
  });
  client.middlewareStack.use(failUnavailable('S3'));
  return client;
}

export function newDocumentClient(options: ClientOptions): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS },
  });
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
  const client = new DynamoDBClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    cacheMiddleware: true,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS },
  });
  client.middlewareStack.use(failUnavailable('DynamoDB'));
  return client;
}

export function newSecretsManagerClient(options: ClientOptions): SecretsManagerClient {
  const client = new SecretsManagerClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS },
  });
  client.middlewareStack.use(failUnavailable('Secrets Manager'));
  return client;
}

let cachedS3: { key: string; client: S3Client } | undefined;
let cachedDocument: { key: string; client: DynamoDBDocumentClient } | undefined;
let cachedRead: { key: string; client: DynamoDBClient } | undefined;
let cachedSecrets: { key: string; client: SecretsManagerClient } | undefined;

/** The process's S3 client (region from AWS_REGION, path style from BLINDSIGHT_S3_FORCE_PATH_STYLE). */
export function createS3Client(): S3Client {
  const region = readRegion();
  const forcePathStyle = new EnvironmentConfig().get('s3ForcePathStyle');
  const key = `${region}|${forcePathStyle}`;
  if (cachedS3?.key !== key) cachedS3 = { key, client: newS3Client({ region, forcePathStyle }) };
  return cachedS3.client;
}

/** The process's DynamoDB document client (undefined values are dropped when marshalling). */
export function createDocumentClient(): DynamoDBDocumentClient {
  const region = readRegion();
  if (cachedDocument?.key !== region) cachedDocument = { key: region, client: newDocumentClient({ region }) };
  return cachedDocument.client;
}

/** The process's low-level read client (see newDynamoReadClient). */
export function createDynamoReadClient(): DynamoDBClient {
  const region = readRegion();
  if (cachedRead?.key !== region) cachedRead = { key: region, client: newDynamoReadClient({ region }) };
  return cachedRead.client;
}

/** The process's Secrets Manager client (CS2). */
export function createSecretsManagerClient(): SecretsManagerClient {
  const region = readRegion();
  if (cachedSecrets?.key !== region) cachedSecrets = { key: region, client: newSecretsManagerClient({ region }) };
  return cachedSecrets.client;
}

/**
 * Drops the cached clients (tests that change the environment).
 * @internal Only tests call it: a function's process keeps these for its lifetime, and a test
 * suite that sets other variables between cases must drop them. No other way reaches the module's
 * cache.
 */
export function resetStorageClients(): void {
  for (const cached of [cachedS3, cachedDocument, cachedRead, cachedSecrets]) cached?.client.destroy();
  cachedS3 = undefined;
  cachedDocument = undefined;
  cachedRead = undefined;
  cachedSecrets = undefined;
}
