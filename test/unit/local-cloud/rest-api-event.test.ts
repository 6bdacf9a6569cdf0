import { describe, expect, it } from 'vitest';
import type { GatewayRequest } from '../../../scripts/local-cloud/http-request';
import { splitRequestTarget } from '../../../scripts/local-cloud/http-request';
import {
  buildAuthorizerEvent,
  buildIntegrationEvent,
  collectHeaders,
  formatRequestTime,
  parseQueryString,
} from '../../../scripts/local-cloud/rest-api-event';

const gateway = { accountId: '000000000001', region: 'us-east-1', apiId: 'testapi' };
const route = { resource: '/v1/owners/{ownerId}/search', pathParameters: { ownerId: 'o 1' } };

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

describe('integration event (REST proxy)', () => {
  it('carries every top-level field of a REST API proxy event', () => {
    const event = buildIntegrationEvent(request(), route, gateway, 'req-1');
    expect(event).toMatchObject({
      resource: '/v1/owners/{ownerId}/search',
      path: '/v1/owners/o%201/search',
      httpMethod: 'POST',
      queryStringParameters: { k: '5', tag: 'b', q: 'x y' },
      multiValueQueryStringParameters: { k: ['5'], tag: ['a', 'b'], q: ['x y'] },
      pathParameters: { ownerId: 'o 1' },
      stageVariables: null,
      body: '{"k":5}',
      isBase64Encoded: false,
    });
    expect(event.headers['User-Agent']).toBe('test-agent/1.0');
    expect(event.headers['X-Multi']).toBe('two');
    expect(event.multiValueHeaders['X-Multi']).toEqual(['one', 'two']);
    expect(event.headers['Authorization']).toBe('Bearer tok');
    expect(event.headers['Cookie']).toBe('a=1; b=2');
    expect(event.headers['Content-Length']).toBe('7');
  });

  it('fills requestContext like API Gateway', () => {
    const event = buildIntegrationEvent(request(), route, gateway, 'req-1');
    expect(event.requestContext).toMatchObject({
      accountId: '000000000001',
      apiId: 'testapi',
      authorizer: null,
      domainName: '127.0.0.1:4510',
      domainPrefix: '127',
      httpMethod: 'POST',
      identity: { sourceIp: '127.0.0.1', userAgent: 'test-agent/1.0' },
      path: '/prod/v1/owners/o%201/search',
      protocol: 'HTTP/1.1',
      requestId: 'req-1',
      requestTime: '12/Mar/2020:19:03:58 +0000',
      requestTimeEpoch: Date.UTC(2020, 2, 12, 19, 3, 58, 123),
      resourcePath: '/v1/owners/{ownerId}/search',
      stage: 'prod',
    });
  });

  it('adds the authorizer context under requestContext.authorizer', () => {
    const event = buildIntegrationEvent(request(), route, gateway, 'req-1', { principalId: 'o-1', ownerId: 'o-1', role: 'owner' });
    expect(event.requestContext.authorizer).toEqual({ principalId: 'o-1', ownerId: 'o-1', role: 'owner' });
    expect(buildIntegrationEvent(request(), route, gateway, 'req-1').requestContext.authorizer).toBeNull();
  });

  it('has null body, query and path parameters when there are none', () => {
    const event = buildIntegrationEvent(
      request({ body: Buffer.alloc(0), rawQueryString: '', rawHeaders: ['Host', 'h'] }),
      { resource: '/v1/owners', pathParameters: {} },
      gateway,
      'r',
    );
    expect(event).toMatchObject({ body: null, queryStringParameters: null, multiValueQueryStringParameters: null, pathParameters: null, isBase64Encoded: false });
    expect(event.headers['Content-Length']).toBeUndefined();
  });
});

describe('authorizer event (REQUEST)', () => {
  it('names the method ARN and carries the headers, but no body', () => {
    const event = buildAuthorizerEvent(request(), route, gateway, 'req-1');
    expect(event).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:us-east-1:000000000001:testapi/prod/POST/v1/owners/o%201/search',
      resource: '/v1/owners/{ownerId}/search',
      path: '/v1/owners/o%201/search',
      httpMethod: 'POST',
      pathParameters: { ownerId: 'o 1' },
      queryStringParameters: { k: '5', tag: 'b', q: 'x y' },
    });
    expect(event.headers?.Authorization).toBe('Bearer tok');
    expect(event.requestContext.requestId).toBe('req-1');
    expect('body' in event).toBe(false);
  });
});

describe('helpers', () => {
  it('keeps the last value of a repeated query parameter, and all of them in the multi-value map', () => {
    expect(parseQueryString('a=1&a=2&b=%2F&c')).toEqual({ single: { a: '2', b: '/', c: '' }, multi: { a: ['1', '2'], b: ['/'], c: [''] } });
    expect(parseQueryString('')).toEqual({ single: null, multi: null });
  });

  it('adds forwarding headers', () => {
    const { headers } = collectHeaders(request({ rawHeaders: ['Host', 'localhost:4510'] }));
    expect(headers['X-Forwarded-For']).toBe('127.0.0.1');
    expect(headers['X-Forwarded-Port']).toBe('4510');
    expect(headers['X-Forwarded-Proto']).toBe('http');
    expect(headers['X-Amzn-Trace-Id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
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
