/**
 * Bad input end to end: every refused request through the real gateway gets a 4xx with a clear
 * message, and changes nothing CS1 stores (every table item and every object compared before
 * and after; the index still describes and answers exactly as before).
 *
 * Authorizer refusals are API Gateway's own answer ({"message": "Forbidden"}, no detail by
 * design of simple-response authorizers); for those the test checks the status, what the
 * typed client makes of it, and that the authorizer logged the precise reason (never the token).
 */
import { importJWK, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seiIndexParts } from '../../lib/client/index-parts';
import { generateOwnerSigningKey } from '../../lib/auth/signing-key';
import { isServiceError } from '../../lib/client/errors';
import { encryptIndexVector } from '../../lib/sei/index-vector';
import { CS1_AUDIENCE } from '../../lib/service/accounts/token-authorizer';
import { errorMessageOf, indexPath, rawRequest, registerOwner, startE2eCloud } from '../support/e2e-cloud';
import type { E2eCloud, E2eOwner, RawRequest, RawResponse } from '../support/e2e-cloud';
import { buildSeiCorpus, encryptImages, syntheticImages, userTrapdoors, vectorAt, wire } from '../support/e2e-sei';
import type { SeiCorpus } from '../support/e2e-sei';
import { toIndexName, toUserId, toVersionId } from '../support/ids';

const INDEX = 'main';
const D = 8;
const M = 2 * D + 2;

