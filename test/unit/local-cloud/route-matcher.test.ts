import { describe, expect, it } from 'vitest';
import { CS1_ROUTES, routeKeyOf } from '../../../lib/api/routes';
import type { GatewayRoute as RouteDefinition } from '../../../scripts/local-cloud/rest-api-gateway';
import { RouteMatcher } from '../../../scripts/local-cloud/route-matcher';

describe('RouteMatcher on the CS1 route table', () => {
  const matcher = new RouteMatcher(CS1_ROUTES);

  it('matches a literal route without parameters', () => {
    const match = matcher.lookup('POST', '/v1/owners');
    expect(match).toMatchObject({ kind: 'match', routeKey: 'POST /v1/owners', pathParameters: {} });
  });

  it('extracts every {param} of the route', () => {
    const match = matcher.lookup('POST', '/v1/owners/o-1/indexes/faces/versions/v7/publish');
    expect(match.kind).toBe('match');
    if (match.kind !== 'match') return;
    expect(match.routeKey).toBe('POST /v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish');
    expect(match.route).toBe(CS1_ROUTES.find((r) => `${r.method} ${r.path}` === match.routeKey));
    expect(match.pathParameters).toEqual({ ownerId: 'o-1', indexName: 'faces', version: 'v7' });
  });

  it('tells methods of one path apart', () => {
    const put = matcher.lookup('PUT', '/v1/owners/o/users/u');
    const del = matcher.lookup('DELETE', '/v1/owners/o/users/u');
    expect(put.kind === 'match' && put.routeKey).toBe('PUT /v1/owners/{ownerId}/users/{userId}');
    expect(del.kind === 'match' && del.routeKey).toBe('DELETE /v1/owners/{ownerId}/users/{userId}');
  });

  it('percent-decodes parameter values', () => {
    const match = matcher.lookup('GET', '/v1/owners/o%20x/indexes/a%2Fb');
    expect(match.kind === 'match' && match.pathParameters).toEqual({ ownerId: 'o x', indexName: 'a/b' });
  });

  it('answers not-found for unknown paths, wrong lengths and empty segments', () => {
    for (const path of ['/', '/v1', '/v2/owners', '/v1/owners/o', '/v1/owners/', '/v1/owners//users/u', '/v1/owners/o/users/u/x', 'v1/owners']) {
      expect(matcher.lookup('POST', path), path).toEqual({ kind: 'not-found', allowedMethods: [] });
    }
  });

  it('answers method-not-allowed with the allowed methods for a known path', () => {
    expect(matcher.lookup('GET', '/v1/owners/o/users/u')).toEqual({ kind: 'method-not-allowed', allowedMethods: ['DELETE', 'PUT'] });
    expect(matcher.lookup('DELETE', '/v1/owners')).toEqual({ kind: 'method-not-allowed', allowedMethods: ['POST'] });
  });

  it('matches methods case-insensitively', () => {
    expect(matcher.lookup('post', '/v1/owners').kind).toBe('match');
  });

  it('does not match undecodable parameter values', () => {
    expect(matcher.lookup('GET', '/v1/owners/%E0%A4%A/indexes/x').kind).toBe('not-found');
  });
});

describe('RouteMatcher rules', () => {
  const route = (method: RouteDefinition['method'], path: string): RouteDefinition => ({ method, path, handler: 'h', auth: 'none' });

  it('prefers a literal segment over a parameter', () => {
    const matcher = new RouteMatcher([route('GET', '/items/{id}'), route('GET', '/items/latest')]);
    const latest = matcher.lookup('GET', '/items/latest');
    expect(latest.kind === 'match' && latest.routeKey).toBe('GET /items/latest');
    const other = matcher.lookup('GET', '/items/42');
    expect(other.kind === 'match' && other.pathParameters).toEqual({ id: '42' });
  });

  it('rejects duplicate routes and malformed patterns', () => {
    expect(() => new RouteMatcher([route('GET', '/a'), route('GET', '/a')])).toThrow(/twice/);
    expect(() => new RouteMatcher([route('GET', '/a/{x}/{x}')])).toThrow(/repeats/);
    expect(() => new RouteMatcher([route('GET', '/a/b{x}')])).toThrow(/bad segment/);
    expect(() => new RouteMatcher([route('GET', 'a')])).toThrow(/not a valid path/);
  });

  it('formats route keys as API Gateway does', () => {
    expect(routeKeyOf(route('DELETE', '/x/{y}'))).toBe('DELETE /x/{y}');
  });
});
