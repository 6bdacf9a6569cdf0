import { afterEach, describe, expect, it } from 'vitest';
import type { LambdaHandler } from '../../../scripts/local-cloud/lambda-runtime';
import { evaluatePolicy } from '../../../scripts/local-cloud/rest-api-gateway';
import { echoHandler, policyResult, startTestGateway, testAuthorizer } from './support';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function start(handlers: Record<string, LambdaHandler>, limits = {}, corsOrigins: readonly string[] = []) {
  gateway = await startTestGateway({ 'test/authorizer': testAuthorizer, ...handlers }, limits, corsOrigins);
  return gateway;
}

const AUTH = { authorization: 'Bearer good' };

describe('local REST API gateway: routing', () => {
  it('delivers a REST proxy event with path parameters, query, headers and the authorizer context', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const res = await fetch(`${gw.url}/v1/owners/o-1/things/t%2042?a=1&a=2`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', 'x-custom': 'v' },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const event = (await res.json()) as { headers: Record<string, string>; requestContext: unknown };
    expect(event).toMatchObject({
      resource: '/v1/owners/{ownerId}/things/{thingId}',
      path: '/v1/owners/o-1/things/t%2042',
      httpMethod: 'POST',
      queryStringParameters: { a: '2' },
      multiValueQueryStringParameters: { a: ['1', '2'] },
      pathParameters: { ownerId: 'o-1', thingId: 't 42' },
      stageVariables: null,
      body: '{"hello":"world"}',
      isBase64Encoded: false,
    });
    expect(event.headers['x-custom']).toBe('v');
    expect(event.requestContext).toMatchObject({
      accountId: '000000000001',
      apiId: 'testapi',
      stage: 'prod',
      resourcePath: '/v1/owners/{ownerId}/things/{thingId}',
      httpMethod: 'POST',
      path: '/prod/v1/owners/o-1/things/t%2042',
      requestId: res.headers.get('x-amzn-requestid'),
      identity: { sourceIp: '127.0.0.1' },
      authorizer: { principalId: 'o-1', ownerId: 'o-1', role: 'owner' },
    });
  });

  it('passes bodies as text (no binary media types)', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'text/plain' },
      body: 'héllo',
    });
    const event = (await res.json()) as { body: string; isBase64Encoded: boolean };
    expect(event).toMatchObject({ body: 'héllo', isBase64Encoded: false });
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
    const gw = await start({ 'test/open': async () => ({ statusCode: 200, body: '{}' }) });
    const res = await fetch(`${gw.url}/v1/open`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(gw.calls.map((c) => c.handler)).toEqual(['test/open']);
  });
});

describe('local REST API gateway: Lambda REQUEST authorizer', () => {
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
    expect(gw.calls[0].event).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:000000000001:testapi/prod/GET/v1/owners/o/things/t',
      resource: '/v1/owners/{ownerId}/things/{thingId}',
      headers: { authorization: 'Bearer revoked' },
    });
  });

  it('evaluates the policy for the method asked for: Deny wins, an Allow is needed, wildcards match', () => {
    const arn = 'arn:aws:execute-api:us-east-1:1:api/prod/GET/v1/x';
    const doc = (...statements: Array<[string, string]>) => ({ Statement: statements.map(([Effect, Resource]) => ({ Action: 'execute-api:Invoke', Effect, Resource })) });
    expect(evaluatePolicy(doc(['Allow', 'arn:aws:execute-api:us-east-1:1:api/prod/*']), arn)).toBe('allow');
    expect(evaluatePolicy(doc(['Allow', 'arn:aws:execute-api:us-east-1:1:api/prod/POST/*']), arn)).toBe('deny');
    expect(evaluatePolicy(doc(['Allow', '*'], ['Deny', arn]), arn)).toBe('deny');
    expect(evaluatePolicy(doc(), arn)).toBe('deny');
    expect(evaluatePolicy({ Statement: [{ Effect: 'Maybe', Action: 'x', Resource: arn }] }, arn)).toBe('malformed');
    expect(evaluatePolicy(undefined, arn)).toBe('malformed');
  });

  it('gives the authorizer and the route handler of one request the same request id and trace id, and each request its own', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    for (let i = 0; i < 2; i++) expect((await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH })).status).toBe(200);
    const ids = gw.calls.map((c) => {
      const event = c.event as { headers: Record<string, string>; requestContext: { requestId: string } };
      return `${event.requestContext.requestId} ${event.headers['X-Amzn-Trace-Id']}`;
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
      'test/authorizer': async (event) => policyResult(allowed ? 'Allow' : 'Deny', (event as { methodArn: string }).methodArn),
      'test/echo': echoHandler,
    });
    expect((await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH })).status).toBe(200);
    allowed = false;
    expect((await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH })).status).toBe(403);
  });

  it('answers 401 when the authorizer throws "Unauthorized"', async () => {
    const gw = await start({
      'test/authorizer': async () => {
        throw new Error('Unauthorized');
      },
      'test/echo': echoHandler,
    });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'Unauthorized' });
  });

  it('answers 503 (the stack\'s AUTHORIZER_FAILURE response) when the authorizer fails or returns a malformed result', async () => {
    for (const authorizer of [
      async () => {
        throw new Error('boom');
      },
      async () => ({ allow: true }),
      async () => ({ principalId: 'p', policyDocument: 'yes' }),
      async (event: unknown) => ({ ...policyResult('Allow', (event as { methodArn: string }).methodArn), context: { nested: { x: 1 } } }),
    ] as LambdaHandler[]) {
      const gw = await start({ 'test/authorizer': authorizer, 'test/echo': echoHandler });
      const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ error: { code: 'UNAVAILABLE', requestId: res.headers.get('x-amzn-requestid') } });
      expect(gw.calls.some((c) => c.handler === 'test/echo')).toBe(false);
      await gw.close();
      gateway = undefined;
    }
  });
});

