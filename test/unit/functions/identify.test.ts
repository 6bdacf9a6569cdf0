/**
 * The identify handler as a Lambda process runs it: configured by environment variables for
 * dynalite + s3rver and for CS2 over HTTP (the real decrypt handler behind a real server on
 * 127.0.0.1, as the local cloud runs it), called with API Gateway events through the real
 * authorizer. An owner publishes a two-server index through the version handlers, a user
 * downloads the public material from GET index and identifies.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SHE_WARNING } from '../../../lib/he';
import { resetCs1Services } from '../../../lib/service/cs1-services';
import { resetCs2DecryptService } from '../../../lib/service/cs2/services';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { resetTwoServerServices } from '../../../lib/service/two-server/services';
import { IdentificationClient } from '../../../lib/twoserver/protocol';
import type { LocalAws } from '../../support/local-aws';
import { seiWorld } from '../../support/sei-fixture';
import { MAX_IDENTIFY_K } from '../../../lib/api/limits';
import { bruteForce, buildFixture, cs2KeyDir, idsOf, OPEN_POLICY, probeNear, SHE_SMALL, startCs2HttpServer } from '../service/two-server/support';
import type { Cs2TestServer, DirectHandler, TwoServerFixture } from '../service/two-server/support';
import { serviceLogger } from '../../../functions/lib/logger';
import { USER_PUT_ROUTE, call, callWithToken, expectRefused, loadCs1Handler, putPresigned, registerTwoOwners, settled, startHandlerWorld } from './support';
import type { AnyHandler, Owner, Response } from './support';

const USER_PUT = USER_PUT_ROUTE;
const USER_REVOKE = 'DELETE /v1/owners/{ownerId}/users/{userId}';
const CREATE = 'POST /v1/owners/{ownerId}/indexes/{indexName}/versions';
const PUBLISH = 'POST /v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish';
const GET = 'GET /v1/owners/{ownerId}/indexes/{indexName}';
const IDENTIFY = 'POST /v1/owners/{ownerId}/indexes/{indexName}/identify';
const CREDENTIAL = 'identify-handler-credential-0123456789';

type Handlers = Record<'authorizer' | 'register' | 'userPut' | 'userRevoke' | 'create' | 'publish' | 'get' | 'identify', AnyHandler>;

describe('identify handler', () => {
  let aws: LocalAws;
  let h: Handlers;
  let alice: Owner;
  let bob: Owner;
  let fixture: TwoServerFixture;
  let keys: { dir: string; remove(): Promise<void> };
  let cs2: Cs2TestServer;
  let client: IdentificationClient;
  let version: string;
  const savedEnv = { ...process.env };

  const at = (indexName: string, extra: Record<string, string> = {}, owner: Owner = alice) => ({ ownerId: owner.ownerId, indexName, ...extra });
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

  /** Creates a version of `parts`, uploads them and asks to publish it: the publish response. */
  async function tryPublish(indexName: string, kind: string, parts: Record<string, Uint8Array>): Promise<{ version: string; published: Response }> {
    const sizes = Object.fromEntries(Object.entries(parts).map(([name, bytes]) => [name, bytes.length]));
    const created = await call(h.create, CREATE, { pathParameters: at(indexName), caller: alice.caller, body: { kind, parts: sizes } });
    expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
    const uploads = created.body.uploads as Record<string, { url: string; headers: Record<string, string> }>;
    for (const [name, bytes] of Object.entries(parts)) expect((await putPresigned(uploads[name], bytes)).statusCode).toBe(200);
    const published = settled(await call(h.publish, PUBLISH, {
      pathParameters: at(indexName, { version: created.body.version as string }),
      caller: alice.caller,
      body: { expectedCurrent: null },
    }));
    return { version: created.body.version as string, published };
  }

  async function publish(indexName: string, kind: string, parts: Record<string, Uint8Array>): Promise<string> {
    const { version, published } = await tryPublish(indexName, kind, parts);
    expect(published.statusCode, JSON.stringify(published.body)).toBe(200);
    return version;
  }

  function identify(body: unknown, caller = alice.caller, indexName = 'faces'): Promise<Response> {
    return call(h.identify, IDENTIFY, { pathParameters: at(indexName), caller, body });
  }

  beforeAll(async () => {
    fixture = await buildFixture({ backend: 'she', params: SHE_SMALL, n: 200, partitions: 5, eps: 2, seed: 51 });
    keys = await cs2KeyDir(fixture);
    // The fixture is a she index: this CS1 allows it (the refusal by default is tested below).
    aws = await startHandlerWorld({ BLINDSIGHT_CS2_KEY_DIR: keys.dir, BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH: 'true', BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: 'true' });
    resetCs2DecryptService();
    const decrypt = (await import('../../../functions/cs2/decrypt')).handler as unknown as DirectHandler;
    cs2 = await startCs2HttpServer({ credential: CREDENTIAL, handler: decrypt });
    Object.assign(process.env, { BLINDSIGHT_CS2_MODE: 'http', BLINDSIGHT_CS2_URL: cs2.url, BLINDSIGHT_CS2_CREDENTIAL: CREDENTIAL });
    resetTwoServerServices();
    const load = loadCs1Handler;
    h = {
      authorizer: await load('authorizer'),
      register: await load('register-owner'),
      userPut: await load('user-put'),
      userRevoke: await load('user-revoke'),
      create: await load('index-version-create'),
      publish: await load('index-version-publish'),
      get: await load('index-get'),
      identify: await load('identify'),
    };
    ({ alice, bob } = await registerTwoOwners(h));
    version = await publish('faces', 'two-server', fixture.parts);
    await publish('photos', 'sei', seiUploadParts(seiWorld(60, 4, 7, { maxLeafSize: 16 }).tree).parts);

    // The user's client: GET the index, download the public material, check its digest.
    const described = await callWithToken(h.authorizer, h.get, GET, await alice.token({ userId: 'uma' }), { pathParameters: at('faces') });
    expect(described.statusCode).toBe(200);
    const summary = described.body.summary as { publicMaterial: { sha256: string; download: { url: string } } };
    const bytes = new Uint8Array(await (await fetch(summary.publicMaterial.download.url)).arrayBuffer());
    client = await IdentificationClient.load(bytes);
  });

  afterAll(async () => {
    process.env = savedEnv;
    resetTwoServerServices();
    resetCs2DecryptService();
    client?.dispose();
    fixture?.client.dispose();
    await cs2?.stop();
    await keys?.remove();
    await aws?.stop();
  });

  it('answers a user\'s range and k-nearest queries exactly, through the authorizer', async () => {
    const token = await alice.token({ userId: 'uma' });
    const query = probeNear(fixture, 12, 1);
    const all = bruteForce(fixture, query);
    const range = await callWithToken(h.authorizer, h.identify, IDENTIFY, token, {
      pathParameters: at('faces'),
      body: { query: b64(client.encryptRequest(query)), tauSquared: all[9].dist2 },
    });
    expect(range.statusCode, JSON.stringify(range.body)).toBe(200);
    // Ids only, nearest first; a user sees their budget on the index.
    expect(range.body).toEqual({
      version,
      templateIds: idsOf(all.filter((m) => m.dist2 <= all[9].dist2)),
      truncated: false,
      budget: { limit: OPEN_POLICY.budget.queries, remaining: OPEN_POLICY.budget.queries - 1, resetsAt: expect.any(String) },
    });
    const nearest = await callWithToken(h.authorizer, h.identify, IDENTIFY, await alice.token(), {
      pathParameters: at('faces'),
      body: { query: b64(client.encryptRequest(query)), k: 5 },
    });
    expect(nearest.statusCode).toBe(200);
    expect(nearest.body).toEqual({ version, templateIds: idsOf(all.slice(0, 5)) });
    expect(range.headers['cache-control']).toBe('no-store');
  });

  it('logs counts, never the query or the distances', async () => {
    const logger = serviceLogger('blindsight-cs1-identify');
    const entries: string[] = [];
    const spies = (['debug', 'info', 'warn', 'error'] as const).map((level) =>
      vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
        entries.push(JSON.stringify(args));
      }),
    );
    const query = b64(client.encryptRequest(probeNear(fixture, 30, 2)));
    let response: Response;
    try {
      response = await identify({ query, k: 3 });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(response.statusCode).toBe(200);
    // The summary, and (the fixture is a she index) a warning that the index is insecure.
    expect(entries).toHaveLength(2);
    const entry = JSON.parse(entries[0]) as [string, Record<string, unknown>];
    expect(entry[0]).toBe('identify');
    expect(entry[1]).toMatchObject({ ownerId: alice.ownerId, indexName: 'faces', mode: 'nearest', k: 3, cs2Calls: expect.any(Number), matches: 3 });
    expect(JSON.parse(entries[1])).toEqual(['identified on an insecure index', { ownerId: alice.ownerId, indexName: 'faces', warning: SHE_WARNING }]);
    for (const line of entries) {
      expect(line).not.toContain(query.slice(0, 64));
      expect(line).not.toContain('dist2');
      for (const templateId of response.body.templateIds as string[]) expect(line).not.toContain(templateId);
    }
  });

  it('refuses bad requests with a 4xx and a clear message, and changes nothing', async () => {
    const good = client.encryptRequest(probeNear(fixture, 3, 3));
    const cases: Array<[unknown, number, string | RegExp]> = [
      ['{"query": ', 400, 'the request body is not valid JSON'],
      [{ k: 1 }, 400, "invalid request: body must have required property 'query'"],
      [{ query: 'not base64!', k: 1 }, 400, 'query must be standard base64 (A-Z a-z 0-9 + /, padded with =)'],
      [{ query: b64(good.subarray(3)), k: 1 }, 400, new RegExp(`^query is ${good.length - 3} bytes, but index "faces" takes queries of exactly ${good.length} bytes`)],
      [{ query: b64(good), k: 1, tauSquared: 4 }, 400, /^send exactly one of tauSquared \(range query: every template within that squared distance\) and k/],
      [{ query: b64(good) }, 400, /^send exactly one of tauSquared/],
      [{ query: b64(good), tauSquared: -1 }, 400, 'invalid request: body/tauSquared must be >= 0'],
      [{ query: b64(good), tauSquared: 2.5 }, 400, 'invalid request: body/tauSquared must be integer'],
      [{ query: b64(good), tauSquared: '25' }, 400, 'invalid request: body/tauSquared must be integer'],
      [{ query: b64(good), tauSquared: null }, 400, 'invalid request: body/tauSquared must be integer'],
      [{ query: b64(good), k: MAX_IDENTIFY_K + 1 }, 400, `invalid request: body/k must be <= ${MAX_IDENTIFY_K}`],
      [{ query: b64(good), k: 0 }, 400, 'invalid request: body/k must be >= 1'],
      [{ query: b64(good), k: 1, extra: true }, 400, 'invalid request: body must not have property "extra"'],
    ];
    for (const [body, status, message] of cases) await expectRefused(aws, () => identify(body), status, message);
    await expectRefused(aws, () => identify({ query: b64(good), k: 1 }, alice.caller, 'unknown'), 404, 'index "unknown" does not exist or has no published version');
    await expectRefused(aws, () => identify({ query: b64(good), k: 1 }, alice.caller, 'photos'), 400, 'index "photos" is a "sei" index: identify works on two-server indexes (use search for SEI indexes)');
    // Bob's token cannot reach Alice's index; a revoked user is refused at once.
    await expectRefused(aws, () => call(h.identify, IDENTIFY, { pathParameters: at('faces'), caller: bob.caller, body: { query: b64(good), k: 1 } }), 403, 'this token belongs to another owner');
    await call(h.userPut, USER_PUT, { pathParameters: { ownerId: alice.ownerId, userId: 'rex' }, caller: alice.caller });
    const rex = await alice.token({ userId: 'rex' });
    await call(h.userRevoke, USER_REVOKE, { pathParameters: { ownerId: alice.ownerId, userId: 'rex' }, caller: alice.caller });
    await expectRefused(aws, () => callWithToken(h.authorizer, h.identify, IDENTIFY, rex, { pathParameters: at('faces'), body: { query: b64(good), k: 1 } }), 403);
  });

  it('publish refuses a she index with 400 unless CS1 allows it, and says so in the response and the log when it does', async () => {
    const warn = vi.spyOn(serviceLogger('blindsight-cs1-index-version-publish-worker'), 'warn');
    try {
      process.env.BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME = 'false';
      resetCs1Services();
      const refused = await tryPublish('faces-off', 'two-server', fixture.parts);
      expect(refused.published.statusCode).toBe(400);
      expect(JSON.stringify(refused.published.body)).toMatch(/this CS1 does not accept two-server indexes of the 'she' backend: .*BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME=true/);
      expect((await call(h.get, GET, { pathParameters: at('faces-off'), caller: alice.caller })).statusCode).toBe(404);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      process.env.BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME = 'true';
      resetCs1Services();
    }
    try {
      const allowed = await tryPublish('faces-on', 'two-server', fixture.parts);
      expect(allowed.published.statusCode).toBe(200);
      expect(allowed.published.body.warnings).toEqual([expect.stringContaining(SHE_WARNING)]);
      expect(warn).toHaveBeenCalledWith('published with a warning', expect.objectContaining({ indexName: 'faces-on', warning: expect.stringContaining(SHE_WARNING) }));
    } finally {
      warn.mockRestore();
    }
  });

  it('CS2 down -> 503 with a clear message; CS2 back -> 200', async () => {
    const query = probeNear(fixture, 50, 4);
    const body = { query: b64(client.encryptRequest(query)), k: 2 };
    await cs2.stop();
    try {
      const down = await expectRefused(aws, () => identify(body), 503);
      expect(down.body.error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^CS2 is unavailable: connection refused at 127\.0\.0\.1:\d+ \(is CS2 running\?\)$/) });
    } finally {
      await cs2.start();
    }
    const back = await identify(body);
    expect(back.statusCode).toBe(200);
    expect(back.body.templateIds).toEqual(idsOf(bruteForce(fixture, query).slice(0, 2)));
  });

  it('CS1 with the wrong credential gets a 503 saying CS2 refused it', async () => {
    process.env.BLINDSIGHT_CS2_CREDENTIAL = 'not-the-credential-cs2-trusts';
    resetTwoServerServices();
    try {
      const response = await identify({ query: b64(client.encryptRequest(probeNear(fixture, 1, 5))), k: 1 });
      expect(response.statusCode).toBe(503);
      expect((response.body.error as { message: string }).message).toMatch(/^CS2 refused the decryption request \(HTTP 403, AccessDeniedException\)/);
    } finally {
      process.env.BLINDSIGHT_CS2_CREDENTIAL = CREDENTIAL;
      resetTwoServerServices();
    }
    expect((await identify({ query: b64(client.encryptRequest(probeNear(fixture, 1, 5))), k: 1 })).statusCode).toBe(200);
  });
});
