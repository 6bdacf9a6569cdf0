/**
 * The client's retry policy and error mapping, with a scripted fetch (no network): transient
 * answers are retried only for idempotent requests, requests that never left are retried for
 * any method, Retry-After is honoured, and every failure becomes a typed error with the
 * server's code and message.
 */
import { describe, expect, it } from 'vitest';
import { Cs1Client } from '../../../lib/client/cs1-client';
import { ServiceError, ServiceUnreachableError } from '../../../lib/client/errors';
import type { FetchFunction } from '../../../lib/client/types';
import { MalformedDataError } from '../../../lib/core/errors';
import { timeoutScale } from '../../../lib/core/timeout-scale';
import { toImageId, toIndexName, toOwnerId, unparsedId } from '../../support/ids';
import type { UserId } from '../../../lib/core/ids';

const ENDPOINT = 'http://127.0.0.1:4510';
const OWNER = 'a'.repeat(52);

type Step = Response | Error;

function scripted(steps: Step[]) {
  const calls: Array<{ url: string; method: string; body?: string; headers: Record<string, string> }> = [];
  const fetch: FetchFunction = async (url, init) => {
    calls.push({ url, method: init?.method ?? 'GET', body: typeof init?.body === 'string' ? init.body : undefined, headers: (init?.headers ?? {}) as Record<string, string> });
    const step = steps.shift();
    if (step === undefined) throw new Error('unexpected request');
    if (step instanceof Error) throw step;
    return step;
  };
  const sleeps: number[] = [];
  const client = new Cs1Client({ endpoint: ENDPOINT, token: 'tok', fetch, retry: { attempts: 3, baseDelayMs: 10 }, sleep: async (ms) => void sleeps.push(ms) });
  return { client, calls, sleeps };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** fetch's own failure: a TypeError whose cause carries the socket error code. */
function networkError(code: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code}`), { code }) });
}

const SEARCH_OK = { version: 'v1', results: [{ hits: [{ imageId: 'a', score: 1 }] }] };

describe('Cs1Client retries', () => {
  it('retries an idempotent request after 503 and returns the later answer', async () => {
    const { client, calls, sleeps } = scripted([json(503, { error: { code: 'UNAVAILABLE', message: 'CS2 is down' } }), json(200, SEARCH_OK)]);
    const response = await client.search(toOwnerId(OWNER), toIndexName('main'), { trapdoors: [new Float64Array([1, 2])], k: 1 });
    expect(response).toEqual(SEARCH_OK);
    expect(calls).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(JSON.parse(calls[0].body!)).toEqual({ trapdoors: [[1, 2]], k: 1 });
    expect(calls[0].headers.authorization).toBe('Bearer tok');
  });

  it('gives up after the configured attempts with the last error', async () => {
    const down = () => json(503, { error: { code: 'UNAVAILABLE', message: 'CS2 did not answer' } });
    const { client, calls } = scripted([down(), down(), down()]);
    const error = await client.search(toOwnerId(OWNER), toIndexName('main'), { trapdoors: [[1]], k: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ status: 503, code: 'UNAVAILABLE', message: 'CS2 did not answer' });
    expect(calls).toHaveLength(3);
  });

  it('never repeats a non-idempotent request after an answer', async () => {
    const { client, calls } = scripted([json(503, { message: 'Service Unavailable' })]);
    const error = await client.createIndexVersion(toOwnerId(OWNER), toIndexName('main'), { kind: 'sei', parts: { skeleton: 1, leaves: 1 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('UNAVAILABLE');
    expect(calls).toHaveLength(1);
  });

  it('repeats any request that never reached the server (connection refused)', async () => {
    const created = { version: 'v2', kind: 'sei', uploads: {} };
    const { client, calls } = scripted([networkError('ECONNREFUSED'), json(201, created)]);
    await expect(client.createIndexVersion(toOwnerId(OWNER), toIndexName('main'), { kind: 'sei', parts: { skeleton: 1 } })).resolves.toEqual(created);
    expect(calls).toHaveLength(2);
  });

  it('does not repeat a non-idempotent request whose answer was lost (reset)', async () => {
    const { client, calls } = scripted([networkError('ECONNRESET')]);
    const error = await client.addImage(toOwnerId(OWNER), toIndexName('main'), { imageId: toImageId('x'), vector: [1], placementTrapdoor: [1] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as Error).message).toBe(`cannot reach ${ENDPOINT}: ECONNRESET; is the local cloud running? (npm start)`);
    expect(calls).toHaveLength(1);
  });

  it('honours Retry-After', async () => {
    const { client, sleeps } = scripted([json(429, { message: 'Too Many Requests' }, { 'retry-after': '2' }), json(200, SEARCH_OK)]);
    await client.search(toOwnerId(OWNER), toIndexName('main'), { trapdoors: [[1]], k: 1 });
    expect(sleeps).toEqual([2000]);
  });

  it('does not retry client errors', async () => {
    const { client, calls } = scripted([json(400, { error: { code: 'INVALID_INPUT', message: 'invalid request: body/k must be >= 1' } })]);
    const error = await client.search(toOwnerId(OWNER), toIndexName('main'), { trapdoors: [[1]], k: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_INPUT', message: 'invalid request: body/k must be >= 1', operation: 'search in index "main"' });
    expect(calls).toHaveLength(1);
  });
});

describe('Cs1Client errors', () => {
  it("explains API Gateway's own refusals", async () => {
    const { client } = scripted([json(403, { message: 'Forbidden' })]);
    const error = (await client.getIndex(toOwnerId(OWNER), toIndexName('main')).catch((e: unknown) => e)) as ServiceError;
    expect(error.code).toBe('FORBIDDEN');
    expect(error.serverCode).toBeUndefined();
    expect(error.message).toMatch(/refused the token: it has expired, was revoked/);
  });

  it('keeps the request id of server faults in the message', async () => {
    const { client } = scripted([json(500, { error: { code: 'INTERNAL', message: 'internal error', requestId: 'req-1' } })]);
    const error = await client.createIndexVersion(toOwnerId(OWNER), toIndexName('main'), { kind: 'sei', parts: { skeleton: 1 } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTERNAL', requestId: 'req-1', message: 'internal error (request id req-1)' });
  });

  it('maps an unknown server code by its status', async () => {
    const { client } = scripted([json(409, { error: { code: 'SOMETHING_NEW', message: 'conflict of a new kind' } })]);
    const error = await client.addImage(toOwnerId(OWNER), toIndexName('main'), { imageId: toImageId('x'), vector: [1], placementTrapdoor: [1] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFLICT', serverCode: 'SOMETHING_NEW', message: 'conflict of a new kind' });
  });

  it('refuses an answer that is not JSON', async () => {
    const { client } = scripted([new Response('<html>hello</html>', { status: 200 })]);
    const error = await client.getIndex(toOwnerId(OWNER), toIndexName('main')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedDataError);
    expect((error as Error).message).toMatch(/is not JSON: is this the endpoint of CS1\?/);
  });

  it("reports storage's XML errors of presigned transfers", async () => {
    const uploads = { uploads: [{ imageId: 'img-1', url: 'http://127.0.0.1:4512/bucket/key', method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': '3' }, expiresAt: '' }] };
    const xml = '<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><Message>The signature does not match</Message></Error>';
    const { client, calls } = scripted([json(200, uploads), new Response(xml, { status: 403 })]);
    const error = await client.uploadImages(toOwnerId(OWNER), [{ imageId: toImageId('img-1'), envelope: new Uint8Array([1, 2, 3]) }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as Error).message).toBe(
      'upload of image "img-1" failed: storage answered 403 SignatureDoesNotMatch: The signature does not match (the presigned URL may have expired: run the command again)',
    );
    // The signed type is sent; the length is left to fetch (it must match the body).
    expect(calls[1].headers).toEqual({ 'content-type': 'application/octet-stream' });
  });

  it('refuses to upload bytes of another length than the URL was signed for', async () => {
    const uploads = { uploads: [{ imageId: 'img-1', url: 'http://127.0.0.1:4512/b/k', method: 'PUT', headers: { 'content-length': '5' }, expiresAt: '' }] };
    const { client } = scripted([json(200, uploads)]);
    await expect(client.uploadImages(toOwnerId(OWNER), [{ imageId: toImageId('img-1'), envelope: new Uint8Array(3) }])).rejects.toThrow(/3 bytes, but 5 were declared/);
  });

  it('reports a timeout as no answer, naming the endpoint and the timeout (30 s times BLINDSIGHT_TIMEOUT_SCALE)', async () => {
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    const { client } = scripted([timeout, timeout, timeout]);
    await expect(client.getIndex(toOwnerId(OWNER), toIndexName('main'))).rejects.toThrow(`cannot reach ${ENDPOINT}: no answer within ${30 * timeoutScale()} s`);
  });

  it('says which endpoint is wrong for remote endpoints', async () => {
    const fetch: FetchFunction = async () => {
      throw networkError('ENOTFOUND');
    };
    const client = new Cs1Client({ endpoint: 'https://api.example.invalid/prod/', token: 't', fetch, retry: { attempts: 1 } });
    expect(client.endpoint).toBe('https://api.example.invalid/prod');
    await expect(client.getIndex(toOwnerId(OWNER), toIndexName('main'))).rejects.toThrow('cannot reach https://api.example.invalid/prod: ENOTFOUND; check the endpoint URL and your network');
  });

  it('refuses endpoints that are not http(s) URLs and calls that need a token', async () => {
    expect(() => new Cs1Client({ endpoint: 'localhost:4510' })).toThrow('endpoint must be an http:// or https:// URL');
    expect(() => new Cs1Client({ endpoint: 'not a url' })).toThrow(/is not a URL/);
    const client = new Cs1Client({ endpoint: ENDPOINT, fetch: async () => json(200, {}) });
    await expect(client.getIndex(toOwnerId(OWNER), toIndexName('main'))).rejects.toThrow(/needs a token/);
  });

  it('escapes path segments', async () => {
    const { client, calls } = scripted([json(200, { ownerId: OWNER, userId: 'a-b', status: 'active' })]);
    await client.putUser(toOwnerId(OWNER), unparsedId<UserId>('a b/../c'));
    expect(calls[0].url).toBe(`${ENDPOINT}/v1/owners/${OWNER}/users/a%20b%2F..%2Fc`);
  });
});
