import { afterEach, describe, expect, it } from 'vitest';
import type { LambdaHandler } from '../../../scripts/local-cloud/lambda-runtime';
import { echoHandler, startTestGateway, testAuthorizer } from './support';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function start(handlers: Record<string, LambdaHandler>, limits = {}) {
  gateway = await startTestGateway({ 'test/authorizer': testAuthorizer, ...handlers }, limits);
  return gateway;
}

const AUTH = { authorization: 'Bearer good' };

describe('local HTTP API gateway: routing', () => {
  it('delivers a payload 2.0 event with path parameters, query, cookies and authorizer context', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const res = await fetch(`${gw.url}/v1/owners/o-1/things/t%2042?a=1&a=2`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', cookie: 'session=s1; theme=dark', 'x-custom': 'v' },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/=]{16}$/);
    const event = (await res.json()) as { headers: Record<string, string>; requestContext: unknown };
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/owners/{ownerId}/things/{thingId}',
      rawPath: '/v1/owners/o-1/things/t%2042',
      rawQueryString: 'a=1&a=2',
      queryStringParameters: { a: '1,2' },
      pathParameters: { ownerId: 'o-1', thingId: 't 42' },
      cookies: ['session=s1', 'theme=dark'],
      body: '{"hello":"world"}',
      isBase64Encoded: false,
    });
    expect(event.headers['x-custom']).toBe('v');
    expect(event.requestContext).toMatchObject({
      accountId: '000000000001',
      apiId: 'testapi',
      stage: '$default',
      routeKey: 'POST /v1/owners/{ownerId}/things/{thingId}',
      requestId: res.headers.get('apigw-requestid'),
      http: { method: 'POST', path: '/v1/owners/o-1/things/t%2042', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
      authorizer: { lambda: { ownerId: 'o-1', role: 'owner' } },
    });
  });

  it('passes binary bodies base64-encoded', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    const event = (await res.json()) as { body: string; isBase64Encoded: boolean };
    expect(event.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(event.body, 'base64'))).toEqual(bytes);
  });

  it('answers 404 for unknown paths and 405 with Allow for a wrong method, without running anything', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const missing = await fetch(`${gw.url}/v1/nothing`, { method: 'POST', headers: AUTH });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'Not Found' });
    const wrong = await fetch(`${gw.url}/v1/owners/o/things/t`, { method: 'DELETE', headers: AUTH });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect(gw.calls).toEqual([]);
  });

  it('runs routes with auth "none" without the authorizer', async () => {
    const gw = await start({ 'test/open': async () => ({ ok: true }) });
    const res = await fetch(`${gw.url}/v1/open`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(gw.calls.map((c) => c.handler)).toEqual(['test/open']);
  });
});

describe('local HTTP API gateway: Lambda authorizer', () => {
  it('answers 401 without calling the authorizer when Authorization is missing or empty', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    for (const headers of [{}, { authorization: '' }] as Array<Record<string, string>>) {
      const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ message: 'Unauthorized' });
    }
    expect(gw.calls).toEqual([]);
  });

  it('answers 403 when the authorizer denies, without calling the route handler', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: { authorization: 'Bearer revoked' } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Forbidden' });
    expect(gw.calls.map((c) => c.handler)).toEqual(['test/authorizer']);
    expect(gw.calls[0].event).toMatchObject({ type: 'REQUEST', identitySource: ['Bearer revoked'], routeKey: 'GET /v1/owners/{ownerId}/things/{thingId}' });
  });

  it('gives the authorizer and the route handler of one request the same request id and trace id, and each request its own', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    for (let i = 0; i < 2; i++) expect((await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH })).status).toBe(200);
    const ids = gw.calls.map((c) => {
      const event = c.event as { headers: Record<string, string>; requestContext: { requestId: string } };
      return `${event.requestContext.requestId} ${event.headers['x-amzn-trace-id']}`;
    });
    expect(gw.calls.map((c) => c.handler)).toEqual(['test/authorizer', 'test/echo', 'test/authorizer', 'test/echo']);
    expect(ids[0]).toMatch(/^\S+ Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[3]).toBe(ids[2]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  it('runs the authorizer on every request (no result cache), so a revocation applies at once', async () => {
    let allowed = true;
    const gw = await start({
      'test/authorizer': async () => ({ isAuthorized: allowed, context: { ownerId: 'o' } }),
      'test/echo': echoHandler,
    });
    expect((await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH })).status).toBe(200);
    allowed = false;
    expect((await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH })).status).toBe(403);
  });

  it('answers 500 when the authorizer throws or returns a malformed response', async () => {
    for (const authorizer of [
      async () => {
        throw new Error('boom');
      },
      async () => ({ allow: true }),
      async () => ({ isAuthorized: 'yes' }),
      async () => ({ isAuthorized: true, context: 'x' }),
    ] as LambdaHandler[]) {
      const gw = await start({ 'test/authorizer': authorizer, 'test/echo': echoHandler });
      const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ message: 'Internal Server Error' });
      expect(gw.calls.some((c) => c.handler === 'test/echo')).toBe(false);
      await gw.close();
      gateway = undefined;
    }
  });
});

