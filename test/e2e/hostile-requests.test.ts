/**
 * Hostile requests against the local cloud: thousands of malformed, oversized and hostile
 * requests (bodies, paths, headers, tokens; test/support/hostile-requests.ts), on every route of
 * the API contract and on paths that are no route, with an SEI and a two-server index behind
 * them. Every answer must be a 4xx with a message (or, for a route that changes nothing, a
 * success), never a 5xx; no answer may carry a stack trace or the token that was sent; and
 * nothing CS1 stores (every table item, every object) may differ afterwards.
 *
 * BLINDSIGHT_HOSTILE_REQUESTS and BLINDSIGHT_HOSTILE_SEED change the number of requests and the
 * seed (defaults 3000 and 9): a failure report names the seed and the request.
 */
import { request as httpRequest, Agent } from 'node:http';
import { join } from 'node:path';
import { transpileSchema } from '@middy/validator/transpile';
import { importJWK, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seiIndexParts, twoServerIndexParts } from '../../lib/client/index-parts';
import type { TwoServerIndexSummary } from '../../lib/client/types';
import { isPathParameterName, PATH_PARAMETERS } from '../../lib/api/path-parameters';
import { CS1_ROUTES } from '../../lib/api/routes';
import type { RouteDefinition } from '../../lib/api/routes';
import { generateOwnerSigningKey } from '../../lib/auth/signing-key';
import { seededRandom } from '../../lib/core/random';
import { createHeBackend } from '../../lib/he';
import { CS1_AUDIENCE } from '../../lib/service/accounts/token-authorizer';
import { FileSecretStore } from '../../lib/storage/file-secret-store';
import { buildPlainIndex, encryptIndex, IdentificationClient } from '../../lib/twoserver/protocol';
import { syntheticTemplates } from '../../scripts/bench/synthetic/templates';
import { indexPath, rawRequest, registerOwner, startE2eCloud } from '../support/e2e-cloud';
import type { E2eCloud, E2eOwner, StorageSnapshot } from '../support/e2e-cloud';
import { buildSeiCorpus, encryptImages, syntheticImages, userTrapdoors, vectorAt, wire } from '../support/e2e-sei';
import { hostileRequest, wellFormedBody } from '../support/hostile-requests';
import type { HostileRequest, HostileRoute, HostileTargets } from '../support/hostile-requests';
import { EnvironmentConfig } from '../../lib/config/environment';
import { toIndexName, toUserId } from '../support/ids';

const REQUESTS = new EnvironmentConfig().get('hostileRequests');
const SEED = new EnvironmentConfig().get('hostileSeed');
/** Requests in flight at once: enough to interleave, few enough for a 2-core machine. */
const CONCURRENCY = 4;
const SEI_INDEX = 'main';
const TWO_SERVER_INDEX = 'faces';
const D = 8;

/** A route changes stored data when its function may write the table or the owner's objects. */
function changesStorage(route: RouteDefinition): boolean {
  const { table, objects = {} } = route.access;
  return table === 'readwrite' || [objects.images, objects.indexes, objects.removals].some((actions) => actions?.some((action) => action !== 'get'));
}

