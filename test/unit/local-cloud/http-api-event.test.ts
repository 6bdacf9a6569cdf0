import { describe, expect, it } from 'vitest';
import {
  buildAuthorizerEvent,
  buildIntegrationEvent,
  encodeBody,
  formatRequestTime,
  isTextContentType,
  normalizeHeaders,
  parseQueryString,
} from '../../../scripts/local-cloud/http-api-event';
import type { GatewayRequest } from '../../../scripts/local-cloud/http-request';
import { splitRequestTarget } from '../../../scripts/local-cloud/http-request';

const gateway = { accountId: '000000000001', region: 'us-east-1', apiId: 'testapi' };
const route = { routeKey: 'POST /v1/owners/{ownerId}/search', pathParameters: { ownerId: 'o 1' } };

function request(overrides: Partial<GatewayRequest> = {}): GatewayRequest {
  return {
    method: 'POST',
    rawPath: '/v1/owners/o%201/search',
    rawQueryString: 'k=5&tag=a&tag=b&q=x%20y',
    rawHeaders: [
      'Host', '127.0.0.1:4510',
      'User-Agent', 'test-agent/1.0',
      'Content-Type', 'application/json',
      'X-Multi', 'one',
      'x-multi', 'two',
      'Cookie', 'a=1; b=2',
      'Authorization', 'Bearer tok',
    ],
    body: Buffer.from('{"k":5}'),
    sourceIp: '127.0.0.1',
    protocol: 'HTTP/1.1',
    receivedAt: new Date(Date.UTC(2020, 2, 12, 19, 3, 58, 123)),
    ...overrides,
  };
}

describe('integration event (payload 2.0)', () => {
  it('carries every top-level field of an HTTP API event', () => {
    const event = buildIntegrationEvent(request(), route, gateway, 'req-1');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/owners/{ownerId}/search',
      rawPath: '/v1/owners/o%201/search',
      rawQueryString: 'k=5&tag=a&tag=b&q=x%20y',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { k: '5', tag: 'a,b', q: 'x y' },
      pathParameters: { ownerId: 'o 1' },
      body: '{"k":5}',
      isBase64Encoded: false,
    });
    expect(event.headers['user-agent']).toBe('test-agent/1.0');
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers['authorization']).toBe('Bearer tok');
    expect(event.headers['content-length']).toBe('7');
    expect(event.headers['cookie']).toBeUndefined();
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect('stageVariables' in event).toBe(false);
  });

  it('fills requestContext like API Gateway', () => {
    const event = buildIntegrationEvent(request(), route, gateway, 'req-1');
    expect(event.requestContext).toEqual({
      accountId: '000000000001',
      apiId: 'testapi',
      domainName: '127.0.0.1:4510',
      domainPrefix: '127',
      http: { method: 'POST', path: '/v1/owners/o%201/search', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test-agent/1.0' },
      requestId: 'req-1',
      routeKey: 'POST /v1/owners/{ownerId}/search',
      stage: '$default',
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: Date.UTC(2020, 2, 12, 19, 3, 58, 123),
    });
  });

  it('adds the authorizer context under requestContext.authorizer.lambda', () => {
    const event = buildIntegrationEvent(request(), route, gateway, 'req-1', { ownerId: 'o-1', role: 'owner' });
    expect((event.requestContext as unknown as { authorizer: unknown }).authorizer).toEqual({ lambda: { ownerId: 'o-1', role: 'owner' } });
    const without = buildIntegrationEvent(request(), route, gateway, 'req-1');
    expect('authorizer' in without.requestContext).toBe(false);
  });

  it('base64-encodes binary bodies and bodies without a content type', () => {
    const bytes = Buffer.from([0, 255, 1, 254, 10]);
    const binary = buildIntegrationEvent(request({ body: bytes, rawHeaders: ['Content-Type', 'application/octet-stream'] }), route, gateway, 'r');
    expect(binary.isBase64Encoded).toBe(true);
    expect(Buffer.from(binary.body ?? '', 'base64')).toEqual(bytes);
    const untyped = buildIntegrationEvent(request({ body: Buffer.from('abc'), rawHeaders: [] }), route, gateway, 'r');
    expect(untyped).toMatchObject({ isBase64Encoded: true, body: Buffer.from('abc').toString('base64') });
  });

  it('omits body, cookies, query and path parameters when there are none', () => {
    const event = buildIntegrationEvent(
      request({ body: Buffer.alloc(0), rawQueryString: '', rawHeaders: ['Host', 'h'] }),
      { routeKey: 'POST /v1/owners', pathParameters: {} },
      gateway,
      'r',
    );
    for (const field of ['body', 'cookies', 'queryStringParameters', 'pathParameters']) expect(field in event, field).toBe(false);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.headers['content-length']).toBeUndefined();
  });
});

describe('authorizer event (REQUEST, payload 2.0)', () => {
  it('names the route ARN and the identity source', () => {
    const event = buildAuthorizerEvent(request(), route, gateway, 'req-1', ['Bearer tok']);
    expect(event).toMatchObject({
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:us-east-1:000000000001:testapi/$default/POST/v1/owners/o%201/search',
      identitySource: ['Bearer tok'],
      routeKey: 'POST /v1/owners/{ownerId}/search',
      rawPath: '/v1/owners/o%201/search',
      cookies: ['a=1', 'b=2'],
      pathParameters: { ownerId: 'o 1' },
      queryStringParameters: { k: '5', tag: 'a,b', q: 'x y' },
    });
    expect(event.requestContext.requestId).toBe('req-1');
    expect('body' in event).toBe(false);
  });
});

describe('helpers', () => {
  it('classifies text content types as API Gateway does', () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/problem+json', 'application/xml', 'image/svg+xml']) {
      expect(isTextContentType(type), type).toBe(true);
    }
    for (const type of [undefined, 'application/octet-stream', 'image/png', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) {
      expect(isTextContentType(type), String(type)).toBe(false);
    }
  });

  it('keeps text bodies as UTF-8 strings', () => {
    expect(encodeBody(Buffer.from('héllo'), 'text/plain')).toEqual({ body: 'héllo', isBase64Encoded: false });
  });

  it('joins duplicate query parameters with commas and decodes them', () => {
    expect(parseQueryString('a=1&a=2&b=%2F&c')).toEqual({ a: '1,2', b: '/', c: '' });
    expect(parseQueryString('')).toBeUndefined();
  });

  it('adds forwarding headers', () => {
    const { headers } = normalizeHeaders(request({ rawHeaders: ['Host', 'localhost:4510'] }));
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(headers['x-forwarded-port']).toBe('4510');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  it('formats the request time in UTC with two-digit fields', () => {
    expect(formatRequestTime(new Date(Date.UTC(2024, 0, 5, 3, 4, 5)))).toBe('05/Jan/2024:03:04:05 +0000');
  });

  it('splits request targets into raw path and raw query string', () => {
    expect(splitRequestTarget('/a/b?x=1&y=2')).toEqual({ rawPath: '/a/b', rawQueryString: 'x=1&y=2' });
    expect(splitRequestTarget('/a')).toEqual({ rawPath: '/a', rawQueryString: '' });
    expect(splitRequestTarget('http://host:1/a?q')).toEqual({ rawPath: '/a', rawQueryString: 'q' });
  });
});