describe('local REST API gateway: limits', () => {
  it('answers 413 for a request over the 10 MB REST API limit without running anything', async () => {
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
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'text/plain' },
      body: 'x'.repeat(7 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
    expect(gw.calls.map((c) => c.handler)).toEqual(['test/authorizer']);
  });

  it('answers 502 when the function response exceeds 6 MB', async () => {
    const gw = await start({ 'test/echo': async () => ({ statusCode: 200, body: 'x'.repeat(6 * 1024 * 1024 + 10) }) });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH });
    expect(res.status).toBe(502);
    expect(gw.log.events.some((e) => /payload limit/.test(e.msg))).toBe(true);
  });

  it('answers 504 when the integration times out', async () => {
    const gw = await start({ 'test/echo': () => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 2_000)) }, { integrationTimeoutMs: 100 });
    const res = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: AUTH });
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(gw.log.requests.at(-1)).toMatchObject({ status: 504, reason: 'integration-timeout' });
  });

  it('gives handlers a Lambda context whose remaining time counts down from the function timeout', async () => {
    const gw = await start(
      {
        'test/echo': async (_event, context) => ({
          statusCode: 200,
          body: JSON.stringify({
            name: context.functionName,
            arn: context.invokedFunctionArn,
            id: context.awsRequestId,
            remaining: context.getRemainingTimeInMillis(),
          }),
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

describe('local REST API gateway: responses and errors', () => {
  it('sends proxy responses: status, headers, multi-value headers, base64 bodies', async () => {
    const gw = await start({
      'test/respond': async () => ({
        statusCode: 201,
        headers: { 'Content-Type': 'image/png', 'X-Count': 3 },
        multiValueHeaders: { 'Set-Cookie': ['a=1; Path=/', 'b=2'] },
        body: Buffer.from([137, 80, 78, 71]).toString('base64'),
        isBase64Encoded: true,
      }),
    });
    // Bytes only when the first accepted media type is one of the API's binary types; else the base64 text, as in AWS.
    const res = await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: { ...AUTH, accept: 'application/octet-stream, */*' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-count')).toBe('3');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([137, 80, 78, 71]));
    for (const accept of [undefined, 'image/png', '*/*, application/octet-stream']) {
      const text = await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: { ...AUTH, ...(accept ? { accept } : {}) } });
      expect(await text.text()).toBe(Buffer.from([137, 80, 78, 71]).toString('base64'));
    }
  });

  it('hands a request body of a binary media type to the function base64-encoded, any other as text', async () => {
    const seen: Array<{ body: unknown; isBase64Encoded: unknown }> = [];
    const gw = await start({
      'test/respond': async (event: unknown) => {
        const { body, isBase64Encoded } = event as { body: unknown; isBase64Encoded: unknown };
        seen.push({ body, isBase64Encoded });
        return { statusCode: 200, body: '{}' };
      },
    });
    const bytes = new Uint8Array([0, 255, 1, 128]);
    await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/octet-stream' }, body: bytes });
    await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(seen).toEqual([
      { body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true },
      { body: '{"a":1}', isBase64Encoded: false },
    ]);
  });

  it('answers 502 for a result that is not a proxy response (no statusCode, or a malformed one)', async () => {
    for (const result of [{ values: [1, 2] }, { statusCode: 'ok' }, 'text']) {
      const gw = await start({ 'test/respond': async () => result });
      const res = await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH });
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ message: 'Internal server error' });
      await gw.close();
      gateway = undefined;
    }
  });

  it('answers 502 with API Gateway body (no stack, no message) when the handler throws', async () => {
    const gw = await start({
      'test/respond': async () => {
        throw new TypeError('secret detail that must not reach the client');
      },
    });
    const res = await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH });
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toBe('{"message":"Internal server error"}');
    expect(gw.log.events.at(-1)).toMatchObject({ level: 'error', msg: 'function error', errorType: 'TypeError' });
  });

  it('supports callback-style handlers', async () => {
    const gw = await start({ 'test/respond': (_e, _c, callback) => void setTimeout(() => callback(null, { statusCode: 204 }), 5) });
    expect((await fetch(`${gw.url}/v1/owners/o/respond`, { method: 'POST', headers: AUTH })).status).toBe(204);
  });

  it('keeps handler module state across requests (warm invocations)', async () => {
    let count = 0;
    const gw = await start({ 'test/respond': async () => ({ statusCode: 200, body: JSON.stringify({ count: ++count }) }) });
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

describe('local REST API gateway: CORS', () => {
  const ORIGIN = 'http://localhost:5173';

  it('answers preflights for the configured origins only, and adds the origin to its own error answers', async () => {
    const gw = await start({ 'test/echo': echoHandler }, {}, ['http://localhost:*']);
    const preflight = await fetch(`${gw.url}/v1/owners/o/things/t`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('Authorization,Content-Type');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const foreign = await fetch(`${gw.url}/v1/owners/o/things/t`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(204);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const unauthorized = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: { origin: ORIGIN } });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(gw.calls).toEqual([]);
  });

  it('has no CORS at all when no origin is configured (as in AWS by default)', async () => {
    const gw = await start({ 'test/echo': echoHandler });
    const preflight = await fetch(`${gw.url}/v1/owners/o/things/t`, { method: 'OPTIONS', headers: { origin: ORIGIN } });
    expect(preflight.status).toBe(405);
    const unauthorized = await fetch(`${gw.url}/v1/owners/o/things/t`, { headers: { origin: ORIGIN } });
    expect(unauthorized.headers.get('access-control-allow-origin')).toBeNull();
  });
});
