/**
 * The sealed-leaves handler as API Gateway calls it (authorizer first, REST proxy events, the
 * contract's schema in front): a user of the owner gets exactly the L leaves it names, as stored,
 * inline or as ranged GETs, and a search through the handler ranks like the in-memory index; every
 * bad request is a 4xx that changes nothing; other owners and revoked users are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CS1_API, routeKeyOf } from '../../../lib/api/routes';
import { decodeSealedLeavesAnswer } from '../../../lib/api/sealed-leaves-binary';
import { sealIndex, sealedPartSizes } from '../../../lib/sealed/build';
import { SealedSearcher } from '../../../lib/sealed/search';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import type { LocalAws } from '../../support/local-aws';
import { sealedWorld } from '../../support/sealed-fixture';
import { seiWorld } from '../../support/sei-fixture';
import { call, callWithToken, expectRefused, loadCs1Handler, putPresigned, registerTwoOwners, settled, startHandlerWorld } from './support';
import type { AnyHandler, Owner } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const CREATE = routeKeyOf(CS1_API.createIndexVersion);
const PUBLISH = routeKeyOf(CS1_API.publishIndexVersion);
const GET = routeKeyOf(CS1_API.getIndex);
const LEAVES = routeKeyOf(CS1_API.sealedLeaves);
const SEARCH = routeKeyOf(CS1_API.search);
const REVOKE = routeKeyOf(CS1_API.revokeUser);

type Handlers = Record<'authorizer' | 'register' | 'userPut' | 'userRevoke' | 'create' | 'publish' | 'get' | 'leaves' | 'search', AnyHandler>;

describe('sealed leaves handler', async () => {
  const world = await sealedWorld(400, 6, 71, { leafSize: 16, realLeaves: 2, leavesPerQuery: 5 });
  const L = world.build.leavesPerQuery;
  const sei = seiWorld(200, 6, 72, { maxLeafSize: 16 });
  let aws: LocalAws;
  let h: Handlers;
  let alice: Owner;
  let bob: Owner;
  let version: string;
  let stored: Uint8Array;
  let leafBytes: number;

  const at = (indexName: string, owner: Owner = alice) => ({ ownerId: owner.ownerId, indexName });
  const asUma = async (routeKey: string, handler: AnyHandler, indexName: string, body?: unknown) =>
    callWithToken(h.authorizer, handler, routeKey, await alice.token({ userId: 'uma' }), { pathParameters: at(indexName), body });

  const asUmaAccepting = async (accept: string, body: unknown) =>
    callWithToken(h.authorizer, h.leaves, LEAVES, await alice.token({ userId: 'uma' }), { pathParameters: at('vault'), body, headers: { Accept: accept } });

  async function publish(indexName: string, kind: 'sealed' | 'sei', parts: (version: string) => Promise<Record<string, Uint8Array>>, sizes: Record<string, number>): Promise<string> {
    const created = await call(h.create, CREATE, { pathParameters: at(indexName), caller: alice.caller, body: { kind, parts: sizes } });
    expect(created.statusCode, JSON.stringify(created.body)).toBe(201);
    const name = created.body.version as string;
    const uploads = created.body.uploads as Record<string, { url: string; headers: Record<string, string> }>;
    for (const [part, bytes] of Object.entries(await parts(name))) expect((await putPresigned(uploads[part], bytes)).statusCode).toBe(200);
    const published = settled(await call(h.publish, PUBLISH, { pathParameters: { ...at(indexName), version: name }, caller: alice.caller, body: { expectedCurrent: null } }));
    expect(published.statusCode, JSON.stringify(published.body)).toBe(200);
    return name;
  }

  beforeAll(async () => {
    aws = await startHandlerWorld();
    h = {
      authorizer: await loadCs1Handler('authorizer'),
      register: await loadCs1Handler('register-owner'),
      userPut: await loadCs1Handler('user-put'),
      userRevoke: await loadCs1Handler('user-revoke'),
      create: await loadCs1Handler('index-version-create'),
      publish: await loadCs1Handler('index-version-publish'),
      get: await loadCs1Handler('index-get'),
      leaves: await loadCs1Handler('sealed-leaves'),
      search: await loadCs1Handler('search'),
    };
    ({ alice, bob } = await registerTwoOwners(h));
    version = await publish(
      'vault',
      'sealed',
      async (name) => {
        const parts = await sealIndex(world.build, world.key, { ownerId: toOwnerId(alice.ownerId), indexName: toIndexName('vault'), version: toVersionId(name) });
        stored = parts.leaves;
        return parts;
      },
      sealedPartSizes(world.build, world.key.keyId),
    );
    const { parts, sizes } = seiUploadParts(sei.tree);
    await publish('photos', 'sei', async () => parts, sizes);
    leafBytes = stored.length / world.build.leafCount;
  });
  afterAll(() => aws?.stop());

  it('hands a user exactly the named leaves, inline or as ranged GETs, and a search through it matches the in-memory one', async () => {
    const described = await asUma(GET, h.get, 'vault');
    expect(described.statusCode).toBe(200);
    const summary = described.body.summary as { leavesPerQuery: number; leafBytes: number; routing: { download: { url: string; headers: Record<string, string> } } };
    expect(summary).toMatchObject({ leavesPerQuery: L, leafBytes });
    const routing = new Uint8Array(await (await fetch(summary.routing.download.url, { headers: summary.routing.download.headers })).arrayBuffer());
    const binding = { ownerId: toOwnerId(alice.ownerId), indexName: toIndexName('vault'), version: toVersionId(version) };
    const searcher = await SealedSearcher.open(world.key, binding, routing);

    const leaves = [0, 3, 4, 7, world.build.leafCount - 1].slice(0, L);
    const inline = await asUma(LEAVES, h.leaves, 'vault', { version, leaves });
    expect(inline.statusCode, JSON.stringify(inline.body)).toBe(200);
    expect(inline.body).toMatchObject({ version, leafBytes, leaves });
    const data = new Uint8Array(Buffer.from(inline.body.data as string, 'base64'));
    expect(data).toEqual(Uint8Array.from(leaves.flatMap((leaf) => [...stored.subarray(leaf * leafBytes, (leaf + 1) * leafBytes)])));

    // Raw bytes for a request whose first accepted type is binary (API Gateway sends them as bytes).
    const binaryAnswer = await asUmaAccepting('application/octet-stream, application/json;q=0.9', { version, leaves });
    expect(binaryAnswer.statusCode).toBe(200);
    expect(binaryAnswer.headers['content-type']).toBe('application/octet-stream');
    expect(decodeSealedLeavesAnswer(binaryAnswer.bytes!, 'answer')).toEqual({ version, leafBytes, leaves, data });
    // JSON when JSON comes first, and for ranged GETs whatever the Accept header says.
    expect((await asUmaAccepting('application/json, application/octet-stream', { version, leaves })).body).toMatchObject({ version, data: inline.body.data });
    const urlsAnswer = await asUmaAccepting('application/octet-stream', { version, leaves, delivery: 'urls' });
    expect(urlsAnswer.bytes).toBeUndefined();
    expect(urlsAnswer.body.downloads).toHaveLength(L);

    const ranged = await asUma(LEAVES, h.leaves, 'vault', { version, leaves, delivery: 'urls' });
    expect(ranged.statusCode).toBe(200);
    const downloads = ranged.body.downloads as Array<{ url: string; headers: Record<string, string> }>;
    expect(downloads).toHaveLength(L);
    for (const [i, download] of downloads.entries()) {
      const bytes = new Uint8Array(await (await fetch(download.url, { headers: download.headers })).arrayBuffer());
      expect(bytes).toEqual(stored.subarray(leaves[i] * leafBytes, (leaves[i] + 1) * leafBytes));
    }

    const query = world.vectors.data.subarray(6 * 11, 6 * 12);
    const remote = await searcher.search(query, { k: 5 }, async (wanted) => {
      const answer = await asUma(LEAVES, h.leaves, 'vault', { version, leaves: wanted });
      expect(answer.statusCode).toBe(200);
      const bytes = new Uint8Array(Buffer.from(answer.body.data as string, 'base64'));
      return new Map(wanted.map((leaf, i) => [leaf, bytes.subarray(i * leafBytes, (i + 1) * leafBytes)]));
    });
    const local = await searcher.search(query, { k: 5 }, world.fetch(stored));
    expect(remote.hits.map((hit) => hit.imageId)).toEqual(local.hits.map((hit) => hit.imageId));
    expect(remote.hits[0].imageId).toBe('img-11');
  });

  it('refuses bad requests with a 4xx that names the problem and changes nothing', async () => {
    const leaves = Array.from({ length: L }, (_, i) => i);
    const cases: Array<[unknown, number, RegExp]> = [
      [{ version, leaves: leaves.slice(1) }, 400, new RegExp(`exactly ${L} leaves`)],
      [{ version, leaves: [...leaves.slice(1), 1] }, 400, /distinct/],
      [{ version, leaves: [...leaves.slice(1), world.build.leafCount] }, 400, /leaf numbers must be integers/],
      [{ version, leaves: [...leaves.slice(1), -1] }, 400, /leaves/],
      [{ version, leaves, delivery: 'email' }, 400, /delivery/],
      [{ version, leaves, score: 1 }, 400, /additional|score/],
      [{ leaves }, 400, /version/],
      [{ version: '20200101T000000000Z-000000000001', leaves }, 409, /serves version/],
    ];
    for (const [body, status, message] of cases) {
      await expectRefused(aws, () => asUma(LEAVES, h.leaves, 'vault', body), status, message);
    }
    await expectRefused(aws, () => asUma(LEAVES, h.leaves, 'photos', { version, leaves }), 400, /"sei" index/);
    await expectRefused(aws, () => asUma(LEAVES, h.leaves, 'nothing', { version, leaves }), 404);
    // The other kind's route names the sealed kind's way of searching.
    await expectRefused(aws, () => asUma(SEARCH, h.search, 'vault', { trapdoors: [[1, 2, 3]], k: 1 }), 400, /sealed index is searched by the client/);
  });

  it("refuses another owner's token and a revoked user's (403 at the authorizer)", async () => {
    const leaves = Array.from({ length: L }, (_, i) => i);
    const body = { version, leaves };
    const bobs = await callWithToken(h.authorizer, h.leaves, LEAVES, await bob.token(), { pathParameters: at('vault'), body });
    expect(bobs.statusCode).toBe(403);
    const ownBob = await callWithToken(h.authorizer, h.leaves, LEAVES, await bob.token(), { pathParameters: at('vault', bob), body });
    expect(ownBob.statusCode).toBe(404);
    expect((await call(h.userRevoke, REVOKE, { pathParameters: { ownerId: alice.ownerId, userId: 'uma' }, caller: alice.caller })).statusCode).toBe(200);
    expect((await asUma(LEAVES, h.leaves, 'vault', body)).statusCode).toBe(403);
  });
});
