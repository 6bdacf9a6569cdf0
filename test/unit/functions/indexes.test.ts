import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import type { EncryptedIndexTree } from '../../../lib/sei/index-tree/types';
import { createIndexKinds } from '../../../lib/service/index-kinds/index-kinds';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import type { LocalAws } from '../../support/local-aws';
import { row, seiWorld } from '../../support/sei-fixture';
import { USER_PUT_ROUTE, call, callWithToken, expectRefused, loadCs1Handler, putPresigned, registerTwoOwners, startHandlerWorld, settled, storageSnapshot } from './support';
import type { AnyHandler, Owner, Response } from './support';

const USER_PUT = USER_PUT_ROUTE;
const USER_REVOKE = 'DELETE /v1/owners/{ownerId}/users/{userId}';
const CREATE = 'POST /v1/owners/{ownerId}/indexes/{indexName}/versions';
const PUBLISH = 'POST /v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish';
const GET = 'GET /v1/owners/{ownerId}/indexes/{indexName}';
const SEARCH = 'POST /v1/owners/{ownerId}/indexes/{indexName}/search';
const ADD = 'POST /v1/owners/{ownerId}/indexes/{indexName}/images';
const DELETE = 'DELETE /v1/owners/{ownerId}/indexes/{indexName}/images/{imageId}';

type Handlers = Record<'authorizer' | 'register' | 'userPut' | 'userRevoke' | 'create' | 'publish' | 'get' | 'search' | 'add' | 'remove', AnyHandler>;

