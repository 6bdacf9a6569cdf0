/**
 * Hostile HTTP requests for CS1's API, drawn from a seeded generator: malformed and extreme
 * bodies, paths, headers and tokens, and well-formed requests with one thing wrong, on every
 * route of the contract and on paths that are no route at all.
 *
 * The test that sends them demands that nothing stored changes, so the generator never builds a
 * request that could legitimately change stored data. A request *could* change data when its
 * route changes storage on success and its caller may make that change: the owner's own token,
 * or any caller on a route without authorization (owner registration). Such requests are made
 * invalid by construction, in a way the route's contract guarantees to refuse:
 * - a route with a body schema gets a body the schema refuses (an unknown property, which every
 *   schema forbids, or a body that is not a JSON object at all);
 * - a route without a body gets a path id that the contract's own parser refuses.
 * Every other request (users' tokens on owner routes, other owners, forged, expired or revoked
 * tokens, no token) may be anything, since no success of it is legitimate: if one changed data,
 * authorization would be broken and the test finds it.
 */
import type { RandomSource } from '../../lib/core/random';

/** What the generator needs of a route (from the API contract). */
export interface HostileRoute {
  readonly method: string;
  /** API Gateway syntax: `/v1/owners/{ownerId}/...`. */
  readonly path: string;
  readonly auth: 'none' | 'owner' | 'owner-or-user';
  /** The route takes a JSON body validated against a schema. */
  readonly hasBody: boolean;
  /** A success changes stored data (the route may write the table or the index objects). */
  readonly changesStorage: boolean;
}

export type TokenKind =
  | 'none'
  | 'owner'
  | 'user'
  | 'other owner'
  | 'revoked user'
  | 'issued before a re-activation'
  | 'expired'
  | 'forged'
  | 'tampered signature'
  | 'alg none'
  | 'random three parts'
  | 'garbage'
  | 'very long';

export interface HostileRequest {
  readonly method: string;
  /** Sent as is (percent-encoded where HTTP requires it, hostile where it does not). */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** The contract route the request was aimed at (undefined: aimed at no route). */
  readonly route?: HostileRoute;
  readonly token: TokenKind;
  /** A success of this request would change stored data (by construction it must fail). */
  readonly couldChange: boolean;
  /** What was hostile about it, for failure reports. */
  readonly description: string;
}

/** The world the requests are aimed at: ids that exist, and tokens of every kind. */
export interface HostileTargets {
  readonly routes: readonly HostileRoute[];
  /** The contract's parser of a path parameter: true when it accepts the (decoded) value. */
  readonly isValidPathParameter: (name: string, value: string) => boolean;
  readonly ownerId: string;
  /** The owner's SEI index and two-server index. */
  readonly seiIndex: string;
  readonly twoServerIndex: string;
  readonly version: string;
  readonly imageId: string;
  readonly userId: string;
  /** Encrypted dimension of the SEI index (trapdoor length). */
  readonly m: number;
  /** A valid identification query (base64) for the two-server index. */
  readonly query: string;
  readonly tokens: {
    readonly owner: string;
    readonly otherOwner: string;
    readonly user: string;
    readonly revokedUser: string;
    /** A user's token from before a revocation that was followed by a re-activation. */
    readonly staleUser: string;
    readonly expired: string;
    readonly forged: string;
  };
}

const pick = <T>(random: RandomSource, items: readonly T[]): T => items[random.int(items.length)];

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

function randomString(random: RandomSource, length: number, alphabet = PRINTABLE): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[random.int(alphabet.length)];
  return out;
}

function unicodeString(random: RandomSource, length: number): string {
  const samples = ['é', '日本', '\u0000', '\u202e', '\ud83d\ude00', '\ufeff', '\u2028', 'Ω', '\\', '"', '\ud800', '%', '../'];
  let out = '';
  for (let i = 0; i < length; i++) out += random.next() < 0.5 ? pick(random, samples) : randomString(random, 1);
  return out;
}

function decodeSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Percent-encodes every byte of the UTF-8 form (a lone surrogate becomes U+FFFD) except unreserved ones. */
function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Percent-encodes what may not appear raw in an HTTP request line; leaves hostile escapes alone. */
function raw(segment: string): string {
  return segment.replace(/[^\x21-\x7e]|[?#/]/gu, (c) => percentEncode(c));
}

/** A hostile path segment (sent as is). */
function hostileSegment(random: RandomSource, real: string): string {
  return segmentValue(pick<string | (() => string)>(random, [
    '',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    'a%2Fb',
    '%00',
    '%',
    '%zz',
    '%FF%FE',
    '%C3%A9t%C3%A9',
    () => percentEncode(unicodeString(random, 1 + random.int(8))),
    () => 'x'.repeat(1 + random.int(2000)),
    () => raw(real.toUpperCase()),
    () => `${raw(real)}%20`,
    () => `${raw(real)}.json`,
    () => `${raw(real)};x=1`,
    '%20',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    '%7B%7D',
    "'%3B%20DROP%20TABLE%20x%3B%20--",
    () => percentEncode(randomString(random, 1 + random.int(40))),
  ]));
}

function segmentValue(item: string | (() => string)): string {
  return typeof item === 'function' ? item() : item;
}

/** A path segment for parameter `name`: the real id, an unknown well-formed one, or a hostile one. */
function segment(random: RandomSource, name: string, real: string, t: HostileTargets, mode: 'any' | 'invalid' | 'unknown-or-invalid'): string {
  const unknown = () => (name === 'ownerId' ? randomString(random, 52, BASE32) : `unknown-${randomString(random, 8, BASE32)}`);
  if (mode === 'any') {
    const roll = random.next();
    if (roll < 0.75) return raw(real);
    if (roll < 0.85) return unknown();
    return hostileSegment(random, real);
  }
  if (mode === 'unknown-or-invalid' && random.next() < 0.3) return unknown();
  // One the contract's parser refuses, however the gateway decodes it.
  for (;;) {
    const candidate = hostileSegment(random, real);
    if (!t.isValidPathParameter(name, candidate) && !t.isValidPathParameter(name, decodeSafe(candidate))) return candidate;
  }
}

/** A random JSON value, sometimes large or deep. */
function randomJson(random: RandomSource, depth = 0): unknown {
  switch (random.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return pick(random, [0, -0, 1, -1, 0.5, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER + 2, 1e100, 2 ** 31, -(2 ** 53), 123456789012345680000]);
    case 3:
      return unicodeString(random, random.int(30));
    case 4:
      return 'x'.repeat(random.int(20_000));
    case 5:
      return randomString(random, random.int(60));
    case 6:
      return Array.from({ length: random.int(6) }, () => randomJson(random, depth + 1));
    case 7:
      return Object.fromEntries(
        Array.from({ length: random.int(5) }, () => [pick(random, ['__proto__', 'constructor', 'k', 'query', 'trapdoors', 'imageId', unicodeString(random, 4)]), randomJson(random, depth + 1)]),
      );
    default:
      return Array.from({ length: random.int(3000) }, () => random.next() * 2 - 1);
  }
}

function numbers(random: RandomSource, length: number): number[] {
  return Array.from({ length }, () => random.next() * 2 - 1);
}

/** A well-formed body for the route (the shape its schema asks for), or undefined without one. */
export function wellFormedBody(route: HostileRoute, t: HostileTargets, random: RandomSource): Record<string, unknown> | undefined {
  if (!route.hasBody) return undefined;
  const path = route.path;
  if (path === '/v1/owners') return { publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: randomString(random, 43, BASE64URL) } };
  if (path.endsWith('/images/uploads')) return { images: [{ imageId: t.imageId, byteLength: 100 }] };
  if (path.endsWith('/images/downloads')) return { imageIds: [t.imageId] };
  if (path.endsWith('/images/removals')) return { imageIds: [t.imageId], absentFrom: {} };
  if (path.endsWith('/versions')) return { kind: 'sei', parts: { skeleton: 100, leaves: 100 } };
  if (path.endsWith('/publish')) return { expectedCurrent: t.version };
  if (path.endsWith('/images')) return { imageId: 'hostile-new', vector: numbers(random, t.m), placementTrapdoor: numbers(random, t.m) };
  if (path.endsWith('/search')) return { trapdoors: [numbers(random, t.m)], k: 1 + random.int(10), probes: 1 + random.int(8) };
  if (path.endsWith('/leaves')) return { version: t.version, leaves: Array.from({ length: 1 + random.int(4) }, (_, i) => i), ...(random.next() < 0.3 ? { delivery: 'urls' } : {}) };
  if (path.endsWith('/identify')) return random.next() < 0.5 ? { query: t.query, k: 1 + random.int(5) } : { query: t.query, tauSquared: random.int(1_000_000) };
  return { value: randomJson(random) };
}

const EXTREME_NUMBERS = [1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 1e101, -1e101, 1e150, 1e200, 5e-324, -0];
const WRONG_ENTRIES = [null, 'NaN', '1', [], {}, true];

/** A copy of a list of numbers, or of a list of such lists (trapdoors), with `change` applied to the (first) list. */
function changeNumbers(value: unknown[], change: (numbers: unknown[]) => unknown[]): unknown[] {
  if (Array.isArray(value[0])) return value.map((inner, i) => (i === 0 ? change([...(inner as unknown[])]) : inner));
  return change([...value]);
}

/** One change to a well-formed body (which may or may not leave it valid). */
function mutate(body: Record<string, unknown>, random: RandomSource): { body: Record<string, unknown>; what: string } {
  const keys = Object.keys(body);
  const lists = keys.filter((k) => Array.isArray(body[k]) && (body[k] as unknown[]).length > 0);
  // The lists of numbers (trapdoors, vectors) are where arithmetic happens: aim at them more often.
  const key = lists.length > 0 && random.next() < 0.6 ? pick(random, lists) : pick(random, keys);
  const value = body[key];
  const copy: Record<string, unknown> = { ...body };
  // A list of numbers gets an extreme entry or extreme entries half the time.
  switch (lists.includes(key) && random.next() < 0.5 ? 2 + random.int(2) : random.int(10)) {
    case 0:
      delete copy[key];
      return { body: copy, what: `without ${key}` };
    case 1:
      copy[key] = randomJson(random);
      return { body: copy, what: `${key} replaced` };
    case 2:
      if (Array.isArray(value) && value.length > 0) {
        const entry = pick(random, [...EXTREME_NUMBERS, ...WRONG_ENTRIES]);
        copy[key] = changeNumbers(value, (numbers) => numbers.map((v, i) => (i === numbers.length >> 1 ? entry : v)));
        return { body: copy, what: `${key} with the entry ${JSON.stringify(entry)}` };
      }
      copy[key] = [value];
      return { body: copy, what: `${key} wrapped in a list` };
    case 3:
      if (Array.isArray(value) && value.length > 0) {
        // Every entry extreme, same sign or alternating: the whole score overflows, not one term.
        const extreme = pick(random, EXTREME_NUMBERS);
        const alternate = random.next() < 0.5;
        copy[key] = changeNumbers(value, (numbers) => numbers.map((_, i) => (alternate && i % 2 === 1 ? -extreme : extreme)));
        return { body: copy, what: `${key} with every entry ${alternate ? '+-' : ''}${extreme}` };
      }
      copy[key] = pick(random, EXTREME_NUMBERS);
      return { body: copy, what: `${key} an extreme number` };
    case 4:
      if (Array.isArray(value)) {
        const length = pick(random, [0, 1, 17, 101, 1001, 9000]);
        copy[key] = Array.from({ length }, (_, i) => value[i % Math.max(1, value.length)] ?? 0);
        return { body: copy, what: `${key} of length ${length}` };
      }
      copy[key] = String(value);
      return { body: copy, what: `${key} as a string` };
    case 5:
      copy[key] = typeof value === 'number' ? pick(random, [-1, 0, 1e308, 2.5, -0, 2 ** 31, 2 ** 53, 1e21, 5e-324]) : 'x'.repeat(pick(random, [0, 1, 300, 70_000]));
      return { body: copy, what: `${key} at an extreme` };
    case 6:
      Object.defineProperty(copy, 'constructor', { value: { prototype: { polluted: true } }, enumerable: true });
      return { body: copy, what: 'constructor.prototype' };
    case 7:
      return { body: JSON.parse(`{"__proto__": {"polluted": true}, ${JSON.stringify(copy).slice(1)}`) as Record<string, unknown>, what: '__proto__ key' };
    default:
      return { body: copy, what: 'unchanged' };
  }
}

const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** A body that is not a JSON object (so no schema accepts it). */
function nonObjectBody(random: RandomSource, valid: Record<string, unknown> | undefined): { body: string | Uint8Array; what: string } {
  const text = JSON.stringify(valid ?? { a: 1 });
  const options: Array<() => { body: string | Uint8Array; what: string }> = [
    () => ({ body: '', what: 'empty body' }),
    () => ({ body: 'null', what: 'null' }),
    () => ({ body: '[]', what: 'a list' }),
    () => ({ body: `[${text}]`, what: 'the body in a list' }),
    () => ({ body: '"text"', what: 'a string' }),
    () => ({ body: '1e999', what: '1e999' }),
    () => ({ body: text.slice(0, random.int(text.length)), what: 'truncated JSON' }),
    () => ({ body: `${text}${text}`, what: 'two objects' }),
    () => ({ body: `${text},`, what: 'trailing comma' }),
    () => ({ body: text.replace(/:/, ':NaN,"x":'), what: 'NaN literal' }),
    () => ({ body: nested(1 + random.int(20_000)), what: 'deeply nested lists' }),
    () => ({ body: Uint8Array.from({ length: 1 + random.int(4000) }, () => random.int(256)), what: 'random bytes' }),
    () => ({ body: Buffer.from(`\ufeff${text}`, 'utf8'), what: 'BOM' }),
    () => ({ body: Buffer.from(text, 'utf16le'), what: 'UTF-16' }),
    () => ({ body: `'${text}'`, what: 'quoted' }),
  ];
  return pick(random, options)();
}

/** A body that is a JSON object the schema must refuse: the (mutated) body plus an unknown property. */
function refusedObjectBody(random: RandomSource, valid: Record<string, unknown>): { body: string; what: string } {
  const roll = random.next();
  if (roll < 0.15) {
    return { body: `{"a":${nested(1 + random.int(5000))}}`, what: 'a deep unknown property' };
  }
  if (roll < 0.3) {
    // Duplicate keys: JSON.parse keeps the last one; the first would be valid.
    const json = JSON.stringify(valid);
    return { body: `{"unknownProperty":1,${json.slice(1)}`, what: 'an unknown property first' };
  }
  const mutated = mutate(valid, random);
  return { body: JSON.stringify({ ...mutated.body, [pick(random, ['hostileUnknownProperty', 'K', 'Trapdoors', ' k', 'kind\u0000'])]: randomJson(random) }), what: `${mutated.what}, plus an unknown property` };
}

function token(random: RandomSource, t: HostileTargets): { value?: string; kind: TokenKind } {
  const kinds: Array<() => { value?: string; kind: TokenKind }> = [
    () => ({ kind: 'none' }),
    () => ({ value: t.tokens.owner, kind: 'owner' }),
    () => ({ value: t.tokens.user, kind: 'user' }),
    () => ({ value: t.tokens.otherOwner, kind: 'other owner' }),
    () => ({ value: t.tokens.revokedUser, kind: 'revoked user' }),
    () => ({ value: t.tokens.staleUser, kind: 'issued before a re-activation' }),
    () => ({ value: t.tokens.expired, kind: 'expired' }),
    () => ({ value: t.tokens.forged, kind: 'forged' }),
    () => {
      const parts = pick(random, [t.tokens.user, t.tokens.owner]).split('.');
      const at = random.int(parts[2].length);
      parts[2] = `${parts[2].slice(0, at)}${parts[2][at] === 'A' ? 'B' : 'A'}${parts[2].slice(at + 1)}`;
      return { value: parts.join('.'), kind: 'tampered signature' };
    },
    () => {
      const [, payload] = t.tokens.owner.split('.');
      return { value: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`, kind: 'alg none' };
    },
    () => ({ value: `${randomString(random, 20, BASE64URL)}.${randomString(random, 30, BASE64URL)}.${randomString(random, 40, BASE64URL)}`, kind: 'random three parts' }),
    () => ({ value: randomString(random, random.int(300)), kind: 'garbage' }),
    () => ({ value: 'x'.repeat(4000 + random.int(4000)), kind: 'very long' }),
  ];
  return pick(random, kinds)();
}

/** The token a caller of the route would have (none for registration). */
function rightToken(random: RandomSource, route: HostileRoute, t: HostileTargets): { value?: string; kind: TokenKind } {
  if (route.auth === 'none') return { kind: 'none' };
  if (route.auth === 'owner' || random.next() < 0.3) return { value: t.tokens.owner, kind: 'owner' };
  return { value: t.tokens.user, kind: 'user' };
}

function authorizationHeader(random: RandomSource, value: string | undefined): Record<string, string> {
  if (value === undefined) return random.next() < 0.3 ? { authorization: pick(random, ['', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer  a.b.c', 'Bearer .']) } : {};
  const scheme = random.next() < 0.9 ? 'Bearer ' : pick(random, ['bearer ', 'BEARER  ', 'Token ', '', 'Bearer Bearer ']);
  return { authorization: `${scheme}${value}` };
}

const CONTENT_TYPES = [
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/problem+json',
];

const NO_ROUTE_PATHS = (t: HostileTargets): string[] => [
  '/',
  '/v1',
  '/v1/',
  '/v2/owners',
  `/v1/owners/${t.ownerId}`,
  `/v1/owners/${t.ownerId}/indexes`,
  `/v1/owners/${t.ownerId}/users`,
  `/v1/owners/${t.ownerId}/indexes/${t.seiIndex}/search/extra`,
  `/v1/owners/${t.ownerId}/indexes/${t.seiIndex}/versions/${t.version}`,
  '//v1//owners',
  '/v1/owners/%2e%2e/%2e%2e/etc/passwd',
  '/V1/OWNERS',
  `/${'a/'.repeat(500)}`,
  '/%',
  '/v1/%zz',
  '*',
];

/** Fills a route's path: the real ids mostly; for a request that could change data, an invalid one where required. */
function fillPath(route: HostileRoute, t: HostileTargets, random: RandomSource, invalidId: 'none' | 'invalid' | 'unknown-or-invalid'): string {
  const real: Record<string, string> = {
    ownerId: t.ownerId,
    // Mostly the index of the kind the route serves, so that requests reach its code.
    indexName: route.path.endsWith('/identify') === random.next() < 0.8 ? t.twoServerIndex : t.seiIndex,
    userId: t.userId,
    version: t.version,
    imageId: t.imageId,
  };
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).filter((name) => name !== 'ownerId' && name !== 'indexName');
  // The parameter that must be refused: the route's own id (user, version or image).
  const mustRefuse = invalidId === 'none' ? undefined : names[names.length - 1];
  return route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    if (name === mustRefuse) return segment(random, name, real[name], t, invalidId as 'invalid' | 'unknown-or-invalid');
    if (name === 'ownerId' && random.next() < 0.7) return t.ownerId;
    return segment(random, name, real[name] ?? 'x', t, 'any');
  });
}

/** One hostile request. */
export function hostileRequest(random: RandomSource, t: HostileTargets): HostileRequest {
  const route = pick(random, t.routes);
  // Half the time the token the route asks for, so that hostile input gets past the authorizer.
  const tokenChoice = random.next() < 0.5 ? token(random, t) : rightToken(random, route, t);
  const headers = authorizationHeader(random, tokenChoice.value);

  // Now and then a path that is no route at all, with any method.
  if (random.next() < 0.06) {
    const path = pick(random, NO_ROUTE_PATHS(t));
    const method = pick(random, ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
    return { method, path, headers, token: tokenChoice.kind, couldChange: false, description: `${method} ${path.slice(0, 120)} (no route; token ${tokenChoice.kind})` };
  }

  // A method of another route on the same path is another route: the request is judged by both.
  const method = random.next() < 0.05 ? pick(random, ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) : route.method;
  const swapped = method !== route.method;
  const couldChange = (route.changesStorage || swapped) && (tokenChoice.kind === 'owner' || route.auth === 'none' || swapped);

  const valid = wellFormedBody(route, t, random);
  let body: string | Uint8Array | undefined;
  let what: string;
  let invalidId: 'none' | 'invalid' | 'unknown-or-invalid' = 'none';
  if (couldChange && (valid === undefined || swapped)) {
    // No schema to refuse it (or another route's): the id in the path must be refused. A
    // well-formed but unknown id is a fair test of a DELETE (404), never of a PUT (it would enroll).
    invalidId = method === 'DELETE' && route.method === 'DELETE' ? 'unknown-or-invalid' : 'invalid';
    body = valid === undefined ? undefined : JSON.stringify(valid);
    what = 'a path id the contract refuses';
  } else if (couldChange && valid !== undefined) {
    const refused = random.next() < 0.7 ? refusedObjectBody(random, valid) : nonObjectBody(random, valid);
    body = refused.body;
    what = refused.what;
  } else {
    const roll = random.next();
    if (valid !== undefined && roll < 0.55) {
      const mutated = mutate(valid, random);
      body = JSON.stringify(mutated.body);
      what = mutated.what;
    } else if (roll < 0.85) {
      const refused = nonObjectBody(random, valid);
      body = refused.body;
      what = refused.what;
    } else {
      body = valid === undefined ? undefined : JSON.stringify(valid);
      what = 'a well-formed body';
    }
  }
  let path = fillPath(route, t, random, invalidId);
  if (random.next() < 0.08) path += pick(random, ['/', '?', '?k=1', '?k=1&k=2', '?%zz', `?${'q'.repeat(3000)}`, ';a=b']);

  if (body !== undefined && (method === 'GET' || method === 'HEAD')) body = undefined;
  if (body !== undefined && random.next() < 0.9) headers['content-type'] = pick(random, CONTENT_TYPES);
  if (random.next() < 0.05) headers['content-encoding'] = pick(random, ['gzip', 'br', 'identity', 'x-unknown']);
  if (random.next() < 0.03) headers['x-http-method-override'] = pick(random, ['DELETE', 'PUT']);
  return {
    method,
    path,
    headers,
    body,
    route,
    token: tokenChoice.kind,
    couldChange,
    description: `${method} ${path.slice(0, 160)} (route ${route.method} ${route.path}; token ${tokenChoice.kind}; ${what})`,
  };
}
