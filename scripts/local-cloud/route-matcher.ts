/**
 * Matches a request against a route table in API Gateway's `{param}` syntax, as API Gateway
 * does for routes without greedy `{proxy+}` segments: each parameter is exactly one non-empty
 * path segment, literal segments match exactly, and the most specific route wins.
 */
import { routeKeyOf } from '../../lib/api/routes';
import type { GatewayRoute as RouteDefinition } from './rest-api-gateway';

export interface RouteMatch {
  readonly kind: 'match';
  readonly route: RouteDefinition;
  /** API Gateway's route key, e.g. `POST /v1/owners/{ownerId}/indexes/{indexName}/search`. */
  readonly routeKey: string;
  /** Percent-decoded values of the `{param}` segments; empty when the route has none. */
  readonly pathParameters: Readonly<Record<string, string>>;
}

export interface RouteMiss {
  /** `not-found`: no route has this path; `method-not-allowed`: the path exists for other methods. */
  readonly kind: 'not-found' | 'method-not-allowed';
  /** Methods that the path accepts (empty for `not-found`). */
  readonly allowedMethods: readonly string[];
}

export type RouteLookup = RouteMatch | RouteMiss;

interface CompiledRoute {
  readonly route: RouteDefinition;
  readonly segments: readonly Segment[];
  /** Number of literal segments: a literal beats a parameter when two routes match. */
  readonly literalCount: number;
}

type Segment = { readonly literal: string } | { readonly param: string };

const PARAM_SEGMENT = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export class RouteMatcher {
  private readonly compiled: readonly CompiledRoute[];

  constructor(routes: readonly RouteDefinition[]) {
    const seen = new Set<string>();
    this.compiled = routes.map((route) => {
      const key = routeKeyOf(route);
      if (seen.has(key)) throw new Error(`Route table lists ${key} twice`);
      seen.add(key);
      return compileRoute(route);
    });
  }

  /** `rawPath` is the path as sent (percent-encoded, without the query string). */
  lookup(method: string, rawPath: string): RouteLookup {
    const segments = splitPath(rawPath);
    if (segments === undefined) return { kind: 'not-found', allowedMethods: [] };
    const upperMethod = method.toUpperCase();
    let best: { compiled: CompiledRoute; params: Record<string, string> } | undefined;
    const allowed = new Set<string>();
    for (const compiled of this.compiled) {
      const params = matchSegments(compiled.segments, segments);
      if (params === undefined) continue;
      allowed.add(compiled.route.method);
      if (compiled.route.method !== upperMethod) continue;
      if (best === undefined || compiled.literalCount > best.compiled.literalCount) best = { compiled, params };
    }
    if (best !== undefined) {
      return {
        kind: 'match',
        route: best.compiled.route,
        routeKey: routeKeyOf(best.compiled.route),
        pathParameters: best.params,
      };
    }
    if (allowed.size > 0) return { kind: 'method-not-allowed', allowedMethods: [...allowed].sort() };
    return { kind: 'not-found', allowedMethods: [] };
  }
}

function compileRoute(route: RouteDefinition): CompiledRoute {
  const parts = splitPath(route.path);
  if (parts === undefined || !route.path.startsWith('/')) throw new Error(`Route path ${route.path} is not a valid path`);
  const names = new Set<string>();
  const segments = parts.map((part): Segment => {
    const param = PARAM_SEGMENT.exec(part);
    if (param === null) {
      if (part.includes('{') || part.includes('}')) throw new Error(`Route path ${route.path}: bad segment ${part}`);
      return { literal: part };
    }
    if (names.has(param[1])) throw new Error(`Route path ${route.path} repeats parameter ${param[1]}`);
    names.add(param[1]);
    return { param: param[1] };
  });
  return { route, segments, literalCount: segments.filter((s) => 'literal' in s).length };
}

/** Splits `/a/b` into ['a', 'b']; undefined for paths that no route can match (empty segments). */
function splitPath(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  if (path === '/') return [];
  const parts = path.slice(1).split('/');
  return parts.some((p) => p.length === 0) ? undefined : parts;
}

function matchSegments(pattern: readonly Segment[], actual: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const segment = pattern[i];
    if ('literal' in segment) {
      if (segment.literal !== actual[i]) return undefined;
      continue;
    }
    const decoded = safeDecode(actual[i]);
    if (decoded === undefined || decoded.length === 0) return undefined;
    params[segment.param] = decoded;
  }
  return params;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
