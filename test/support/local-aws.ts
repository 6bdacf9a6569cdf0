/**
 * Starts CS1's storage emulators (dynalite + s3rver) in-process on free loopback ports with a
 * temporary directory, and returns clients configured for them. Use once per test file:
 *
 *   let aws: LocalAws;
 *   beforeAll(async () => { aws = await startLocalAws(); });
 *   afterAll(() => aws.stop());
 *
 * The clients are the real AWS SDK clients; `env` holds the variables a handler process needs
 * (set them on process.env in suites that call handlers, then resetStorageClients()).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newDocumentClient } from '../../lib/storage/dynamo-clients';
import { newS3Client } from '../../lib/storage/s3-client';
import { startLocalStorage } from './local-storage';

export interface LocalAws {
  readonly directory: string;
  readonly tableName: string;
  readonly bucketName: string;
  readonly region: string;
  readonly env: Readonly<Record<string, string>>;
  readonly s3: S3Client;
  readonly documentClient: DynamoDBDocumentClient;
  /** Low-level client, for raw item reads and table management. */
  readonly dynamoClient: DynamoDBClient;
  stop(): Promise<void>;
}

export interface LocalAwsOptions {
  readonly tableName?: string;
  readonly bucketName?: string;
  /** Keep the table in LevelDB under the temp directory instead of memory. Default false. */
  readonly persistTable?: boolean;
}

export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const directory = await mkdtemp(join(tmpdir(), 'blindsight-aws-'));
  try {
    const storage = await startLocalStorage({
      directory,
      tableName: options.tableName ?? 'blindsight-test',
      bucketName: options.bucketName ?? 'blindsight-test',
      inMemoryTable: !options.persistTable,
    });
    const s3 = newS3Client(storage.s3ClientOptions);
    const documentClient = newDocumentClient(storage.dynamoClientOptions);
    const dynamoClient = new DynamoDBClient(storage.dynamoClientOptions);
    return {
      directory,
      tableName: storage.tableName,
      bucketName: storage.bucketName,
      region: storage.region,
      env: storage.env,
      s3,
      documentClient,
      dynamoClient,
      async stop() {
        s3.destroy();
        documentClient.destroy();
        dynamoClient.destroy();
        try {
          await storage.stop();
        } finally {
          await rm(directory, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}