describe('local HTTP API gateway: limits', () => {
  it('answers 413 for a request over the 10 MB HTTP API limit without running anything', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(10 * 1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(gw.calls).toEqual([]);
  });

  it('answers 413 when the event would exceed Lambda 6 MB invocation payload', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    // 5 MB binary -> ~6.7 MB of base64 in the event.
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(5 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(gw.calls.map((c) => c.handler)).toEqual(['test/authorizer']);
  });

  it('answers 500 when the function response exceeds 6 MB', async () => {
    const gw = await start({ 'test/echo': async () => ({ statusCode: 200, body: 'x'.repeat(6 * 1024 * 1024 + 10) }) });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH });
    expect(res.status).toBe(500);
    expect(gw.log.events.some((e) => /payload limit/.test(e.msg))).toBe(true);
  });

  it('answers 503 when the integration times out', async () => {
    const gw = await start({ 'test/echo': () => new Promise((resolve) => setTimeout(() => resolve({ ok: 1 }), 2_000)) }, { integrationTimeoutMs: 100 });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Service Unavailable' });
    expect(gw.log.requests.at(-1)).toMatchObject({ status: 503, reason: 'integration-timeout' });
  });

  it('gives handlers a Lambda context whose remaining time counts down from the function timeout', async () => {
    const gw = await start(
      {
        'test/echo': async (_event, context) => ({
          name: context.functionName,
          arn: context.invokedFunctionArn,
          id: context.awsRequestId,
          remaining: context.getRemainingTimeInMillis(),
        }),
      },
      { functionTimeoutMs: 60_000 },
    );
    const body = (await (await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH })).json()) as { name: string; arn: string; id: string; remaining: number };
    expect(body.name).toBe('blindsight-test-echo');
    expect(body.arn).toBe('arn:aws:lambda:us-east-1:000000000001:function:blindsight-test-echo');
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.remaining).toBeGreaterThan(0);
    expect(body.remaining).toBeLessThanOrEqual(60_000);
  });
});

describe('local HTTP API gateway: responses and errors', () => {
  it('sends structured responses: status, headers, cookies, base64 bodies', async () => {
    const gw = await start({
      'test/respond': async () => ({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png', 'X-Count': 3 },
        cookies: ['a=1; Path=/', 'b=2'],
        body: Buffer.from([137, 80, 78, 71]).toString('base64'),
        isBase64Encoded: true,
      }),
    });
    const res = await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-count')).toBe('3');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([137, 80, 78, 71]));
  });

  it('sends a result without statusCode as a 200 JSON body', async () => {
    const gw = await start({ 'test/respond': async () => ({ values: [1, 2] }) });
    const res = await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ values: [1, 2] });
  });

  it('answers 500 for a malformed structured response', async () => {
    const gw = await start({ 'test/respond': async () => ({ statusCode: 'ok' }) });
    expect((await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH })).status).toBe(500);
  });

  it('answers 500 with API Gateway body (no stack, no message) when the handler throws', async () => {
    const gw = await start({
      'test/respond': async () => {
        throw new TypeError('secret detail that must not reach the client');
      },
    });
    const res = await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toBe('{"message":"Internal Server Error"}');
    expect(gw.log.events.at(-1)).toMatchObject({ level: 'error', msg: 'function error', errorType: 'TypeError' });
  });

  it('supports callback-style handlers', async () => {
    const gw = await start({ 'test/respond': (_e, _c, callback) => void setTimeout(() => callback(null, { statusCode: 204 }), 5) });
    expect((await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH })).status).toBe(204);
  });

  it('keeps handler module state across requests (warm invocations)', async () => {
    let count = 0;
    const gw = await start({ 'test/respond': async () => ({ count: ++count }) });
    const first = await (await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH })).json();
    const second = await (await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH })).json();
    expect([first, second]).toEqual([{ count: 1 }, { count: 2 }]);
  });

  it('logs one structured line per request with method, route, status and duration, never bodies or tokens', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    await fetch(`${gw.url}/v1/owners/o/things/t`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: '{"vector":[0.123456789]}',
    });
    await fetch(`${gw.url}/v1/nothing`);
    expect(gw.log.requests).toHaveLength(2);
    expect(gw.log.requests[0]).toMatchObject({ account: 'cs1', method: 'POST', route: 'POST /v1/owners/{ownerId}/things/{thingId}', status: 200 });
    expect(typeof gw.log.requests[0].ms).toBe('number');
    expect(gw.log.requests[1]).toMatchObject({ method: 'GET', route: '-', status: 404 });
    const logged = JSON.stringify([gw.log.requests, gw.log.events]);
    expect(logged).not.toContain('0.123456789');
    expect(logged).not.toContain('Bearer');
  });
});
