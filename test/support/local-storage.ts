/**
 * CS1's storage on loopback for the tests (test/support/local-aws.ts): dynalite + s3rver in this
 * process, with the table and bucket provisioned. Returns the environment a handler process
 * needs (the same variables as in AWS, plus endpoints and the emulator credentials), so the tests
 * run the unchanged handler code. (The local cloud starts the same emulators in a storage thread,
 * scripts/local-cloud/storage-thread.ts.)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { SETTINGS } from '../../lib/config/settings';
import type { ClientOptions } from '../../lib/storage/config';
import { newS3Client } from '../../lib/storage/s3-client';
import { startLocalDynamo } from '../../scripts/local-cloud/storage/dynalite';
import type { LocalService } from '../../scripts/local-cloud/storage/dynalite';
import { ensureBucket, ensureTable } from '../../scripts/local-cloud/storage/provision';
import { S3RVER_CREDENTIALS, startLocalS3 } from '../../scripts/local-cloud/storage/s3rver';

export interface LocalStorageOptions {
  /** Data directory: `s3/` holds objects, `dynamodb/` the table (unless inMemoryTable). */
  readonly directory: string;
  readonly tableName?: string;
  readonly bucketName?: string;
  readonly region?: string;
  /** Keep the table in memory (tests): faster, gone at stop. Default false. */
  readonly inMemoryTable?: boolean;
  readonly host?: string;
  /** 0 (default) picks free ports. */
  readonly dynamoPort?: number;
  readonly s3Port?: number;
}

export interface LocalStorage {
  readonly tableName: string;
  readonly bucketName: string;
  readonly region: string;
  readonly dynamoEndpoint: string;
  readonly s3Endpoint: string;
  /** Options for newS3Client / newDocumentClient that point at the emulators. */
  readonly s3ClientOptions: ClientOptions;
  readonly dynamoClientOptions: ClientOptions;
  /** Variables for a handler process (storage settings, AWS_ENDPOINT_URL_*, credentials). */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export const LOCAL_TABLE_NAME = 'blindsight-local';
export const LOCAL_BUCKET_NAME = 'blindsight-local';
export const LOCAL_REGION = 'us-east-1';

export async function startLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  const tableName = options.tableName ?? LOCAL_TABLE_NAME;
  const bucketName = options.bucketName ?? LOCAL_BUCKET_NAME;
  const region = options.region ?? LOCAL_REGION;
  const started: LocalService[] = [];
  const stopAll = async () => {
    const results = await Promise.allSettled(started.map((service) => service.stop()));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  };
  try {
    const dynamo = await startLocalDynamo({
      directory: options.inMemoryTable ? undefined : join(options.directory, 'dynamodb'),
      host: options.host,
      port: options.dynamoPort,
    });
    started.push(dynamo);
    const s3 = await startLocalS3({ directory: join(options.directory, 's3'), buckets: [bucketName], host: options.host, port: options.s3Port });
    started.push(s3);

    // The emulators ignore the credentials' validity but s3rver wants its own key id.
    const credentials = S3RVER_CREDENTIALS;
    const s3ClientOptions: ClientOptions = { region, endpoint: s3.endpoint, forcePathStyle: true, credentials };
    const dynamoClientOptions: ClientOptions = { region, endpoint: dynamo.endpoint, credentials };

    const admin = new DynamoDBClient(dynamoClientOptions);
    const s3Admin = newS3Client(s3ClientOptions);
    try {
      await ensureTable(admin, tableName);
      await ensureBucket(s3Admin, bucketName);
    } finally {
      admin.destroy();
      s3Admin.destroy();
    }

    return {
      tableName,
      bucketName,
      region,
      dynamoEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      s3ClientOptions,
      dynamoClientOptions,
      env: {
        [SETTINGS.table.name]: tableName,
        [SETTINGS.bucket.name]: bucketName,
        [SETTINGS.s3ForcePathStyle.name]: 'true',
        [SETTINGS.region.name]: region,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}