const HOSTILE_ROUTES: HostileRoute[] = CS1_ROUTES.map((route) => ({
  method: route.method,
  path: route.path,
  auth: route.auth,
  hasBody: route.body !== undefined,
  changesStorage: changesStorage(route),
}));

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** Sends a request exactly as generated (node:http: no path normalisation, any method). */
function send(base: URL, agent: Agent, hostile: HostileRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = hostile.body === undefined ? undefined : Buffer.from(hostile.body);
    const headers: Record<string, string> = { ...hostile.headers };
    if (body !== undefined) headers['content-length'] = String(body.length);
    const req = httpRequest({ host: base.hostname, port: base.port, method: hostile.method, path: hostile.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What is wrong with an answer (undefined: nothing). */
function problemOf(hostile: HostileRequest, answer: Answer): string | undefined {
  if (answer.status >= 500) return `status ${answer.status}`;
  if (answer.status < 400) {
    const readOnly = hostile.route !== undefined && !hostile.couldChange && !hostile.route.changesStorage && hostile.method === hostile.route.method;
    if (!(answer.status >= 200 && answer.status < 300 && readOnly)) return `status ${answer.status} for a request that must be refused`;
  }
  if (/\bat .+\.[tj]s:\d+|node_modules|\n\s+at /.test(answer.text)) return 'a stack trace in the answer';
  const token = /^\S+\s+(\S{30,})$/.exec(hostile.headers.authorization ?? '')?.[1];
  if (token !== undefined && answer.text.includes(token)) return 'the token echoed in the answer';
  if (answer.status >= 400 && hostile.method !== 'HEAD' && answer.status !== 431) {
    let message: unknown;
    try {
      const json = JSON.parse(answer.text) as { error?: { message?: unknown }; message?: unknown };
      message = json.error?.message ?? json.message;
    } catch {
      message = undefined;
    }
    if (typeof message !== 'string' || message.trim() === '') return 'a refusal without a JSON message';
  }
  return undefined;
}

/**
 * Identification budget counters: a well-formed identification by a user is charged by design,
 * so these records may grow (checked apart: they never go down or vanish); nothing else may change.
 */
function isBudgetCounter(item: string): boolean {
  return item.includes('"type":{"S":"query-budget"}');
}

function differences(before: StorageSnapshot, after: StorageSnapshot): string[] {
  const diff = (a: string[], b: string[], what: string) => [
    ...a.filter((x) => !b.includes(x)).map((x) => `${what} gone or changed: ${x.slice(0, 200)}`),
    ...b.filter((x) => !a.includes(x)).map((x) => `${what} new or changed: ${x.slice(0, 200)}`),
  ];
  const items = (snapshot: StorageSnapshot) => snapshot.items.filter((item) => !isBudgetCounter(item));
  const used = (snapshot: StorageSnapshot) =>
    new Map(
      snapshot.items.filter(isBudgetCounter).map((item) => {
        const parsed = JSON.parse(item) as { pk: { S: string }; sk: { S: string }; used: { N: string } };
        return [`${parsed.pk.S} ${parsed.sk.S}`, Number(parsed.used.N)] as const;
      }),
    );
  const usedAfter = used(after);
  const budgets = [...used(before)].filter(([key, count]) => (usedAfter.get(key) ?? -1) < count).map(([key]) => `budget counter went down or vanished: ${key}`);
  return [...diff(items(before), items(after), 'item'), ...diff(before.objects, after.objects, 'object'), ...budgets];
}

describe(`hostile requests (${REQUESTS}, seed ${SEED}): 4xx with a message, never a 5xx, nothing stored changed`, () => {
  let e2e: E2eCloud;
  let owner: E2eOwner;
  let targets: HostileTargets;
  let trapdoor: number[];
  let query: string;
  let userToken: string;
  let identification: IdentificationClient | undefined;

  /** Drops what changes with every answer (presigned URLs and their expiry). */
  const stable = (json: unknown): unknown => JSON.parse(JSON.stringify(json, (key, value: unknown) => (key === 'download' ? undefined : value)));

  /** The indexes as a user sees them: descriptions and the answers to fixed requests. */
  async function observe(): Promise<unknown[]> {
    const seen: unknown[] = [];
    for (const index of [SEI_INDEX, TWO_SERVER_INDEX]) {
      const description = await rawRequest(e2e.url, indexPath(owner.ownerId, index), { token: userToken });
      expect(description.status, description.text).toBe(200);
      seen.push(stable(description.json));
    }
    const search = await rawRequest(e2e.url, `${indexPath(owner.ownerId, SEI_INDEX)}/search`, { token: userToken, body: { trapdoors: [trapdoor], k: 10 } });
    expect(search.status, search.text).toBe(200);
    const identify = await rawRequest(e2e.url, `${indexPath(owner.ownerId, TWO_SERVER_INDEX)}/identify`, { token: userToken, body: { query, k: 3 } });
    expect(identify.status, identify.text).toBe(200);
    // The user's identification budget goes down with every identification (this one included): not a stored change.
    const { budget: _budget, ...answer } = identify.json as { budget?: unknown };
    seen.push(search.json, answer);
    return seen;
  }

  beforeAll(async () => {
    const cloudStarting = startE2eCloud('hostile');
    // Two-server: a small BFV index (one record), its secret imported into CS2's key store.
    const templates = syntheticTemplates(40, D, { kind: 'clustered', seed: 901, clusters: 2, spread: 0.2 });
    const ids = Array.from({ length: 40 }, (_, i) => `person-${i}`);
    const he = await createHeBackend('bfv', { d: D, maxAbs: 999, polyModulusDegree: 8192 });
    let output: ReturnType<typeof encryptIndex>;
    try {
      output = encryptIndex(he, templates, buildPlainIndex(templates, { partitions: 2, eps: 2, random: seededRandom(902) }), ids);
    } finally {
      he.dispose();
    }
    e2e = await cloudStarting;
    await new FileSecretStore(join(e2e.dataDir, 'cs2', 'keys')).put(he.descriptor.keyId, output.secretMaterial);

    // SEI: an index of 200 vectors and 20 uploaded images.
    const corpus = buildSeiCorpus({ n: 200, d: D, seed: 903, build: { maxLeafSize: 32 } });
    owner = await registerOwner(e2e);
    const images = syntheticImages(corpus.ids.slice(0, 20), 904);
    await owner.client.uploadImages(owner.ownerId, (await encryptImages(images)).envelopes);
    await owner.client.publishIndex(owner.ownerId, toIndexName(SEI_INDEX), 'sei', seiIndexParts(corpus.tree));
    await owner.client.publishIndex(owner.ownerId, toIndexName(TWO_SERVER_INDEX), 'two-server', twoServerIndexParts(output));

    const other = await registerOwner(e2e);
    userToken = (await owner.addUser('bob')).token;
    const revoked = await owner.addUser('mallory');
    await owner.client.revokeUser(owner.ownerId, toUserId('mallory'));
    const stale = await owner.addUser('carol');
    await owner.client.revokeUser(owner.ownerId, toUserId('carol'));
    await owner.client.putUser(owner.ownerId, toUserId('carol'));
    // A well-formed owner token for the owner, signed with another key.
    const now = Math.floor(Date.now() / 1000);
    const forgedToken = await new SignJWT({ role: 'owner' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: owner.ownerId })
      .setIssuer(owner.ownerId)
      .setSubject(owner.ownerId)
      .setAudience(CS1_AUDIENCE)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 3600)
      .sign((await importJWK((await generateOwnerSigningKey()).privateJwk, 'EdDSA')) as CryptoKey);

    trapdoor = wire(userTrapdoors(corpus.owner).trapdoor(vectorAt(corpus.queries, 0)));
    const description = await owner.client.getIndex<TwoServerIndexSummary>(owner.ownerId, toIndexName(TWO_SERVER_INDEX));
    identification = await IdentificationClient.load(await owner.client.downloadPublicMaterial(description));
    query = Buffer.from(identification.encryptRequest(Array.from(templates.data.subarray(0, D)))).toString('base64');
    const sei = await owner.client.getIndex(owner.ownerId, toIndexName(SEI_INDEX));

    targets = {
      routes: HOSTILE_ROUTES,
      isValidPathParameter: (name, value) => {
        if (!isPathParameterName(name)) throw new Error(`no parser for path parameter ${name}`);
        try {
          PATH_PARAMETERS[name](value);
          return true;
        } catch {
          return false;
        }
      },
      ownerId: owner.ownerId,
      seiIndex: SEI_INDEX,
      twoServerIndex: TWO_SERVER_INDEX,
      version: sei.version,
      imageId: corpus.ids[0],
      userId: 'bob',
      m: trapdoor.length,
      query,
      tokens: {
        owner: owner.ownerToken,
        otherOwner: other.ownerToken,
        user: userToken,
        revokedUser: revoked.token,
        staleUser: stale.token,
        expired: await owner.token({ userId: 'bob', now: new Date(Date.now() - 7200_000), expiresInSeconds: 60 }),
        forged: forgedToken,
      },
    };
  });

  afterAll(async () => {
    identification?.dispose();
    await e2e?.stop();
  });

  it("starts from well-formed bodies: each route's schema in the contract accepts them", () => {
    const random = seededRandom(SEED);
    for (const route of CS1_ROUTES) {
      if (route.body === undefined) continue;
      // The same compilation as the handlers (functions/lib/http-handler.ts); its typings say Ajv, it returns the validate function.
      const validate = transpileSchema(route.body, { coerceTypes: false }) as unknown as ((value: unknown) => boolean) & { errors?: unknown };
      const hostileRoute = HOSTILE_ROUTES.find((r) => r.method === route.method && r.path === route.path)!;
      for (let i = 0; i < 5; i++) expect(validate(wellFormedBody(hostileRoute, targets, random)), `${route.method} ${route.path}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('answers every one with a 4xx and a message, or a success that changes nothing; nothing stored changed', async () => {
    const baseline = await observe();
    const before = await e2e.snapshot();
    const random = seededRandom(SEED);
    const requests = Array.from({ length: REQUESTS }, () => hostileRequest(random, targets));
    const base = new URL(e2e.url);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const statuses = new Map<number, number>();
    const byRoute = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const i = next++;
        const hostile = requests[i];
        let answer: Answer;
        try {
          answer = await send(base, agent, hostile);
        } catch (error) {
          failures.push(`#${i} ${hostile.description}: no answer (${(error as Error).message})`);
          continue;
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const route = hostile.route ? `${hostile.route.method} ${hostile.route.path}` : 'no route';
        byRoute.set(route, (byRoute.get(route) ?? 0) + 1);
        const problem = problemOf(hostile, answer);
        if (problem !== undefined) failures.push(`#${i} ${hostile.description}: ${problem}: ${answer.text.slice(0, 300)}`);
      }
    };
    try {
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    } finally {
      agent.destroy();
    }
    const after = await e2e.snapshot();
    const changed = differences(before, after);
    const serverErrors = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, count]) => sum + count, 0);
    console.info(
      `hostile requests: ${REQUESTS} (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; ` +
        `5xx: ${serverErrors}; problems: ${failures.length}; stored records changed: ${changed.length}; per route ${JSON.stringify(Object.fromEntries(byRoute))}`,
    );
    expect(failures.slice(0, 20)).toEqual([]);
    expect(changed.slice(0, 20)).toEqual([]);
    // Every route was tried, and most requests were refused.
    expect(byRoute.size).toBe(HOSTILE_ROUTES.length + 1);
    expect(await observe()).toEqual(baseline);
  });
});
