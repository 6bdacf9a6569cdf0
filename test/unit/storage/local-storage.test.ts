import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDocumentClient } from '../../../lib/storage/dynamo-clients';
import { newS3Client } from '../../../lib/storage/s3-client';
import { DynamoUserRegistry } from '../../../lib/storage/dynamo-user-registry';
import { startLocalStorage } from '../../support/local-storage';
import { S3ObjectStore } from '../../../lib/storage/s3-object-store';
import { toOwnerId, toUserId } from '../../support/ids';

const OWNER = toOwnerId('c'.repeat(52));

describe('local storage (dynalite + s3rver)', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'blindsight-local-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('keeps table items and objects across a restart on the same directory', async () => {
    const first = await startLocalStorage({ directory });
    expect(first.env).toMatchObject({ BLINDSIGHT_S3_FORCE_PATH_STYLE: 'true', AWS_ENDPOINT_URL_S3: first.s3Endpoint });
    let documents = newDocumentClient(first.dynamoClientOptions);
    let s3 = newS3Client(first.s3ClientOptions);
    await new DynamoUserRegistry({ client: documents, tableName: first.tableName }).put(OWNER, toUserId('persisted'));
    await new S3ObjectStore({ client: s3, bucket: first.bucketName }).put(`owners/${OWNER}/images/p`, new Uint8Array([5, 6, 7]));
    documents.destroy();
    s3.destroy();
    await first.stop();

    // Same directory, new processes' worth of servers on new ports; the table and bucket already exist.
    const second = await startLocalStorage({ directory });
    documents = newDocumentClient(second.dynamoClientOptions);
    s3 = newS3Client(second.s3ClientOptions);
    try {
      expect((await new DynamoUserRegistry({ client: documents, tableName: second.tableName }).get(OWNER, toUserId('persisted')))?.status).toBe('active');
      expect(await new S3ObjectStore({ client: s3, bucket: second.bucketName }).get(`owners/${OWNER}/images/p`)).toEqual(
        new Uint8Array([5, 6, 7]),
      );
    } finally {
      documents.destroy();
      s3.destroy();
      await second.stop();
    }
  });
});
