import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DecryptionError, NotFoundError } from '../../../lib/core/errors';
import {
  credentialDigest,
  loadOrCreateCredential,
  presentsTrustedCredential,
  readTrustedDigest,
  writeTrustedDigest,
} from '../../../scripts/local-cloud/cs1-credential';
import type { LambdaHandler } from '../../../scripts/local-cloud/lambda-runtime';
import { startTestCs2 } from './support';

const CREDENTIAL = 'A'.repeat(43);
const DIGEST = Buffer.from(credentialDigest(CREDENTIAL), 'hex');
const EVENT = { keyId: 'k-1', batch: Buffer.from([1, 2, 3]).toString('base64') };

type Cs2 = Awaited<ReturnType<typeof startTestCs2>>;
let cs2: Cs2 | undefined;

afterEach(async () => {
  await cs2?.close();
  cs2 = undefined;
});

const decryptOk: LambdaHandler = async (event) => {
  const e = event as { keyId: string; batch: string };
  return { values: [e.keyId, String(Buffer.from(e.batch, 'base64').length)] };
};

function post(url: string, headers: Record<string, string>, body: string = JSON.stringify(EVENT)) {
  return fetch(`${url}/v1/decrypt`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe('CS2 local gateway: only CS1 may call', () => {
  it('runs the decrypt handler with the direct-invoke event when CS1 credential is presented', async () => {
    cs2 = await startTestCs2(decryptOk, DIGEST);
    const res = await post(cs2.url, { authorization: `Bearer ${CREDENTIAL}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ values: ['k-1', '3'] });
    expect(cs2.calls).toEqual([{ handler: 'cs2/decrypt', event: EVENT }]);
  });

  it('answers 403 with a clear message to any other caller, without running the handler', async () => {
    cs2 = await startTestCs2(decryptOk, DIGEST);
    const callers: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${CREDENTIAL}x` },
      { authorization: CREDENTIAL },
      { authorization: `Basic ${CREDENTIAL}` },
    ];
    for (const headers of callers) {
      const res = await post(cs2.url, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      const body = (await res.json()) as { errorType: string; errorMessage: string; errorCode: string };
      expect(body.errorCode).toBe('FORBIDDEN');
      expect(body.errorMessage).toMatch(/only from CS1/);
      expect(body.errorMessage).not.toContain(CREDENTIAL);
    }
    expect(cs2.calls).toEqual([]);
    expect(cs2.log.requests.every((r) => r.status === 403 && r.reason === 'caller-not-cs1')).toBe(true);
  });

  it('maps typed errors of the handler to 4xx with errorType, errorCode and the safe message', async () => {
    const handlers: Array<[LambdaHandler, number, string]> = [
      [async () => { throw new NotFoundError('no secret with key id "k-1"'); }, 404, 'NOT_FOUND'],
      [async () => { throw new DecryptionError('batch does not decrypt under this key'); }, 422, 'DECRYPTION_FAILED'],
    ];
    for (const [handler, status, code] of handlers) {
      cs2 = await startTestCs2(handler, DIGEST);
      const res = await post(cs2.url, { authorization: `Bearer ${CREDENTIAL}` });
      expect(res.status).toBe(status);
      expect(res.headers.get('x-amz-function-error')).toBe('Unhandled');
      expect(await res.json()).toMatchObject({ errorCode: code });
      await cs2.close();
      cs2 = undefined;
    }
  });

  it('hides the message of unexpected errors behind a generic 500', async () => {
    cs2 = await startTestCs2(async () => { throw new RangeError('internal detail'); }, DIGEST);
    const res = await post(cs2.url, { authorization: `Bearer ${CREDENTIAL}` });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('internal detail');
    expect(JSON.parse(text)).toMatchObject({ errorType: 'RangeError', errorCode: 'INTERNAL' });
  });

  it('refuses bodies that are not JSON, oversized payloads, other paths and methods', async () => {
    cs2 = await startTestCs2(decryptOk, DIGEST, { maxPayloadBytes: 1024 });
    const auth = { authorization: `Bearer ${CREDENTIAL}` };
    expect((await post(cs2.url, auth, '{not json')).status).toBe(400);
    expect((await post(cs2.url, auth, JSON.stringify({ ...EVENT, batch: 'A'.repeat(2000) }))).status).toBe(413);
    expect((await fetch(`${cs2.url}/v1/other`, { method: 'POST', headers: auth })).status).toBe(404);
    expect((await fetch(`${cs2.url}/v1/decrypt`, { headers: auth })).status).toBe(405);
    expect(cs2.calls).toEqual([]);
  });

  it('answers 504 when decryption outlasts the function timeout', async () => {
    cs2 = await startTestCs2(() => new Promise((resolve) => setTimeout(() => resolve({ values: [] }), 2_000)), DIGEST, { timeoutMs: 100 });
    const res = await post(cs2.url, { authorization: `Bearer ${CREDENTIAL}` });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ errorType: 'Sandbox.Timedout' });
  });
});

describe('CS1 credential files', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('generates a random credential once (mode 0600) and returns the same one afterwards', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cred-'));
    const file = join(dir, 'cs1', 'cs2-credential');
    const first = await loadOrCreateCredential(file);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateCredential(file)).toBe(first);
    const other = await loadOrCreateCredential(join(dir, 'other'));
    expect(other).not.toBe(first);
  });

  it('stores only the digest on the CS2 side and verifies against it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cred-'));
    const credential = await loadOrCreateCredential(join(dir, 'c'));
    const digestFile = join(dir, 'cs2', 'trusted-cs1.sha256');
    await writeTrustedDigest(digestFile, credentialDigest(credential));
    expect(await readFile(digestFile, 'utf8')).not.toContain(credential);
    const digest = await readTrustedDigest(digestFile);
    expect(presentsTrustedCredential(`Bearer ${credential}`, digest)).toBe(true);
    expect(presentsTrustedCredential(`bearer ${credential}`, digest)).toBe(true);
    expect(presentsTrustedCredential(`Bearer ${credential.slice(1)}`, digest)).toBe(false);
    expect(presentsTrustedCredential(undefined, digest)).toBe(false);
    expect(presentsTrustedCredential('Bearer ', digest)).toBe(false);
  });

  it('rejects a corrupted credential file instead of trusting it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cred-'));
    const file = join(dir, 'c');
    await writeFile(file, 'short\n');
    await expect(loadOrCreateCredential(file)).rejects.toThrow(/delete it/);
    await expect(writeTrustedDigest(join(dir, 'x'), 'nothex')).rejects.toThrow(/64 hex/);
    await writeFile(join(dir, 'd'), 'zz\n');
    await expect(readTrustedDigest(join(dir, 'd'))).rejects.toThrow(/SHA-256/);
  });
});
