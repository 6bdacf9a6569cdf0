import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from '../../../lib/core/errors';
import { readStorageConfig, resetStorageClients } from '../../../lib/storage/config';
import { createDocumentClient } from '../../../lib/storage/dynamo-clients';
import { createS3Client } from '../../../lib/storage/s3-client';
import { createSecretsManagerClient } from '../../../lib/storage/secrets-manager-client';
import { createCs1Storage, resetStorageFactories } from '../../../lib/storage/factory';
import { S3ObjectStore } from '../../../lib/storage/s3-object-store';
import { SecretsManagerStore } from '../../../lib/storage/secrets-manager-store';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { startFakeSecretsManager } from './fake-secrets-manager';
import type { FakeSecretsManager } from './fake-secrets-manager';
import { toOwnerId, toUserId } from '../../support/ids';

const VARIABLES = [
  'BLINDSIGHT_TABLE',
  'BLINDSIGHT_BUCKET',
  'BLINDSIGHT_S3_FORCE_PATH_STYLE',
  'AWS_REGION',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'BLINDSIGHT_SECRET_DIR',
  'BLINDSIGHT_SECRET_PREFIX',
];

describe('storage configuration', () => {
  const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  let aws: LocalAws;
  let secrets: FakeSecretsManager;

  const useEnv = (env: Record<string, string>) => {
    for (const name of VARIABLES) delete process.env[name];
    Object.assign(process.env, env);
    resetStorageClients();
    resetStorageFactories();
  };

  beforeAll(async () => {
    aws = await startLocalAws();
    secrets = await startFakeSecretsManager();
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    resetStorageClients();
    resetStorageFactories();
  });
  afterAll(async () => {
    await secrets.stop();
    await aws.stop();
  });

  it('reads the storage variables and names each missing one', () => {
    const env = { BLINDSIGHT_TABLE: 't1', BLINDSIGHT_BUCKET: 'b1', AWS_REGION: 'eu-west-1' };
    expect(readStorageConfig(env)).toEqual({ tableName: 't1', bucketName: 'b1', region: 'eu-west-1', s3ForcePathStyle: false });
    expect(readStorageConfig({ ...env, BLINDSIGHT_S3_FORCE_PATH_STYLE: 'true' }).s3ForcePathStyle).toBe(true);
    for (const missing of Object.keys(env)) {
      const partial = { ...env, [missing]: '' };
      expect(() => readStorageConfig(partial)).toThrow(ConfigurationError);
      expect(() => readStorageConfig(partial)).toThrow(new RegExp(`${missing} is not set`));
    }
    expect(() => readStorageConfig({ ...env, BLINDSIGHT_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(/"true" or "false"/);
  });

  it('fails clearly when AWS_REGION is missing', () => {
    useEnv({});
    expect(() => createS3Client()).toThrow(/AWS_REGION is not set/);
    expect(() => createDocumentClient()).toThrow(/AWS_REGION is not set/);
  });

  it('builds each client once per process', () => {
    useEnv({ AWS_REGION: 'us-east-1' });
    expect(createS3Client()).toBe(createS3Client());
    expect(createDocumentClient()).toBe(createDocumentClient());
    expect(createSecretsManagerClient()).toBe(createSecretsManagerClient());
  });

  it('reaches the emulators through the service-specific AWS_ENDPOINT_URL_* variables read by the SDK itself', async () => {
    useEnv({ ...aws.env });
    const { tableName, bucketName } = readStorageConfig();
    const store = new S3ObjectStore({ client: createS3Client(), bucket: bucketName });
    await store.put('owners/config-test/object', new Uint8Array([1, 2, 3]));
    expect(await store.get('owners/config-test/object')).toEqual(new Uint8Array([1, 2, 3]));
    // Presigned URLs point at the configured endpoint too.
    const { url } = await store.presignGet('owners/config-test/object', { expiresInSeconds: 60 });
    expect(url.startsWith(`${aws.env.AWS_ENDPOINT_URL_S3}/${bucketName}/`)).toBe(true);

    const documents = createDocumentClient();
    // Undefined attributes are dropped (removeUndefinedValues), not an error.
    await documents.send(new PutCommand({ TableName: tableName, Item: { pk: 'config', sk: 'test', value: 7, absent: undefined } }));
    const { Item } = await documents.send(new GetCommand({ TableName: tableName, Key: { pk: 'config', sk: 'test' } }));
    expect(Item).toEqual({ pk: 'config', sk: 'test', value: 7 });

    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.endpoint;
    const secretStore = new SecretsManagerStore({ client: createSecretsManagerClient(), maxAgeSeconds: 0 });
    await secretStore.put('config-key', new Uint8Array([9, 9]));
    expect(await secretStore.get('config-key')).toEqual(new Uint8Array([9, 9]));
  });

  it('falls back to the generic AWS_ENDPOINT_URL', async () => {
    const { AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB: _dynamo, ...rest } = aws.env;
    useEnv({ ...rest, AWS_ENDPOINT_URL: AWS_ENDPOINT_URL_S3 });
    const store = new S3ObjectStore({ client: createS3Client(), bucket: aws.bucketName });
    await store.put('owners/config-test/generic', new Uint8Array([4]));
    expect((await store.head('owners/config-test/generic'))?.size).toBe(1);
  });

  it('builds CS1 storage from the environment, once per process', async () => {
    useEnv({ ...aws.env });
    const storage = createCs1Storage();
    expect(createCs1Storage()).toBe(storage);
    const owner = toOwnerId('d'.repeat(52));
    await storage.users.put(owner, toUserId('factory-user'));
    expect((await storage.users.get(owner, toUserId('factory-user')))?.status).toBe('active');
    await storage.objects.put(`owners/${owner}/images/f`, new Uint8Array([1]));
    expect((await storage.objects.head(`owners/${owner}/images/f`))?.size).toBe(1);

  });

  it('names the missing variable when CS1 storage is misconfigured', () => {
    const { BLINDSIGHT_BUCKET: _bucket, ...rest } = aws.env;
    useEnv(rest);
    expect(() => createCs1Storage()).toThrow(/BLINDSIGHT_BUCKET is not set/);
  });
});
