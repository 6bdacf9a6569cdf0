/**
 * CS2's decrypt service: event validation, the staged-batch URL policy and digest, the
 * per-key decryptor cache, and the configuration it reads.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlindsightError, DecryptionError, InvalidInputError, MalformedDataError, NotFoundError, PayloadTooLargeError, UnavailableError } from '../../../../lib/core/errors';
import { loadHeEvaluator } from '../../../../lib/he';
import { assertFetchAllowed } from '../../../../lib/service/cs2/batch-fetch';
import type { BatchFetchPolicy } from '../../../../lib/service/cs2/batch-fetch';
import { createCs2SecretStore, readCs2ServiceConfig } from '../../../../lib/service/cs2/config';
import { Cs2DecryptService } from '../../../../lib/service/cs2/decrypt';
import { FileSecretStore } from '../../../../lib/storage/file-secret-store';
import { SecretsManagerStore } from '../../../../lib/storage/secrets-manager-store';
import type { SecretStore } from '../../../../lib/storage/types';
import { decodeValues, sha256Hex } from '../../../../lib/twoserver/transport/decrypt-event';
import { buildFixture, cs2KeyDir, SHE_SMALL } from './support';
import type { TwoServerFixture } from './support';

const POLICY: BatchFetchPolicy = { hostSuffixes: ['.amazonaws.com'], allowLoopback: false, maxBytes: 1024 * 1024, timeoutMs: 2000 };

describe('CS2 decrypt service', () => {
  let fixture: TwoServerFixture;
  let other: TwoServerFixture;
  let keys: { dir: string; remove(): Promise<void> };
  let batchBytes: Uint8Array;
  let expected: bigint[];
  let otherBatch: Uint8Array;
  let server: ReturnType<typeof createServer>;
  let baseUrl: string;
  const served = new Map<string, Uint8Array>();

  /** Counts reads, so the tests can see the cache at work. */
  class CountingStore implements SecretStore {
    reads = 0;
    constructor(private readonly inner: SecretStore) {}
    async get(keyId: string) {
      this.reads++;
      return this.inner.get(keyId);
    }
    put(keyId: string, bytes: Uint8Array) {
      return this.inner.put(keyId, bytes);
    }
  }

  function service(store: SecretStore, overrides: Partial<BatchFetchPolicy> = {}): Cs2DecryptService {
    const config = readCs2ServiceConfig({});
    return new Cs2DecryptService(store, { config: { ...config, fetch: { ...config.fetch, allowLoopback: true, ...overrides } } });
  }

  async function makeBatch(f: TwoServerFixture): Promise<Uint8Array> {
    const evaluator = await loadHeEvaluator(f.output.evaluationMaterial);
    const query = evaluator.openQuery(f.client.encryptRequest(Array.from(f.templates.data.slice(0, f.templates.d))));
    const out = evaluator.distanceBatch(query, { records: [f.output.shards[0]], slots: [0, 1, 2, 3, 4, 5], blinding: { a: 5n, b: 777n } });
    query.dispose();
    evaluator.dispose();
    return out.bytes;
  }

  beforeAll(async () => {
    fixture = await buildFixture({ backend: 'she', params: SHE_SMALL, n: 60, partitions: 3, eps: 2, seed: 21 });
    other = await buildFixture({ backend: 'she', params: SHE_SMALL, n: 60, partitions: 3, eps: 2, seed: 22 });
    keys = await cs2KeyDir(fixture, other);
    batchBytes = await makeBatch(fixture);
    otherBatch = await makeBatch(other);
    const decryptor = await (await import('../../../../lib/he')).loadHeDecryptor(fixture.output.secretMaterial);
    expected = decryptor.decryptBatch(batchBytes);
    decryptor.dispose();
    server = createServer((req, res) => {
      const bytes = served.get(req.url ?? '');
      if (bytes === undefined) {
        res.writeHead(req.url === '/error' ? 503 : 403);
        return res.end();
      }
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://127.0.0.1:1/x' });
        return res.end();
      }
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.end(Buffer.from(bytes));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    served.set('/batch', batchBytes);
    served.set('/redirect', batchBytes);
  });

  afterAll(async () => {
    fixture?.client.dispose();
    other?.client.dispose();
    await keys?.remove();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('decrypts inline batches and keeps the decryptor per key across calls', async () => {
    const store = new CountingStore(new FileSecretStore(keys.dir));
    const cs2 = service(store);
    const inline = { keyId: fixture.keyId, batch: Buffer.from(batchBytes).toString('base64') };
    const first = await cs2.decrypt(inline);
    expect(decodeValues(first.result)).toEqual(expected);
    expect(first).toMatchObject({ keyId: fixture.keyId, count: expected.length, transfer: 'inline', warmKey: false });
    const second = await cs2.decrypt(inline);
    expect(second.warmKey).toBe(true);
    expect(store.reads).toBe(1);
    // Another key is loaded separately; a batch for one key is refused under the other.
    await cs2.decrypt({ keyId: other.keyId, batch: Buffer.from(otherBatch).toString('base64') });
    expect(store.reads).toBe(2);
    await expect(cs2.decrypt({ keyId: other.keyId, batch: inline.batch })).rejects.toThrow(DecryptionError);
  });

  it('fetches staged batches, checks the digest, and refuses what does not match', async () => {
    const cs2 = service(new FileSecretStore(keys.dir));
    const staged = await cs2.decrypt({ keyId: fixture.keyId, batchUrl: `${baseUrl}/batch`, batchSha256: sha256Hex(batchBytes) });
    expect(decodeValues(staged.result)).toEqual(expected);
    expect(staged.transfer).toBe('url');
    await expect(cs2.decrypt({ keyId: fixture.keyId, batchUrl: `${baseUrl}/batch`, batchSha256: '0'.repeat(64) })).rejects.toThrow(
      new MalformedDataError('staged batch', 'its SHA-256 does not match batchSha256: refusing to decrypt it'),
    );
    await expect(cs2.decrypt({ keyId: fixture.keyId, batchUrl: `${baseUrl}/expired`, batchSha256: '0'.repeat(64) })).rejects.toThrow(
      /HTTP 403 \(the URL expired, or is not a presigned GET of the batch\)/,
    );
    await expect(cs2.decrypt({ keyId: fixture.keyId, batchUrl: `${baseUrl}/error`, batchSha256: '0'.repeat(64) })).rejects.toThrow(UnavailableError);
    await expect(cs2.decrypt({ keyId: fixture.keyId, batchUrl: `${baseUrl}/redirect`, batchSha256: sha256Hex(batchBytes) })).rejects.toThrow(UnavailableError);
    await expect(cs2.decrypt({ keyId: fixture.keyId, batchUrl: 'http://127.0.0.1:1/x', batchSha256: '0'.repeat(64) })).rejects.toThrow(UnavailableError);
    const small = service(new FileSecretStore(keys.dir), { maxBytes: 100 });
    await expect(small.decrypt({ keyId: fixture.keyId, batchUrl: `${baseUrl}/batch`, batchSha256: sha256Hex(batchBytes) })).rejects.toThrow(PayloadTooLargeError);
  });

  it('only fetches https URLs of allowed hosts, and loopback only when allowed', () => {
    const ok = new URL('https://bucket.s3.eu-west-1.amazonaws.com/owners/x/transfer/a.bin?X-Amz-Signature=1');
    expect(() => assertFetchAllowed(ok, POLICY)).not.toThrow();
    const refused: Array<[string, RegExp]> = [
      ['http://bucket.s3.amazonaws.com/a', /must be an https URL/],
      ['https://evil.example.com/a', /host "evil.example.com" is not one CS2 fetches from/],
      ['https://amazonaws.com.evil.net/a', /is not one CS2 fetches from/],
      ['https://user:pw@bucket.s3.amazonaws.com/a', /user name or password/],
      ['http://127.0.0.1:4512/a', /loopback address/],
      ['http://localhost/a', /loopback address/],
      ['file:///etc/passwd', /must be an https URL/],
    ];
    for (const [url, message] of refused) expect(() => assertFetchAllowed(new URL(url), POLICY), url).toThrow(message);
    expect(() => assertFetchAllowed(new URL('http://127.0.0.1:4512/a'), { ...POLICY, allowLoopback: true })).not.toThrow();
    expect(() => assertFetchAllowed(new URL('http://10.0.0.1/a'), { ...POLICY, allowLoopback: true })).toThrow(/https/);
  });

  it('validates the event before touching any key', async () => {
    const store = new CountingStore(new FileSecretStore(keys.dir));
    const cs2 = service(store);
    const b64 = Buffer.from(batchBytes).toString('base64');
    const bad: Array<[unknown, RegExp]> = [
      [null, /must be a JSON object/],
      [[], /must be a JSON object/],
      [{ keyId: 'ABC', batch: b64 }, /keyId must be 16 lowercase hex/],
      [{ keyId: '../../etc/passwd', batch: b64 }, /keyId must be 16 lowercase hex/],
      [{ keyId: fixture.keyId }, /exactly one of batch \(base64\) and batchUrl/],
      [{ keyId: fixture.keyId, batch: b64, batchUrl: `${baseUrl}/batch` }, /exactly one of batch/],
      [{ keyId: fixture.keyId, batch: 'not base64!' }, /batch must be standard base64/],
      [{ keyId: fixture.keyId, batch: b64, batchSha256: 'a'.repeat(64) }, /batchSha256 goes with batchUrl only/],
      [{ keyId: fixture.keyId, batchUrl: `${baseUrl}/batch` }, /batchSha256 must be the hex SHA-256/],
      [{ keyId: fixture.keyId, batchUrl: 'not a url', batchSha256: 'a'.repeat(64) }, /not a valid absolute URL/],
      [{ keyId: fixture.keyId, batch: b64, extra: 1 }, /must not have property "extra"/],
      [{ keyId: fixture.keyId, batch: 'A'.repeat(8 * 1024 * 1024) }, /larger than/],
    ];
    for (const [event, message] of bad) {
      const error = await cs2.decrypt(event).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(event)?.slice(0, 80)).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).toMatch(message);
    }
    expect(store.reads).toBe(0);
    // Corrupted batch bytes are malformed data, an unknown key is not found.
    const corrupted = batchBytes.slice(0, batchBytes.length - 3);
    await expect(cs2.decrypt({ keyId: fixture.keyId, batch: Buffer.from(corrupted).toString('base64') })).rejects.toThrow(MalformedDataError);
    await expect(cs2.decrypt({ keyId: '0123456789abcdef', batch: b64 })).rejects.toThrow(NotFoundError);
  });

  it('refuses a secret stored under the wrong key id, and retries failed loads', async () => {
    const store = new CountingStore(new FileSecretStore(keys.dir));
    const swapped: SecretStore = { get: async (keyId) => store.get(keyId === fixture.keyId ? other.keyId : keyId), put: async () => undefined };
    const cs2 = service(swapped);
    const event = { keyId: fixture.keyId, batch: Buffer.from(batchBytes).toString('base64') };
    await expect(cs2.decrypt(event)).rejects.toThrow(new BlindsightError('INTERNAL', `the secret stored under key id "${fixture.keyId}" holds another key: re-import it with scripts/cs2-import-key.ts`));
    await expect(cs2.decrypt(event)).rejects.toThrow(/holds another key/);
    expect(store.reads).toBe(2); // the failure was not cached
    expect(cs2.decryptors.size).toBe(0);
  });

  it('reads its configuration from the environment', () => {
    expect(readCs2ServiceConfig({}).fetch).toEqual({ hostSuffixes: ['.amazonaws.com', '.amazonaws.com.cn'], allowLoopback: false, maxBytes: 256 * 1024 * 1024, timeoutMs: 10_000 });
    expect(readCs2ServiceConfig({ BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH: 'true', BLINDSIGHT_CS2_FETCH_HOSTS: '.localstack.cloud, s3.example.org' }).fetch).toMatchObject({
      allowLoopback: true,
      hostSuffixes: ['.localstack.cloud', 's3.example.org'],
    });
    expect(() => readCs2ServiceConfig({ BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH: 'yes' })).toThrow(/must be "true" or "false"/);
    expect(() => readCs2ServiceConfig({ BLINDSIGHT_CS2_FETCH_HOSTS: 'a/b' })).toThrow(/is not a host name/);
    expect(createCs2SecretStore({ BLINDSIGHT_CS2_KEY_DIR: keys.dir })).toBeInstanceOf(FileSecretStore);
    expect(createCs2SecretStore({ BLINDSIGHT_SECRET_DIR: keys.dir })).toBeInstanceOf(FileSecretStore);
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'us-east-1';
    try {
      const secrets = createCs2SecretStore({ BLINDSIGHT_CS2_SECRET_PREFIX: 'custom/prefix/' });
      expect(secrets).toBeInstanceOf(SecretsManagerStore);
      expect((secrets as SecretsManagerStore).secretName(fixture.keyId)).toBe(`custom/prefix/${fixture.keyId}`);
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });
});
