import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../support/local-aws';
import { call, callWithToken, expectRefused, newOwner, putPresigned, startHandlerWorld } from './support';
import type { AnyHandler, Owner } from './support';

const REGISTER = 'POST /v1/owners';
const USER_PUT = 'PUT /v1/owners/{ownerId}/users/{userId}';
const USER_REVOKE = 'DELETE /v1/owners/{ownerId}/users/{userId}';
const UPLOADS = 'POST /v1/owners/{ownerId}/images/uploads';
const DOWNLOADS = 'POST /v1/owners/{ownerId}/images/downloads';
const REMOVALS = 'POST /v1/owners/{ownerId}/images/removals';

describe('owner registration, users and image transfer handlers', () => {
  let aws: LocalAws;
  let h: Record<'authorizer' | 'register' | 'userPut' | 'userRevoke' | 'uploads' | 'downloads' | 'removals', AnyHandler>;
  let alice: Owner;
  let bob: Owner;

  beforeAll(async () => {
    aws = await startHandlerWorld();
    h = {
      authorizer: (await import('../../../functions/cs1/authorizer')).handler,
      register: (await import('../../../functions/cs1/register-owner')).handler,
      userPut: (await import('../../../functions/cs1/user-put')).handler,
      userRevoke: (await import('../../../functions/cs1/user-revoke')).handler,
      uploads: (await import('../../../functions/cs1/image-uploads')).handler,
      downloads: (await import('../../../functions/cs1/image-downloads')).handler,
      removals: (await import('../../../functions/cs1/image-removals')).handler,
    };
    alice = await newOwner();
    bob = await newOwner();
  });
  afterAll(() => aws?.stop());

  describe('POST /v1/owners', () => {
    it('registers a key (201), again idempotently (200)', async () => {
      const first = await call(h.register, REGISTER, { body: { publicKeyJwk: alice.key.publicJwk } });
      expect(first.statusCode).toBe(201);
      expect(first.body).toMatchObject({ ownerId: alice.ownerId, created: true });
      expect(first.headers['content-type']).toBe('application/json');
      const again = await call(h.register, REGISTER, { body: { publicKeyJwk: { ...alice.key.publicJwk, kid: 'laptop' } } });
      expect(again.statusCode).toBe(200);
      expect(again.body).toMatchObject({ ownerId: alice.ownerId, created: false });
      expect((await call(h.register, REGISTER, { body: { publicKeyJwk: bob.key.publicJwk } })).statusCode).toBe(201);
    });

    it('refuses bad bodies with clear 4xx and stores nothing', async () => {
      const register = (options: Parameters<typeof call>[2]) => () => call(h.register, REGISTER, options);
      const fresh = await newOwner();
      await expectRefused(aws, register({ body: '{"publicKeyJwk": ' }), 400, 'the request body is not valid JSON');
      await expectRefused(aws, register({ body: { publicKeyJwk: fresh.key.publicJwk }, contentType: 'text/plain' }), 415, 'send the request body as application/json');
      await expectRefused(aws, register({ body: { publicKeyJwk: fresh.key.publicJwk }, contentType: null }), 415);
      await expectRefused(aws, register({}), 400, 'the request body is missing: send a JSON object (Content-Type: application/json)');
      // REST proxy events carry body null for a request without one, even one declared as JSON.
      await expectRefused(aws, register({ headers: { 'Content-Type': 'application/json' } }), 400, 'the request body is missing: send a JSON object (Content-Type: application/json)');
      await expectRefused(aws, register({ body: {} }), 400, "invalid request: body must have required property 'publicKeyJwk'");
      await expectRefused(aws, register({ body: { publicKeyJwk: fresh.key.publicJwk, admin: true } }), 400, 'invalid request: body must not have property "admin"');
      await expectRefused(aws, register({ body: { publicKeyJwk: fresh.key.privateJwk } }), 400, 'publicKeyJwk contains a private key (member "d"): send only the public key');
      await expectRefused(aws, register({ body: { publicKeyJwk: { kty: 'RSA', crv: 'x', x: 'y' } } }), 400, /must be an Ed25519 key/);
      await expectRefused(aws, register({ body: { publicKeyJwk: { ...fresh.key.publicJwk, x: 'short' } } }), 400, /member "x" must be the base64url encoding of 32 bytes/);
      await expectRefused(aws, register({ body: { publicKeyJwk: 'abc' } }), 400, 'invalid request: body/publicKeyJwk must be object');
    });
  });

  describe('users', () => {
    it('adds, re-adds and revokes users; only the owner itself may', async () => {
      const path = { ownerId: alice.ownerId, userId: 'dave' };
      const put = await call(h.userPut, USER_PUT, { pathParameters: path, caller: alice.caller });
      expect(put.statusCode).toBe(200);
      expect(put.body).toMatchObject({ ownerId: alice.ownerId, userId: 'dave', status: 'active', reactivationCount: 0 });
      const revoked = await call(h.userRevoke, USER_REVOKE, { pathParameters: path, caller: alice.caller });
      expect(revoked.body).toMatchObject({ status: 'revoked' });
      const back = await call(h.userPut, USER_PUT, { pathParameters: path, caller: alice.caller });
      expect(back.body).toMatchObject({ status: 'active', reactivationCount: 1 });
    });

    it('refuses other owners, users, bad ids and unknown users without changing anything', async () => {
      const path = { ownerId: alice.ownerId, userId: 'erin' };
      await expectRefused(aws, () => call(h.userPut, USER_PUT, { pathParameters: path, caller: bob.caller }), 403, 'this token belongs to another owner');
      await expectRefused(
        aws,
        () => call(h.userPut, USER_PUT, { pathParameters: path, caller: { ownerId: alice.ownerId, role: 'user', userId: 'dave' } }),
        403,
        'only the owner may do this; user tokens can search and download',
      );
      await expectRefused(aws, () => call(h.userPut, USER_PUT, { pathParameters: path }), 401, /not authorized/);
      await expectRefused(aws, () => call(h.userPut, USER_PUT, { pathParameters: { ...path, userId: '../dave' }, caller: alice.caller }), 400, /user id "..\/dave" is invalid/);
      await expectRefused(
        aws,
        () => call(h.userRevoke, USER_REVOKE, { pathParameters: { ...path, userId: 'nobody' }, caller: alice.caller }),
        404,
        `user "nobody" is not registered with owner ${alice.ownerId}: nothing to revoke`,
      );
    });
  });

  describe('images', () => {
    const envelope = (seed: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);

    it('hands out PUT URLs the owner uploads with, and GET URLs owner and users download with', async () => {
      const up = await call(h.uploads, UPLOADS, {
        pathParameters: { ownerId: alice.ownerId },
        caller: alice.caller,
        body: { images: [{ imageId: 'cat-1', byteLength: 300 }, { imageId: 'cat-2', byteLength: 1000 }] },
      });
      expect(up.statusCode).toBe(200);
      const uploads = up.body.uploads as Array<{ imageId: string; url: string; method: string; headers: Record<string, string>; expiresAt: string }>;
      expect(uploads.map((u) => [u.imageId, u.method, u.headers['content-type'], u.headers['content-length']])).toEqual([
        ['cat-1', 'PUT', 'application/octet-stream', '300'],
        ['cat-2', 'PUT', 'application/octet-stream', '1000'],
      ]);
      expect(Date.parse(uploads[0].expiresAt)).toBeGreaterThan(Date.now());
      expect((await putPresigned(uploads[0], envelope(1, 300))).statusCode).toBe(200);
      expect((await putPresigned(uploads[1], envelope(2, 1000))).statusCode).toBe(200);

      // A user of alice (registered, real token through the authorizer) downloads.
      await call(h.userPut, USER_PUT, { pathParameters: { ownerId: alice.ownerId, userId: 'frank' }, caller: alice.caller });
      const userToken = await alice.token({ userId: 'frank' });
      const down = await callWithToken(h.authorizer, h.downloads, DOWNLOADS, userToken, {
        pathParameters: { ownerId: alice.ownerId },
        body: { imageIds: ['cat-2', 'cat-1', 'cat-2'] },
      });
      expect(down.statusCode).toBe(200);
      const downloads = down.body.downloads as Array<{ imageId: string; url: string; byteLength: number }>;
      expect(downloads.map((d) => [d.imageId, d.byteLength])).toEqual([
        ['cat-2', 1000],
        ['cat-1', 300],
      ]);
      const fetched = new Uint8Array(await (await fetch(downloads[0].url)).arrayBuffer());
      expect(Buffer.from(fetched).equals(Buffer.from(envelope(2, 1000)))).toBe(true);
    });

    it('refuses bad upload and download requests with exact statuses and messages', async () => {
      const owner = { pathParameters: { ownerId: alice.ownerId }, caller: alice.caller };
      const uploads = (body: unknown, extra = {}) => () => call(h.uploads, UPLOADS, { ...owner, body, ...extra });
      await expectRefused(aws, uploads({ images: [] }), 400, 'invalid request: body/images must NOT have fewer than 1 items');
      await expectRefused(aws, uploads({ images: Array.from({ length: 101 }, (_, i) => ({ imageId: `x${i}`, byteLength: 1 })) }), 400, /must NOT have more than 100 items/);
      await expectRefused(aws, uploads({ images: [{ imageId: 'big', byteLength: 50 * 1024 * 1024 + 1 }] }), 400, 'invalid request: body/images/0/byteLength must be <= 52428800');
      await expectRefused(aws, uploads({ images: [{ imageId: 'zero', byteLength: 0 }] }), 400, /byteLength must be >= 1/);
      await expectRefused(aws, uploads({ images: [{ imageId: 'str', byteLength: '10' }] }), 400, 'invalid request: body/images/0/byteLength must be integer');
      await expectRefused(aws, uploads({ images: [{ imageId: '../../etc', byteLength: 10 }] }), 400, /image id "..\/..\/etc" is invalid/);
      await expectRefused(aws, uploads({ images: [{ imageId: 'a', byteLength: 1 }, { imageId: 'a', byteLength: 2 }] }), 400, 'image id "a" appears twice in the request');
      await expectRefused(aws, uploads({ images: [{ imageId: 'a', byteLength: 1, owner: 'x' }] }), 400, 'invalid request: body/images/0 must not have property "owner"');
      await expectRefused(aws, () => call(h.uploads, UPLOADS, { ...owner, caller: { ownerId: alice.ownerId, role: 'user', userId: 'frank' }, body: { images: [{ imageId: 'a', byteLength: 1 }] } }), 403);

      const downloads = (body: unknown, caller = alice.caller, ownerId = alice.ownerId) => () =>
        call(h.downloads, DOWNLOADS, { pathParameters: { ownerId }, caller, body });
      await expectRefused(aws, downloads({ imageIds: ['cat-1', 'dog-1', 'dog-2'] }), 404, 'no image with id "dog-1", "dog-2": upload them first');
      await expectRefused(aws, downloads({ imageIds: [] }), 400);
      await expectRefused(aws, downloads({ imageIds: [3] }), 400, 'invalid request: body/imageIds/0 must be string');
      // Bob cannot fetch alice's images, neither through alice's path nor through his own.
      await expectRefused(aws, downloads({ imageIds: ['cat-1'] }, bob.caller), 403, 'this token belongs to another owner');
      await expectRefused(aws, downloads({ imageIds: ['cat-1'] }, bob.caller, bob.ownerId), 404, 'no image with id "cat-1": upload it first');
    });

    it("records the removal of a deleted image's envelope (removed later, by the clean-up); refused requests record nothing", async () => {
      const owner = { pathParameters: { ownerId: alice.ownerId }, caller: alice.caller };
      const removals = (body: unknown, caller = alice.caller) => () => call(h.removals, REMOVALS, { pathParameters: { ownerId: alice.ownerId }, caller, body });
      await expectRefused(aws, removals({ imageIds: ['cat-1', 'dog-1'], absentFrom: {} }), 404, 'no image with id "dog-1"');
      await expectRefused(aws, removals({ imageIds: ['cat-1'], absentFrom: { main: '20260101T000000000Z-0123456789ab' } }), 404, /^index "main" has no published version "20260101T000000000Z-0123456789ab"/);
      await expectRefused(aws, removals({ imageIds: ['cat-1'], absentFrom: { main: 'not a version' } }), 400, /version/);
      await expectRefused(aws, removals({ imageIds: ['cat-1', 'cat-1'], absentFrom: {} }), 400, 'imageIds lists an image twice');
      await expectRefused(aws, removals({ imageIds: [], absentFrom: {} }), 400, 'invalid request: body/imageIds must NOT have fewer than 1 items');
      await expectRefused(aws, removals({ imageIds: ['cat-1'] }), 400, "invalid request: body must have required property 'absentFrom'");
      await expectRefused(aws, removals({ imageIds: ['cat-1'], absentFrom: {}, now: true }), 400, 'invalid request: body must not have property "now"');
      await expectRefused(aws, removals({ imageIds: ['cat-1'], absentFrom: {} }, { ownerId: alice.ownerId, role: 'user', userId: 'frank' }), 403);
      await expectRefused(aws, removals({ imageIds: ['cat-1'], absentFrom: {} }, bob.caller), 403, 'this token belongs to another owner');

      const removed = await call(h.removals, REMOVALS, { ...owner, body: { imageIds: ['cat-1'], absentFrom: {} } });
      expect(removed.statusCode).toBe(200);
      expect(removed.body).toEqual({ removals: [{ imageId: 'cat-1', requestedAt: expect.any(String) }] });
      // Nothing is removed now: the image still downloads until the clean-up finds no version listing it.
      expect((await call(h.downloads, DOWNLOADS, { ...owner, body: { imageIds: ['cat-1'] } })).statusCode).toBe(200);
      // Asked again: the first request stands.
      expect((await call(h.removals, REMOVALS, { ...owner, body: { imageIds: ['cat-1'], absentFrom: {} } })).body).toEqual(removed.body);
    });
  });
});