describe('bad input end to end: 4xx, a clear message, nothing stored changed', () => {
  let e2e: E2eCloud;
  let ownerA: E2eOwner;
  let ownerB: E2eOwner;
  let corpus: SeiCorpus;
  let trapdoor: number[];
  let userToken: string;
  let baseline: { description: unknown; search: unknown };
  const searchPath = () => `${indexPath(ownerA.ownerId, INDEX)}/search`;
  const addPath = () => `${indexPath(ownerA.ownerId, INDEX)}/images`;

  /** The index as a user sees it: its description and the answer to a fixed search. */
  async function observe(): Promise<{ description: unknown; search: unknown }> {
    const description = await rawRequest(e2e.url, indexPath(ownerA.ownerId, INDEX), { token: ownerA.ownerToken });
    const search = await rawRequest(e2e.url, searchPath(), { token: ownerA.ownerToken, body: { trapdoors: [trapdoor], k: 10 } });
    expect(description.status).toBe(200);
    expect(search.status).toBe(200);
    return { description: description.json, search: search.json };
  }

  /** Sends a request that must be refused with `status` and a message matching `message`; checks nothing changed. */
  async function refused(path: string, request: RawRequest, status: number, message: RegExp): Promise<RawResponse> {
    const before = await e2e.snapshot();
    const response = await rawRequest(e2e.url, path, request);
    expect(response.status, response.text).toBe(status);
    expect(errorMessageOf(response), response.text).toMatch(message);
    // Never a stack trace, never the numbers that were sent.
    expect(response.text).not.toMatch(/\bat .+\.ts:\d+|node_modules/);
    expect(await e2e.snapshot()).toEqual(before);
    return response;
  }

  /**
   * A publish whose job must fail: the route accepts it (202, a running job), the job's status
   * ends failed with `status`'s code and a message matching `message`, the client reports that
   * error, and nothing stored changed.
   */
  async function refusedJob(version: string, expectedCurrent: string, status: number, message: RegExp): Promise<void> {
    const before = await e2e.snapshot();
    const path = `${indexPath(ownerA.ownerId, INDEX)}/versions/${version}/publish`;
    const started = await rawRequest(e2e.url, path, { token: ownerA.ownerToken, body: { expectedCurrent } });
    expect(started.status, started.text).toBe(202);
    expect(JSON.parse(started.text)).toMatchObject({ version, status: 'running', expectedCurrent });
    const error = await ownerA.client.waitForPublish(ownerA.ownerId, toIndexName(INDEX), toVersionId(version)).catch((e: unknown) => e);
    expect(error).toMatchObject({ status, message: expect.stringMatching(message) });
    const report = await rawRequest(e2e.url, path, { token: ownerA.ownerToken, method: 'GET' });
    expect(report.status, report.text).toBe(200);
    expect(JSON.parse(report.text)).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(message) } });
    expect(report.text).not.toMatch(/\bat .+\.ts:\d+|node_modules/);
    expect(await e2e.snapshot()).toEqual(before);
  }

  /** The reason the authorizer logged for the first request it denied from log line `since` on. */
  async function denialReason(since: number): Promise<unknown> {
    return (await e2e.waitForLog('cs1', since, (line) => line.message === 'denied'))?.reason;
  }

  beforeAll(async () => {
    e2e = await startE2eCloud('bad-input');
    corpus = buildSeiCorpus({ n: 200, d: D, seed: 201, build: { maxLeafSize: 32 } });
    ownerA = await registerOwner(e2e);
    ownerB = await registerOwner(e2e);
    const images = syntheticImages(corpus.ids.slice(0, 20), 202);
    await ownerA.client.uploadImages(ownerA.ownerId, (await encryptImages(images)).envelopes);
    await ownerA.client.publishIndex(ownerA.ownerId, toIndexName(INDEX), 'sei', seiIndexParts(corpus.tree));
    await ownerB.client.publishIndex(ownerB.ownerId, toIndexName(INDEX), 'sei', seiIndexParts(buildSeiCorpus({ n: 100, d: D, seed: 203 }).tree));
    userToken = (await ownerA.addUser('bob')).token;
    trapdoor = wire(userTrapdoors(corpus.owner).trapdoor(vectorAt(corpus.queries, 0)));
    baseline = await observe();
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  describe('malformed bodies', () => {
    it('refuses malformed JSON', async () => {
      const json = { 'content-type': 'application/json' };
      await refused(searchPath(), { token: userToken, headers: json, body: '{"trapdoors": [[1, 2' }, 400, /not valid JSON/);
      await refused(addPath(), { token: ownerA.ownerToken, headers: json, body: '{"imageId": "x", ' }, 400, /not valid JSON/);
      await refused(`${indexPath(ownerA.ownerId, INDEX)}/versions`, { token: ownerA.ownerToken, headers: json, body: "{'kind': 'sei'}" }, 400, /not valid JSON/);
    });

    it('refuses a body that is not declared as JSON, and a missing body', async () => {
      const body = JSON.stringify({ trapdoors: [trapdoor], k: 10 });
      await refused(searchPath(), { token: userToken, headers: { 'content-type': 'text/plain' }, body }, 415, /application\/json/);
      await refused(searchPath(), { token: userToken, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, 415, /application\/json/);
      await refused(searchPath(), { token: userToken, method: 'POST', headers: { 'content-type': 'application/json' } }, 400, /body is missing/);
    });

    it('refuses fields of the wrong type or unknown fields, naming them', async () => {
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor], k: '10' } }, 400, /body\/k must be integer/);
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor], k: 10, debug: true } }, 400, /must not have property "debug"/);
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor.map(String)], k: 10 } }, 400, /trapdoors\/0\/0 must be number/);
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor], k: 0 } }, 400, /k must be >= 1/);
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor], k: 101 } }, 400, /k must be <= 100/);
    });
  });

  describe('wrong dimensions', () => {
    it('refuses a trapdoor of the wrong length, saying what the index needs', async () => {
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor.slice(1)], k: 10 } }, 400, new RegExp(`has ${M - 1} entries, this index needs ${M}`));
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor, [...trapdoor, 1]], k: 10 } }, 400, new RegExp(`trapdoors\\[1\\].*has ${M + 1} entries`));
      await refused(searchPath(), { token: userToken, body: { trapdoors: [[]], k: 10 } }, 400, /trapdoors\/0 must NOT have fewer than 1 items/);
      await refused(searchPath(), { token: userToken, body: { trapdoors: [new Array(9000).fill(0.5)], k: 10 } }, 400, /must NOT have more than \d+ items/);
    });

    it('refuses an added image whose vector or placement trapdoor has the wrong length', async () => {
      const vector = wire(encryptIndexVector(corpus.owner, vectorAt(corpus.queries, 1)));
      await refused(addPath(), { token: ownerA.ownerToken, body: { imageId: 'x-1', vector: vector.slice(2), placementTrapdoor: trapdoor } }, 400, new RegExp(`vector has ${M - 2} entries, this index needs ${M}`));
      await refused(addPath(), { token: ownerA.ownerToken, body: { imageId: 'x-1', vector, placementTrapdoor: [...trapdoor, 0] } }, 400, new RegExp(`placementTrapdoor has ${M + 1} entries`));
    });
  });

  describe('NaN and infinities', () => {
    const withFirst = (first: string, rest: number[]) => `[${[first, ...rest.slice(1).map(String)].join(',')}]`;

    it('refuses the literal NaN (JSON cannot carry it) as malformed JSON', async () => {
      const body = `{"trapdoors":[${withFirst('NaN', trapdoor)}],"k":10}`;
      await refused(searchPath(), { token: userToken, headers: { 'content-type': 'application/json' }, body }, 400, /not valid JSON/);
      const infinity = `{"trapdoors":[${withFirst('Infinity', trapdoor)}],"k":10}`;
      await refused(searchPath(), { token: userToken, headers: { 'content-type': 'application/json' }, body: infinity }, 400, /not valid JSON/);
    });

    it('refuses 1e999 (JSON.parse makes it Infinity) as not a finite number', async () => {
      const json = { 'content-type': 'application/json' };
      await refused(searchPath(), { token: userToken, headers: json, body: `{"trapdoors":[${withFirst('1e999', trapdoor)}],"k":10}` }, 400, /not a finite number/);
      await refused(searchPath(), { token: userToken, headers: json, body: `{"trapdoors":[${withFirst('-1e999', trapdoor)}],"k":10}` }, 400, /not a finite number/);
      const vector = wire(encryptIndexVector(corpus.owner, vectorAt(corpus.queries, 1)));
      const add = `{"imageId":"x-2","vector":${withFirst('1e999', vector)},"placementTrapdoor":${JSON.stringify(trapdoor)}}`;
      await refused(addPath(), { token: ownerA.ownerToken, headers: json, body: add }, 400, /not a finite number/);
    });

    it('refuses extreme but finite entries (1e308 would make scores infinite or NaN) with 400, naming the entry', async () => {
      for (const extreme of [1e308, -1e308, 1.7976931348623157e308, 1e101]) {
        const trapdoors = [trapdoor, trapdoor.map((value, j) => (j === 3 ? extreme : value))];
        await refused(searchPath(), { token: userToken, body: { trapdoors, k: 10 } }, 400, /trapdoors\[1\].*trapdoor\[3\] is too large: entries must be at most 1e100 in magnitude/);
      }
      // Every entry extreme: the whole score is out of range, not just one term.
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor.map((_, j) => (j % 2 === 0 ? 1e308 : -1e308))], k: 10 } }, 400, /trapdoors\[0\]: trapdoor\[0\] is too large/);
      const vector = wire(encryptIndexVector(corpus.owner, vectorAt(corpus.queries, 1)));
      await refused(addPath(), { token: ownerA.ownerToken, body: { imageId: 'x-3', vector: vector.map((v) => v * 1e300), placementTrapdoor: trapdoor } }, 400, /vector\[0\] is too large: entries must be at most 1e100/);
      await refused(addPath(), { token: ownerA.ownerToken, body: { imageId: 'x-3', vector, placementTrapdoor: trapdoor.map(() => -1e200) } }, 400, /placementTrapdoor\[0\] is too large/);
      // The largest accepted entries still give finite scores and an answer.
      const largest = trapdoor.map((value) => Math.sign(value || 1) * 1e100);
      const answer = await rawRequest(e2e.url, searchPath(), { token: userToken, body: { trapdoors: [largest], k: 10 } });
      expect(answer.status, answer.text).toBe(200);
      for (const hit of (answer.json as { results: Array<{ hits: Array<{ score: number }> }> }).results[0].hits) expect(Number.isFinite(hit.score)).toBe(true);
    });

    it('refuses null, which is what JSON.stringify makes of NaN', async () => {
      const nanTrapdoor = [Number.NaN, ...trapdoor.slice(1)];
      await refused(searchPath(), { token: userToken, body: { trapdoors: [nanTrapdoor], k: 10 } }, 400, /trapdoors\/0\/0 must be number/);
    });
  });

  describe('oversized requests', () => {
    it('refuses a body over 10 MB at the gateway with 413', async () => {
      const response = await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor], k: 10, pad: 'x'.repeat(11 * 1024 * 1024) } }, 413, /Too Large/);
      expect(response.json).toEqual({ message: 'Request Entity Too Large' });
    });

    it("refuses a body over Lambda's 6 MB event limit with 413", async () => {
      await refused(searchPath(), { token: userToken, body: { trapdoors: [trapdoor], k: 10, pad: 'x'.repeat(7 * 1024 * 1024) } }, 413, /Too Large/);
    });

    it('refuses more than 16 trapdoors in one request', async () => {
      await refused(searchPath(), { token: userToken, body: { trapdoors: new Array(17).fill(trapdoor), k: 10 } }, 400, /trapdoors must NOT have more than 16 items/);
    });

    it('refuses more than 100 download URLs in one request', async () => {
      const imageIds = Array.from({ length: 101 }, (_, i) => `img-${i}`);
      await refused(`/v1/owners/${ownerA.ownerId}/images/downloads`, { token: userToken, body: { imageIds } }, 400, /imageIds must NOT have more than 100 items/);
    });
  });

  describe('unknown things', () => {
    it('answers 404 for an unknown index, on every route that names one', async () => {
      const unknown = indexPath(ownerA.ownerId, 'no-such-index');
      const message = /index "no-such-index" does not exist or has no published version/;
      await refused(`${unknown}/search`, { token: userToken, body: { trapdoors: [trapdoor], k: 10 } }, 404, message);
      await refused(unknown, { token: userToken }, 404, message);
      const vector = wire(encryptIndexVector(corpus.owner, vectorAt(corpus.queries, 1)));
      await refused(`${unknown}/images`, { token: ownerA.ownerToken, body: { imageId: 'x-3', vector, placementTrapdoor: trapdoor } }, 404, message);
      await refused(`${unknown}/images/img-1`, { token: ownerA.ownerToken, method: 'DELETE' }, 404, message);
      await refused(`${unknown}/identify`, { token: userToken, body: { query: 'AAAAAAAA', k: 3 } }, 404, /no-such-index/);
    });

    it('answers 404 for unknown images and versions', async () => {
      await refused(`${indexPath(ownerA.ownerId, INDEX)}/images/img-9999`, { token: ownerA.ownerToken, method: 'DELETE' }, 404, /image "img-9999" is not in index "main"/);
      await refused(`/v1/owners/${ownerA.ownerId}/images/downloads`, { token: userToken, body: { imageIds: ['img-1', 'nope-1', 'nope-2'] } }, 404, /no image with id "nope-1", "nope-2"/);
      await refused(
        `${indexPath(ownerA.ownerId, INDEX)}/versions/20200101T000000000Z-000000000000/publish`,
        { token: ownerA.ownerToken, body: { expectedCurrent: (baseline.description as { version: string }).version } },
        404,
        /has no version "20200101T000000000Z-000000000000"/,
      );
    });

    it('answers 404 for an unknown route (and 405 for a known path with the wrong method)', async () => {
      expect((await rawRequest(e2e.url, '/v1/nothing-here', { token: userToken })).status).toBe(404);
      const wrongMethod = await rawRequest(e2e.url, searchPath(), { token: userToken, method: 'GET' });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('POST');
    });
  });

  describe('tokens', () => {
    const search = (token?: string, headers: Record<string, string> = {}) => ({ token, headers, body: { trapdoors: [trapdoor], k: 10 } });

    it('answers 401 without a token', async () => {
      await refused(searchPath(), search(), 401, /Unauthorized/);
      await refused(searchPath(), search(undefined, { authorization: '' }), 401, /Unauthorized/);
      // (The client refuses before sending; it throws synchronously, hence the wrapping.)
      const error = await Promise.resolve()
        .then(() => e2e.client().search(ownerA.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: 10 }))
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'INVALID_INPUT' });
      expect(String((error as Error).message)).toMatch(/needs a token/);
    });

    it('answers 403 for a header that is not a bearer token', async () => {
      const since = e2e.logs.length;
      await refused(searchPath(), search(undefined, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 403, /Forbidden/);
      expect(await denialReason(since)).toMatch(/malformed Authorization header/);
    });

    it('answers 403 for a token signed by another key (forged)', async () => {
      const attacker = await generateOwnerSigningKey();
      const key = (await importJWK(attacker.privateJwk, 'EdDSA')) as CryptoKey;
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({ role: 'owner' })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: ownerA.ownerId })
        .setIssuer(ownerA.ownerId)
        .setSubject(ownerA.ownerId)
        .setAudience(CS1_AUDIENCE)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 600)
        .sign(key);
      const since = e2e.logs.length;
      await refused(searchPath(), search(forged), 403, /Forbidden/);
      expect(await denialReason(since)).toMatch(/signature is invalid/);
      expect(JSON.stringify(e2e.logs)).not.toContain(forged);
      // The forged owner token cannot change anything either.
      await refused(addPath(), { token: forged, body: { imageId: 'x-4', vector: trapdoor, placementTrapdoor: trapdoor } }, 403, /Forbidden/);
      // A token whose signature was tampered with.
      const tampered = `${userToken.slice(0, -4)}${userToken.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      await refused(searchPath(), search(tampered), 403, /Forbidden/);
    });

    it('answers 403 for an expired token, and the client explains it', async () => {
      const expired = await ownerA.token({ userId: 'bob', expiresInSeconds: 60, now: new Date(Date.now() - 2 * 3600 * 1000) });
      const since = e2e.logs.length;
      await refused(searchPath(), search(expired), 403, /Forbidden/);
      expect(await denialReason(since)).toMatch(/token expired at/);
      const error = await e2e.client(expired).search(ownerA.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: 10 }).catch((e: unknown) => e);
      expect(isServiceError(error) && error.status).toBe(403);
      expect(String((error as Error).message)).toMatch(/expired, was revoked, or was not signed by this owner/);
    });

    it('answers 403 for a token of a user the owner never added', async () => {
      const since = e2e.logs.length;
      await refused(searchPath(), search(await ownerA.token({ userId: 'mallory' })), 403, /Forbidden/);
      expect(await denialReason(since)).toMatch(/user "mallory" is not registered/);
    });

    it('refuses a revoked user on the very next request', async () => {
      const carol = await ownerA.addUser('carol');
      expect((await rawRequest(e2e.url, searchPath(), search(carol.token))).status).toBe(200);
      await ownerA.client.revokeUser(ownerA.ownerId, toUserId('carol'));
      const since = e2e.logs.length;
      await refused(searchPath(), search(carol.token), 403, /Forbidden/);
      expect(await denialReason(since)).toMatch(/user "carol" has been revoked/);
      await refused(`/v1/owners/${ownerA.ownerId}/images/downloads`, { token: carol.token, body: { imageIds: ['img-1'] } }, 403, /Forbidden/);
      // Re-activation admits only tokens issued after the revocation: the old one stays
      // refused, saying why, and a new one works.
      await ownerA.client.putUser(ownerA.ownerId, toUserId('carol'));
      const again = e2e.logs.length;
      await refused(searchPath(), search(carol.token), 403, /Forbidden/);
      expect(await denialReason(again)).toMatch(/^token was issued at .+, before user "carol" was last revoked/);
      const fresh = await ownerA.token({ userId: 'carol' });
      expect((await rawRequest(e2e.url, searchPath(), search(fresh))).status).toBe(200);
    });

    it("answers 403 for owner B's tokens on owner A's index", async () => {
      await refused(searchPath(), search(ownerB.ownerToken), 403, /this token belongs to another owner/);
      const bUser = await ownerB.addUser('bob');
      await refused(searchPath(), search(bUser.token), 403, /this token belongs to another owner/);
      await refused(`/v1/owners/${ownerA.ownerId}/users/bob`, { token: ownerB.ownerToken, method: 'DELETE' }, 403, /another owner/);
      await refused(`/v1/owners/${ownerA.ownerId}/images/downloads`, { token: bUser.token, body: { imageIds: ['img-1'] } }, 403, /another owner/);
    });

    it("refuses a user token on the owner's routes", async () => {
      await refused(addPath(), { token: userToken, body: { imageId: 'x-5', vector: trapdoor, placementTrapdoor: trapdoor } }, 403, /only the owner may do this/);
      await refused(`${indexPath(ownerA.ownerId, INDEX)}/versions`, { token: userToken, body: { kind: 'sei', parts: { skeleton: 10, leaves: 10 } } }, 403, /only the owner/);
      await refused(`/v1/owners/${ownerA.ownerId}/users/bob`, { token: userToken, method: 'DELETE' }, 403, /only the owner/);
      await refused(`/v1/owners/${ownerA.ownerId}/images/uploads`, { token: userToken, body: { images: [{ imageId: 'x', byteLength: 10 }] } }, 403, /only the owner/);
    });
  });

  describe('bad index versions', () => {
    it('refuses to publish corrupt parts, naming the part; the old version keeps serving', async () => {
      const parts = seiIndexParts(corpus.tree);
      const leaves = parts.leaves.slice();
      leaves.fill(0xff, 0, 8); // breaks the magic of the first leaf block
      const created = await ownerA.client.createIndexVersion(ownerA.ownerId, toIndexName(INDEX), { kind: 'sei', parts: { skeleton: parts.skeleton.length, leaves: leaves.length } });
      await ownerA.client.uploadIndexParts(created, { skeleton: parts.skeleton, leaves });
      const current = (baseline.description as { version: string }).version;
      await refusedJob(created.version, current, 400, /part "leaves", leaf 0/);
    });

    it('refuses a part of another size than declared', async () => {
      const parts = seiIndexParts(corpus.tree);
      const created = await ownerA.client.createIndexVersion(ownerA.ownerId, toIndexName(INDEX), { kind: 'sei', parts: { skeleton: parts.skeleton.length, leaves: parts.leaves.length } });
      await ownerA.client.uploadIndexParts({ ...created, uploads: { skeleton: created.uploads.skeleton } }, { skeleton: parts.skeleton });
      // The presigned PUT signs the declared length: S3 refuses another one; s3rver does not check
      // signatures and stores it. Either way publish must refuse the version.
      const short = parts.leaves.subarray(0, parts.leaves.length - 8);
      const put = await fetch(created.uploads.leaves.url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: short as Uint8Array<ArrayBuffer> });
      const current = (baseline.description as { version: string }).version;
      const expected = put.ok
        ? new RegExp(`part "leaves" of version "${created.version}" is ${short.length} bytes, but ${parts.leaves.length} were declared`)
        : new RegExp(`part "leaves" of version "${created.version}" was not uploaded`);
      await refusedJob(created.version, current, 400, expected);
    });

    it('refuses an unknown kind, and a publish against a stale current version', async () => {
      await refused(`${indexPath(ownerA.ownerId, INDEX)}/versions`, { token: ownerA.ownerToken, body: { kind: 'faiss', parts: { x: 1 } } }, 400, /must be one of "sei", "two-server"/);
      const parts = seiIndexParts(corpus.tree);
      const created = await ownerA.client.createIndexVersion(ownerA.ownerId, toIndexName(INDEX), { kind: 'sei', parts: { skeleton: parts.skeleton.length, leaves: parts.leaves.length } });
      await ownerA.client.uploadIndexParts(created, parts);
      await refused(`${indexPath(ownerA.ownerId, INDEX)}/versions/${created.version}/publish`, { token: ownerA.ownerToken, body: { expectedCurrent: null } }, 409, /serves version ".*", not nothing/);
    });
  });

  it('still describes and answers exactly as before all of this', async () => {
    expect(await observe()).toEqual(baseline);
  });
});
