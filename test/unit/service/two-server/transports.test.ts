/**
 * CS1's transports to CS2 against the real CS2 decrypt handler behind real HTTP servers on
 * 127.0.0.1 (the local cloud's gateway shape, and the Lambda Invoke API for the real
 * LambdaClient), with large batches staged in s3rver behind presigned URLs.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../../../../lib/core/errors';
import { loadHeDecryptor, loadHeEvaluator } from '../../../../lib/he';
import type { HeEvaluator } from '../../../../lib/he/types';
import { resetCs2DecryptService } from '../../../../lib/service/cs2/services';
import { S3ObjectStore } from '../../../../lib/storage/s3-object-store';
import type { ObjectStore } from '../../../../lib/storage/types';
import { createCs2TransportFactory, readCs2TransportConfig } from '../../../../lib/invoke/cs2-transport-config';
import { HttpCs2Transport } from '../../../../lib/invoke/http-transport';
import { LambdaCs2Transport } from '../../../../lib/invoke/lambda-transport';
import { ObjectStoreBatchStaging, transferPrefix } from '../../../../lib/twoserver/transport/batch-staging';
import type { BatchStaging } from '../../../../lib/twoserver/transport/batch-staging';
import type { RemoteCs2Transport } from '../../../../lib/twoserver/transport/remote-transport';
import { startLocalAws } from '../../../support/local-aws';
import type { LocalAws } from '../../../support/local-aws';
import { buildFixture, cs2KeyDir, SHE_SMALL, startCs2HttpServer, startLambdaApiServer } from './support';
import type { Cs2TestServer, DirectHandler, TwoServerFixture } from './support';
import { toOwnerId } from '../../../support/ids';

const CREDENTIAL = 'test-credential-0123456789abcdef';
const OWNER = toOwnerId('c'.repeat(52));
const FUNCTION_NAME = 'blindsight-cs2-decrypt';
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:000000000002:function:${FUNCTION_NAME}`;

describe('CS1 -> CS2 transports', () => {
  let aws: LocalAws;
  let objects: ObjectStore;
  let fixture: TwoServerFixture;
  let evaluator: HeEvaluator;
  let keys: { dir: string; remove(): Promise<void> };
  let cs2: Cs2TestServer;
  let lambdaApi: Cs2TestServer & { invocations: string[] };
  let lambdaClient: LambdaClient;
  const savedEnv = { ...process.env };

  /** A real batch of `count` blinded distances and what CS2 must answer for it. */
  async function batch(count = 8): Promise<{ bytes: Uint8Array; expected: bigint[] }> {
    const query = evaluator.openQuery(fixture.client.encryptRequest(Array.from(fixture.templates.data.slice(0, fixture.templates.d))));
    try {
      const slots = Array.from({ length: count }, (_, i) => i);
      const out = evaluator.distanceBatch(query, { records: [fixture.output.shards[0]], slots, blinding: { a: 3n, b: 12345n } });
      const decryptor = await loadHeDecryptor(fixture.output.secretMaterial);
      const expected = decryptor.decryptBatch(out.bytes);
      decryptor.dispose();
      return { bytes: out.bytes, expected };
    } finally {
      query.dispose();
    }
  }

  function http(options: Partial<ConstructorParameters<typeof HttpCs2Transport>[0]> = {}): HttpCs2Transport {
    return new HttpCs2Transport({
      keyId: fixture.keyId,
      url: cs2.url,
      credential: CREDENTIAL,
      staging: new ObjectStoreBatchStaging({ objects, ownerId: OWNER }),
      ...options,
    });
  }

  function lambda(options: Partial<ConstructorParameters<typeof LambdaCs2Transport>[0]> = {}): LambdaCs2Transport {
    return new LambdaCs2Transport({
      keyId: fixture.keyId,
      functionArn: FUNCTION_ARN,
      client: lambdaClient,
      staging: new ObjectStoreBatchStaging({ objects, ownerId: OWNER }),
      ...options,
    });
  }

  async function transferObjects(): Promise<string[]> {
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucketName, Prefix: transferPrefix(OWNER) }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '');
  }

  async function expectUnavailable(transport: RemoteCs2Transport, bytes: Uint8Array, message: RegExp): Promise<void> {
    const error = await transport.decryptBatch(bytes).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(message);
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    objects = new S3ObjectStore({ client: aws.s3, bucket: aws.bucketName });
    fixture = await buildFixture({ backend: 'she', params: SHE_SMALL, n: 120, partitions: 4, eps: 2, seed: 3 });
    evaluator = await loadHeEvaluator(fixture.output.evaluationMaterial);
    keys = await cs2KeyDir(fixture);
    Object.assign(process.env, { BLINDSIGHT_LOG_LEVEL: 'SILENT', BLINDSIGHT_CS2_KEY_DIR: keys.dir, BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH: 'true' });
    resetCs2DecryptService();
    const handler = (await import('../../../../functions/cs2/decrypt')).handler as unknown as DirectHandler;
    cs2 = await startCs2HttpServer({ credential: CREDENTIAL, handler });
    lambdaApi = await startLambdaApiServer({ functionName: FUNCTION_NAME, handler });
    lambdaClient = new LambdaClient({
      region: 'us-east-1',
      endpoint: lambdaApi.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    process.env = savedEnv;
    resetCs2DecryptService();
    evaluator?.dispose();
    fixture?.client.dispose();
    lambdaClient?.destroy();
    await cs2?.stop();
    await lambdaApi?.stop();
    await keys?.remove();
    await aws?.stop();
  });

  describe('HTTP (local cloud)', () => {
    it('sends small batches inline and returns exactly what CS2 decrypted', async () => {
      const { bytes, expected } = await batch();
      const transport = http();
      const before = cs2.events.length;
      expect(await transport.decryptBatch(bytes)).toEqual(expected);
      expect(cs2.events.slice(before)).toEqual([{ keyId: fixture.keyId, inline: true, staged: false }]);
      expect(transport.stagedCalls).toBe(0);
      expect(transport.calls).toBe(1);
    });

    it('parts of one stage sent at once (as the protocol sends them) are each answered, in order, inline or staged', async () => {
      const parts = await Promise.all([batch(3), batch(40), batch(8), batch(40)]);
      for (const transport of [http(), http({ inlineMaxBytes: 1024, staging: new ObjectStoreBatchStaging({ objects, ownerId: OWNER }) })]) {
        const answers = await Promise.all(parts.map((part) => transport.decryptBatch(part.bytes)));
        expect(answers).toEqual(parts.map((part) => part.expected));
        expect(transport.calls).toBe(4);
      }
      expect(await transferObjects()).toEqual([]);
      // The part size defaults to the inline limit (never below 64 KiB) and is checked.
      expect(http().partBytes).toBe(4 * 1024 * 1024);
      expect(http({ inlineMaxBytes: 0, staging: new ObjectStoreBatchStaging({ objects, ownerId: OWNER }) }).partBytes).toBe(64 * 1024);
      expect(() => http({ partBytes: 1000 })).toThrow(/partBytes must be an integer of at least 65536/);
    });

    it('stages large batches in S3 behind a presigned URL with a digest, and deletes them after the call', async () => {
      const { bytes, expected } = await batch(40);
      const keys: string[] = [];
      const recording: ObjectStore = { ...objects, put: (key, b, type) => (keys.push(key), objects.put(key, b, type)), delete: (key) => (keys.push(`deleted ${key}`), objects.delete(key)) };
      for (const method of ['get', 'getRange', 'head', 'presignPut', 'presignGet'] as const) Object.assign(recording, { [method]: objects[method].bind(objects) });
      const transport = http({ inlineMaxBytes: 1024, staging: new ObjectStoreBatchStaging({ objects: recording, ownerId: OWNER }) });
      expect(bytes.length).toBeGreaterThan(1024);
      const before = cs2.events.length;
      expect(await transport.decryptBatch(bytes)).toEqual(expected);
      expect(cs2.events.slice(before)).toEqual([{ keyId: fixture.keyId, inline: false, staged: true }]);
      expect(transport.stagedCalls).toBe(1);
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(new RegExp(`^transfer/${OWNER}/[0-9a-f]{32}\\.bin$`));
      expect(keys[1]).toBe(`deleted ${keys[0]}`);
      expect(await transferObjects()).toEqual([]);
    });

    it('CS2 refuses a staged batch whose digest does not match (and the object is still removed)', async () => {
      const { bytes } = await batch(40);
      const real = new ObjectStoreBatchStaging({ objects, ownerId: OWNER });
      const lying: BatchStaging = {
        stage: async (b) => {
          const staged = await real.stage(b);
          return { ...staged, sha256: staged.sha256.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
        },
      };
      const decryptedBefore = cs2.decrypted.length;
      await expectUnavailable(http({ inlineMaxBytes: 0, staging: lying }), bytes, /CS2 refused the decryption request \(HTTP 400, MalformedDataError\).*SHA-256 does not match/);
      expect(cs2.decrypted.length).toBe(decryptedBefore);
      expect(await transferObjects()).toEqual([]);
    });

    it('CS2 fetches loopback URLs only when the local cloud allows it', async () => {
      const { bytes } = await batch(20);
      process.env.BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH = 'false';
      resetCs2DecryptService();
      try {
        await expectUnavailable(http({ inlineMaxBytes: 0 }), bytes, /refused.*loopback address.*BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH/);
      } finally {
        process.env.BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH = 'true';
        resetCs2DecryptService();
      }
    });

    it('a caller without the credential is refused by CS2 before anything is decrypted', async () => {
      const { bytes } = await batch();
      const decryptedBefore = cs2.decrypted.length;
      await expectUnavailable(http({ credential: 'another-credential-0000000000' }), bytes, /CS2 refused the decryption request \(HTTP 403, AccessDeniedException\): CS2 accepts decryption requests only from CS1/);
      const raw = await fetch(`${cs2.url}/v1/decrypt`, { method: 'POST', body: JSON.stringify({ keyId: fixture.keyId, batch: Buffer.from(bytes).toString('base64') }) });
      expect(raw.status).toBe(403);
      expect(cs2.decrypted.length).toBe(decryptedBefore);
    });

    it('CS2 down -> UnavailableError after one retry; CS2 back -> the next call succeeds', async () => {
      const { bytes, expected } = await batch();
      const transport = http({ retryDelayMs: 10 });
      await cs2.stop();
      try {
        await expectUnavailable(transport, bytes, /^CS2 is unavailable: connection refused at 127\.0\.0\.1:\d+ \(is CS2 running\?\)$/);
        expect(transport.retries).toBe(1);
      } finally {
        await cs2.start();
      }
      expect(await transport.decryptBatch(bytes)).toEqual(expected);
      expect(await http().decryptBatch(bytes)).toEqual(expected);
    });

    it('a CS2 that does not answer times out (no retry), a 5xx is unavailable, an unknown key is refused', async () => {
      const { bytes, expected } = await batch();
      cs2.fault = 'hang';
      const slow = http({ timeoutMs: 300 });
      try {
        await expectUnavailable(slow, bytes, /^CS2 is unavailable: no answer within 300 ms \(HTTP\)$/);
        expect(slow.retries).toBe(0);
        cs2.fault = 502;
        await expectUnavailable(http(), bytes, /^CS2 is unavailable: it failed \(HTTP 502, HTTP 502\)$/);
      } finally {
        cs2.fault = undefined;
      }
      await expectUnavailable(http({ keyId: '0123456789abcdef' }), bytes, /CS2 refused the decryption request \(HTTP 404, NotFoundError\): no secret with key id "0123456789abcdef"/);
      // Nothing about the failures is remembered.
      expect(await http().decryptBatch(bytes)).toEqual(expected);
    });

    it('never calls CS2 once the deadline has passed', async () => {
      const { bytes } = await batch();
      const before = cs2.events.length;
      await expectUnavailable(http({ deadline: Date.now() - 1 }), bytes, /no time is left/);
      expect(cs2.events.length).toBe(before);
    });
  });

  describe('Lambda Invoke (AWS)', () => {
    it('invokes the function by ARN, inline and staged, signed with SigV4', async () => {
      const small = await batch();
      const large = await batch(40);
      const transport = lambda({ inlineMaxBytes: 1024 });
      expect(await transport.decryptBatch(small.bytes)).toEqual(small.expected);
      expect(await transport.decryptBatch(large.bytes)).toEqual(large.expected);
      expect(lambdaApi.events.slice(-2).map((e) => e.staged)).toEqual([false, true]);
      expect(lambdaApi.invocations.at(-1)).toBe(FUNCTION_ARN);
      expect(await transferObjects()).toEqual([]);
    });

    it('maps function errors, service errors and a dead endpoint to UnavailableError', async () => {
      const { bytes, expected } = await batch();
      await expectUnavailable(lambda({ keyId: '0123456789abcdef' }), bytes, /CS2 refused the decryption request \(NotFoundError\): no secret with key id/);
      lambdaApi.fault = 503;
      try {
        await expectUnavailable(lambda(), bytes, /^CS2 is unavailable: the Lambda invocation of CS2 failed \(ServiceException, HTTP 503\)$/);
      } finally {
        lambdaApi.fault = undefined;
      }
      await expectUnavailable(
        lambda({ functionArn: FUNCTION_ARN.replace(FUNCTION_NAME, 'other-function') }),
        bytes,
        /ResourceNotFoundException, HTTP 404\): CS2's decrypt function does not exist/,
      );
      const transport = lambda({ retryDelayMs: 10 });
      await lambdaApi.stop();
      try {
        await expectUnavailable(transport, bytes, /^CS2 is unavailable: the Lambda invocation of CS2 failed \(ECONNREFUSED/);
        expect(transport.retries).toBe(1);
      } finally {
        await lambdaApi.start();
      }
      expect(await transport.decryptBatch(bytes)).toEqual(expected);
    });
  });

  describe('configuration', () => {
    it('reads the mode and its variables, and names what is missing', () => {
      expect(() => readCs2TransportConfig({})).toThrow(/set BLINDSIGHT_CS2_MODE to "http" \(local cloud\) or "lambda" \(AWS\)/);
      expect(() => readCs2TransportConfig({ BLINDSIGHT_CS2_MODE: 'http', BLINDSIGHT_CS2_URL: cs2.url })).toThrow(/BLINDSIGHT_CS2_CREDENTIAL/);
      expect(() => readCs2TransportConfig({ BLINDSIGHT_CS2_MODE: 'lambda' })).toThrow(/BLINDSIGHT_CS2_FUNCTION_ARN/);
      expect(() => readCs2TransportConfig({ BLINDSIGHT_CS2_MODE: 'lambda', BLINDSIGHT_CS2_FUNCTION_ARN: 'blindsight-cs2-decrypt' })).toThrow(/arn:aws:lambda/);
      expect(() => readCs2TransportConfig({ BLINDSIGHT_CS2_MODE: 'http', BLINDSIGHT_CS2_URL: cs2.url, BLINDSIGHT_CS2_CREDENTIAL: CREDENTIAL, BLINDSIGHT_CS2_INLINE_MAX_BYTES: '99999999' })).toThrow(
        /BLINDSIGHT_CS2_INLINE_MAX_BYTES must be an integer from 0 to 4194304/,
      );
      expect(readCs2TransportConfig({ BLINDSIGHT_CS2_MODE: 'lambda', BLINDSIGHT_CS2_FUNCTION_ARN: FUNCTION_ARN })).toMatchObject({ mode: 'lambda', functionArn: FUNCTION_ARN, timeoutMs: 22_000 });
    });

    it('the factory honours AWS_ENDPOINT_URL_LAMBDA for the Lambda client it builds', async () => {
      const { bytes, expected } = await batch();
      const saved = process.env.AWS_ENDPOINT_URL_LAMBDA;
      Object.assign(process.env, { AWS_ENDPOINT_URL_LAMBDA: lambdaApi.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
      try {
        const factory = createCs2TransportFactory(readCs2TransportConfig({ BLINDSIGHT_CS2_MODE: 'lambda', BLINDSIGHT_CS2_FUNCTION_ARN: FUNCTION_ARN }));
        const transport = factory({ keyId: fixture.keyId, ownerId: OWNER, objects });
        expect(transport).toBeInstanceOf(LambdaCs2Transport);
        const before = lambdaApi.invocations.length;
        expect(await transport.decryptBatch(bytes)).toEqual(expected);
        expect(lambdaApi.invocations.length).toBe(before + 1);
      } finally {
        if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_LAMBDA;
        else process.env.AWS_ENDPOINT_URL_LAMBDA = saved;
      }
    });
  });
});