describe('index version, search and update handlers', () => {
  let aws: LocalAws;
  let h: Handlers;
  let alice: Owner;
  let bob: Owner;
  const sei = seiWorld(400, 6, 16, { maxLeafSize: 16 });
  const sei2 = seiWorld(300, 6, 31, { maxLeafSize: 16 });
  let serving: string;

  const at = (indexName: string, extra: Record<string, string> = {}, owner: Owner = alice) => ({ ownerId: owner.ownerId, indexName, ...extra });
  /** The in-memory search; without probes, the index's calibrated ones (as CS1 without probes). */
  const reference = (tree: EncryptedIndexTree, trapdoor: Float64Array, k: number, probes?: number) =>
    searchIndexTree(tree, trapdoor, probes === undefined ? { k } : { k, probes }).hits.map((hit) => ({ imageId: hit.id, score: hit.score }));

  /** The owner's client: create, PUT the parts, publish. */
  async function publish(indexName: string, tree: EncryptedIndexTree, expectedCurrent: string | null): Promise<Response> {
    const { parts, sizes } = seiUploadParts(tree);
    const created = await call(h.create, CREATE, { pathParameters: at(indexName), caller: alice.caller, body: { kind: 'sei', parts: sizes } });
    expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
    const uploads = created.body.uploads as Record<string, { url: string; headers: Record<string, string> }>;
    for (const [name, bytes] of Object.entries(parts)) expect((await putPresigned(uploads[name], bytes)).statusCode).toBe(200);
    return settled(await call(h.publish, PUBLISH, {
      pathParameters: at(indexName, { version: created.body.version as string }),
      caller: alice.caller,
      body: { expectedCurrent },
    }));
  }

  beforeAll(async () => {
    aws = await startHandlerWorld();
    const load = loadCs1Handler;
    h = {
      authorizer: await load('authorizer'),
      register: await load('register-owner'),
      userPut: await load('user-put'),
      userRevoke: await load('user-revoke'),
      create: await load('index-version-create'),
      publish: await load('index-version-publish'),
      get: await load('index-get'),
      search: await load('search'),
      add: await load('index-image-add'),
      remove: await load('index-image-delete'),
    };
    ({ alice, bob } = await registerTwoOwners(h));
    const published = await publish('photos', sei.tree, null);
    expect(published.statusCode).toBe(200);
    serving = published.body.version as string;
  });
  afterAll(() => aws?.stop());

  describe('publish and describe', () => {
    it('publishes, describes, and replaces a version', async () => {
      const described = await call(h.get, GET, { pathParameters: at('photos'), caller: alice.caller });
      expect(described.statusCode).toBe(200);
      expect(described.body).toMatchObject({ indexName: 'photos', version: serving, kind: 'sei', previousVersion: null });
      expect(described.body.summary).toMatchObject({ d: 6, m: 14, imageCount: 400, ownerKeyId: sei.tree.ownerKeyId });

      const first = await publish('albums', sei.tree, null);
      const second = await publish('albums', sei2.tree, first.body.version as string);
      expect(second.statusCode).toBe(200);
      expect(second.body).toMatchObject({ previousVersion: first.body.version, kind: 'sei' });
      const viaUser = await callWithToken(h.authorizer, h.get, GET, await alice.token({ userId: 'uma' }), { pathParameters: at('albums') });
      expect(viaUser.body).toMatchObject({ version: second.body.version, summary: { imageCount: 300 } });
    });

    it('refuses bad create requests', async () => {
      const create = (body: unknown, caller = alice.caller, indexName = 'photos') => () =>
        call(h.create, CREATE, { pathParameters: at(indexName), caller, body });
      const sizes = seiUploadParts(sei.tree).sizes;
      const kinds = createIndexKinds().kinds.map((kind) => `"${kind}"`).join(', ');
      await expectRefused(aws, create({ kind: 'faiss', parts: sizes }), 400, `invalid request: body/kind must be one of ${kinds}`);
      await expectRefused(aws, create({ kind: 'sei', parts: { skeleton: 100 } }), 400, /part "leaves" .* is missing/);
      await expectRefused(aws, create({ kind: 'sei', parts: { ...sizes, notes: 5 } }), 400, /"notes" is not a part of a "sei" index/);
      await expectRefused(aws, create({ kind: 'sei', parts: { ...sizes, leaves: -1 } }), 400, 'invalid request: body/parts/leaves must be >= 1');
      await expectRefused(aws, create({ kind: 'sei', parts: { ...sizes, leaves: 3 * 1024 ** 3 } }), 413, /at most 2147483648/);
      await expectRefused(aws, create({ kind: 'sei', parts: {} }), 400, 'invalid request: body/parts must NOT have fewer than 1 properties');
      await expectRefused(aws, create({ kind: 'sei', parts: sizes }, { ownerId: alice.ownerId, role: 'user', userId: 'uma' }), 403);
      await expectRefused(aws, create({ kind: 'sei', parts: sizes }, alice.caller, '..'), 400, /index name ".." is invalid/);
      await expectRefused(aws, create({ kind: 'sei', parts: sizes }, alice.caller, 'a#b'), 400, /index name "a#b" is invalid/);
    });

    it('refuses bad publishes and leaves the serving version alone', async () => {
      const { parts, sizes } = seiUploadParts(sei2.tree);
      const created = await call(h.create, CREATE, { pathParameters: at('photos'), caller: alice.caller, body: { kind: 'sei', parts: sizes } });
      const version = created.body.version as string;
      const uploads = created.body.uploads as Record<string, { url: string; headers: Record<string, string> }>;
      const broken = parts.skeleton.slice();
      broken[7] ^= 0x7f;
      await putPresigned(uploads.skeleton, broken);
      await putPresigned(uploads.leaves, parts.leaves);
      // Type and length are signed, so S3 refuses any other upload through these URLs.
      expect(new URL(uploads.leaves.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');

      const publishBody = (body: unknown, v = version) => async () => settled(await call(h.publish, PUBLISH, { pathParameters: at('photos', { version: v }), caller: alice.caller, body }));
      await expectRefused(aws, publishBody({ expectedCurrent: serving }), 400, /^part "skeleton": encrypted index: /);
      await expectRefused(aws, publishBody({ expectedCurrent: null }), 409, new RegExp(`serves version "${serving}", not nothing`));
      await expectRefused(aws, publishBody({ expectedCurrent: 'someone-else' }), 409);
      await expectRefused(aws, publishBody({}), 400, "invalid request: body must have required property 'expectedCurrent'");
      await expectRefused(aws, publishBody({ expectedCurrent: 5 }), 400, 'invalid request: body/expectedCurrent must be string');
      await expectRefused(aws, publishBody({ expectedCurrent: serving }, '20990101T000000000Z-000000000000'), 404, /has no version "20990101T000000000Z-000000000000"/);
      await expectRefused(aws, publishBody({ expectedCurrent: serving }, '../other'), 400, /index version "..\/other" is invalid/);
      // s3rver does not check signatures: a part of the wrong size still gets there, and publish
      // refuses it (in AWS the PUT itself fails).
      await putPresigned(uploads.skeleton, parts.skeleton);
      await putPresigned(uploads.leaves, parts.leaves.subarray(8));
      await expectRefused(aws, publishBody({ expectedCurrent: serving }), 400, `part "leaves" of version "${version}" is ${parts.leaves.length - 8} bytes, but ${parts.leaves.length} were declared`);
      const current = await call(h.get, GET, { pathParameters: at('photos'), caller: alice.caller });
      expect(current.body.version).toBe(serving);
    });

    it('keeps owners isolated', async () => {
      await expectRefused(aws, () => call(h.get, GET, { pathParameters: at('photos'), caller: bob.caller }), 403, 'this token belongs to another owner');
      await expectRefused(aws, () => call(h.get, GET, { pathParameters: at('photos', {}, bob), caller: bob.caller }), 404, 'index "photos" does not exist or has no published version');
      // Bob's real token against alice's path never reaches the index.
      const bobToken = await bob.token();
      const response = await callWithToken(h.authorizer, h.search, SEARCH, bobToken, {
        pathParameters: at('photos'),
        body: { trapdoors: [Array.from(sei.generator.trapdoor(row(sei.vectors, 1)))], k: 3 },
      });
      expect(response.statusCode).toBe(403);
    });
  });

  describe('search', () => {
    const trapdoors = [4, 150, 333].map((i) => sei.generator.trapdoor(row(sei.vectors, i)));
    const good = Array.from(trapdoors[0]);

    it('answers K-anonymity requests for owners and users, one list per trapdoor', async () => {
      const token = await alice.token({ userId: 'uma' });
      const response = await callWithToken(h.authorizer, h.search, SEARCH, token, {
        pathParameters: at('photos'),
        body: { trapdoors: trapdoors.map((t) => Array.from(t)), k: 7, probes: 3 },
      });
      expect(response.statusCode).toBe(200);
      expect(response.body.version).toBe(serving);
      const results = response.body.results as Array<{ hits: unknown[] }>;
      results.forEach((result, i) => expect(result.hits).toEqual(reference(sei.tree, trapdoors[i], 7, 3)));
      // The index's calibrated probes, body sent base64-encoded as API Gateway may do.
      const base64 = await call(h.search, SEARCH, { pathParameters: at('photos'), caller: alice.caller, body: { trapdoors: [good], k: 5 }, base64: true });
      expect((base64.body.results as Array<{ hits: unknown[] }>)[0].hits).toEqual(reference(sei.tree, trapdoors[0], 5));
    });

    it('refuses revoked users on their next request', async () => {
      await call(h.userPut, USER_PUT, { pathParameters: { ownerId: alice.ownerId, userId: 'vic' }, caller: alice.caller });
      const token = await alice.token({ userId: 'vic' });
      const request = { pathParameters: at('photos'), body: { trapdoors: [good], k: 2 } };
      expect((await callWithToken(h.authorizer, h.search, SEARCH, token, request)).statusCode).toBe(200);
      await call(h.userRevoke, USER_REVOKE, { pathParameters: { ownerId: alice.ownerId, userId: 'vic' }, caller: alice.caller });
      expect((await callWithToken(h.authorizer, h.search, SEARCH, token, request)).statusCode).toBe(403);
    });

    it('refuses bad search requests with exact statuses and messages', async () => {
      const search = (body: unknown, extra: Record<string, unknown> = {}) => () =>
        call(h.search, SEARCH, { pathParameters: at('photos'), caller: alice.caller, body, ...extra });
      await expectRefused(aws, search({ trapdoors: [good.slice(2)], k: 3 }), 400, 'trapdoors[0]: trapdoor has 12 entries, this index needs 14 (feature dimension 6)');
      await expectRefused(aws, search({ trapdoors: [good, [...good, 1]], k: 3 }), 400, 'trapdoors[1]: trapdoor has 15 entries, this index needs 14 (feature dimension 6)');
      // NaN serialized by JSON.stringify becomes null: refused, never read as 0.
      await expectRefused(aws, search({ trapdoors: [[...good.slice(0, 3), Number.NaN, ...good.slice(4)]], k: 3 }), 400, 'invalid request: body/trapdoors/0/3 must be number');
      // 1e400 parses to Infinity: the body parser refuses it and names the entry.
      await expectRefused(aws, search(`{"trapdoors": [[1e400${',0'.repeat(13)}]], "k": 3}`), 400, 'body "0" is not a finite number: send numbers a double can hold');
      await expectRefused(aws, search({ trapdoors: [good.map(String)], k: 3 }), 400, /body\/trapdoors\/0\/0 must be number/);
      await expectRefused(aws, search({ trapdoors: Array.from({ length: 17 }, () => good), k: 3 }), 400, 'invalid request: body/trapdoors must NOT have more than 16 items');
      await expectRefused(aws, search({ trapdoors: [], k: 3 }), 400, 'invalid request: body/trapdoors must NOT have fewer than 1 items');
      await expectRefused(aws, search({ trapdoors: [Array.from({ length: 8195 }, () => 0)], k: 3 }), 400, 'invalid request: body/trapdoors/0 must NOT have more than 8194 items');
      await expectRefused(aws, search({ trapdoors: [good], k: 0 }), 400, 'invalid request: body/k must be >= 1');
      await expectRefused(aws, search({ trapdoors: [good], k: 101 }), 400, 'invalid request: body/k must be <= 100');
      await expectRefused(aws, search({ trapdoors: [good], k: '5' }), 400, 'invalid request: body/k must be integer');
      await expectRefused(aws, search({ trapdoors: [good], k: 3, probes: 65 }), 400, 'invalid request: body/probes must be <= 64');
      await expectRefused(aws, search({ trapdoors: [good] }), 400, "invalid request: body must have required property 'k'");
      await expectRefused(aws, search({ trapdoors: [good], k: 3, index: 'other' }), 400, 'invalid request: body must not have property "index"');
      await expectRefused(aws, search('{"trapdoors": [[1,2'), 400, 'the request body is not valid JSON');
      await expectRefused(aws, search({ trapdoors: [good], k: 3 }, { contentType: 'text/plain' }), 415, 'send the request body as application/json');
      await expectRefused(aws, search([good]), 400, 'invalid request: body must be object');
      await expectRefused(aws, () => call(h.search, SEARCH, { pathParameters: at('nothing-here'), caller: alice.caller, body: { trapdoors: [good], k: 3 } }), 404, 'index "nothing-here" does not exist or has no published version');
      await expectRefused(aws, () => call(h.search, SEARCH, { pathParameters: at('photos'), body: { trapdoors: [good], k: 3 } }), 401);
    });
  });

  it('answers 500 with only a request id when stored data is damaged', async () => {
    const published = await publish('fragile', sei.tree, null);
    await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.bucketName, Key: `owners/${alice.ownerId}/indexes/fragile/${published.body.version}/leaves` }));
    const response = await call(h.search, SEARCH, {
      pathParameters: at('fragile'),
      caller: alice.caller,
      body: { trapdoors: [Array.from(sei.generator.trapdoor(row(sei.vectors, 0)))], k: 3 },
    });
    expect(response.statusCode).toBe(500);
    expect(response.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error', requestId: expect.any(String) } });
  });

  describe('adding and deleting images', () => {
    const f = Float64Array.from(row(sei.vectors, 42), (v) => v + 1e-3);
    const body = {
      imageId: 'new-42',
      vector: Array.from(encryptIndexVector(sei.owner, f)),
      placementTrapdoor: Array.from(sei.generator.trapdoor(f)),
    };

    it('adds an image (201) that the next search finds, then deletes it (200)', async () => {
      await publish('live', sei.tree, null);
      const added = await call(h.add, ADD, { pathParameters: at('live'), caller: alice.caller, body });
      expect(added.statusCode, JSON.stringify(added.body)).toBe(201);
      expect(added.body).toMatchObject({ imageId: 'new-42', imageCount: 401, rebuildAdvice: { advisable: false, reasons: [] } });
      const trapdoor = Array.from(sei.generator.trapdoor(f));
      const found = await call(h.search, SEARCH, { pathParameters: at('live'), caller: alice.caller, body: { trapdoors: [trapdoor], k: 1 } });
      expect(found.body.version).toBe(added.body.version);
      expect((found.body.results as Array<{ hits: Array<{ imageId: string }> }>)[0].hits[0].imageId).toBe('new-42');

      const removed = await call(h.remove, DELETE, { pathParameters: at('live', { imageId: 'new-42' }), caller: alice.caller });
      expect(removed.statusCode).toBe(200);
      expect(removed.body).toMatchObject({ previousVersion: added.body.version, imageCount: 400 });
      const gone = await call(h.search, SEARCH, { pathParameters: at('live'), caller: alice.caller, body: { trapdoors: [trapdoor], k: 5 } });
      expect((gone.body.results as Array<{ hits: Array<{ imageId: string }> }>)[0].hits.map((hit) => hit.imageId)).not.toContain('new-42');
    });

    it('refuses duplicates, unknown ids, bad vectors and non-owners, changing nothing', async () => {
      const add = (payload: unknown, caller = alice.caller, indexName = 'live') => () => call(h.add, ADD, { pathParameters: at(indexName), caller, body: payload });
      await expectRefused(aws, add({ ...body, imageId: 'img-3' }), 409, 'image "img-3" is already in the index; delete it first');
      await expectRefused(aws, add({ ...body, vector: body.vector.slice(1) }), 400, 'vector has 13 entries, this index needs 14');
      await expectRefused(aws, add({ ...body, placementTrapdoor: [...body.placementTrapdoor, 0] }), 400, 'placementTrapdoor has 15 entries, this index needs 14');
      await expectRefused(aws, add({ ...body, vector: [null, ...body.vector.slice(1)] }), 400, 'invalid request: body/vector/0 must be number');
      await expectRefused(aws, add({ ...body, imageId: 'a/b' }), 400, /image id "a\/b" is invalid/);
      await expectRefused(aws, add({ imageId: 'x', vector: body.vector }), 400, "invalid request: body must have required property 'placementTrapdoor'");
      await expectRefused(aws, add(body, { ownerId: alice.ownerId, role: 'user', userId: 'uma' }), 403);
      await expectRefused(aws, add(body, bob.caller), 403);
      await expectRefused(aws, add(body, alice.caller, 'missing'), 404, 'index "missing" does not exist or has no published version');
      const remove = (imageId: string, indexName = 'live') => () => call(h.remove, DELETE, { pathParameters: at(indexName, { imageId }), caller: alice.caller });
      await expectRefused(aws, remove('never-added'), 404, 'image "never-added" is not in index "live"');
      await expectRefused(aws, remove('..'), 400, /image id ".." is invalid/);
      await expectRefused(aws, remove('img-1', 'missing'), 404);
      // The add that was refused as a duplicate did not disturb the index either.
      const snapshot = await storageSnapshot(aws);
      expect(snapshot.items.some((item) => item.includes('new-43'))).toBe(false);
    });
  });
});
