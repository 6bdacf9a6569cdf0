/**
 * The typed client against the real local cloud (both accounts as child processes, random
 * ports, a temporary data folder): every route through real HTTP, the presigned transfers,
 * and the errors a caller meets, each typed with the server's status, code and message.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { issueToken } from '../../../lib/auth/tokens';
import type { OwnerSigningKey } from '../../../lib/auth/types';
import { Cs1Client } from '../../../lib/client/cs1-client';
import { ServiceError, ServiceUnreachableError } from '../../../lib/client/errors';
import { IndexVerifier } from '../../../lib/client/index-verifier';
import { publishSealedIndex, SealedIndexReader } from '../../../lib/client/sealed';
import { IntegrityError } from '../../../lib/core/errors';
import { sealedWorld } from '../../support/sealed-fixture';
import { seiIndexParts, twoServerIndexParts } from '../../../lib/client/index-parts';
import type { SealedIndexSummary, TwoServerIndexSummary } from '../../../lib/client/types';
import { seededRandom } from '../../../lib/core/random';
import { createHeBackend } from '../../../lib/he';
import { row } from '../../../lib/linalg/vectors';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { CS1_AUDIENCE } from '../../../lib/service/accounts/token-authorizer';
import { FileSecretStore } from '../../../lib/storage/file-secret-store';
import { buildPlainIndex, encryptIndex, IdentificationClient } from '../../../lib/twoserver/protocol';
import { syntheticTemplates } from '../../../scripts/bench/synthetic/templates';
import type { LocalCloud } from '../../../scripts/local-cloud/cloud';
import { startLocalCloud } from '../../../scripts/local-cloud/cloud';
import { dataLayout } from '../../../scripts/local-cloud/layout';
import { plaintextNearest, seiWorld } from '../../support/sei-fixture';
import { toImageId, toIndexName, toOwnerId, toUserId } from '../../support/ids';

describe('Cs1Client against the local cloud', () => {
  let dataDir: string;
  let cloud: LocalCloud;
  let signing: OwnerSigningKey;
  let ownerId: string;
  let owner: Cs1Client;
  let ownerToken: string;
  // The two-server index of the identify test, published again signed by the next test.
  let faceParts: Record<string, Uint8Array> | undefined;
  let faceTemplates: Parameters<typeof row>[0] | undefined;
  const world = seiWorld(150, 8, 41, { maxLeafSize: 24 });

  const userToken = (userId: string) =>
    issueToken(signing.privateJwk, { ownerId, role: 'user', userId, expiresInSeconds: 3600, audience: CS1_AUDIENCE });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'client-cloud-'));
    cloud = await startLocalCloud({ dataDir, onLog: () => {} });
    signing = await generateOwnerSigningKey();
    ownerId = await ownerIdOf(signing.publicJwk);
    ownerToken = await issueToken(signing.privateJwk, { ownerId, role: 'owner', expiresInSeconds: 3600, audience: CS1_AUDIENCE });
    owner = new Cs1Client({ endpoint: cloud.cs1Url, token: ownerToken });
  });

  afterAll(async () => {
    await cloud?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('registers an owner idempotently', async () => {
    const anonymous = new Cs1Client({ endpoint: cloud.cs1Url });
    const first = await anonymous.registerOwner(signing.publicJwk);
    expect(first).toMatchObject({ ownerId, created: true });
    await expect(anonymous.registerOwner(signing.publicJwk)).resolves.toMatchObject({ ownerId, created: false });
  });

  it('uploads and downloads more envelopes than one URL request holds, byte for byte', async () => {
    const random = seededRandom(3);
    const images = Array.from({ length: 130 }, (_, i) => ({
      imageId: toImageId(`blob-${i}`),
      envelope: Uint8Array.from({ length: 1 + (i % 17) * 31 }, () => random.int(256)),
    }));
    const progress: number[] = [];
    await owner.uploadImages(toOwnerId(ownerId), images, { onProgress: ({ done }) => progress.push(done) });
    expect(progress.at(-1)).toBe(130);
    const wanted = [toImageId('blob-129'), toImageId('blob-0'), ...images.slice(1, 110).map((i) => i.imageId)];
    const back = await owner.downloadImages(toOwnerId(ownerId), wanted);
    expect(back.map((b) => b.imageId)).toEqual(wanted);
    const byId = new Map(images.map((i) => [i.imageId, i.envelope]));
    for (const { imageId, envelope } of back) expect(Buffer.from(envelope).equals(Buffer.from(byId.get(imageId)!))).toBe(true);
  });

  it('names unknown images in a 404', async () => {
    const error = (await owner.imageDownloads(toOwnerId(ownerId), [toImageId('blob-1'), toImageId('nope')]).catch((e: unknown) => e)) as ServiceError;
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(error.message).toBe('no image with id "nope": upload it first');
  });

  it('publishes an SEI index atomically and searches it as a user', async () => {
    expect(await owner.findIndex(toOwnerId(ownerId), toIndexName('main'))).toBeUndefined();
    const published = await owner.publishIndex(toOwnerId(ownerId), toIndexName('main'), 'sei', seiIndexParts(world.tree));
    expect(published.previousVersion).toBeNull();
    const description = await owner.getIndex(toOwnerId(ownerId), toIndexName('main'));
    expect(description).toMatchObject({ version: published.version, kind: 'sei', summary: { d: 8, imageCount: 150 } });

    await owner.putUser(toOwnerId(ownerId), toUserId('alice'));
    const alice = owner.withToken(await userToken('alice'));
    const query = row(world.vectors, 7);
    const { results, version } = await alice.search(toOwnerId(ownerId), toIndexName('main'), { trapdoors: [world.generator.trapdoor(query)], k: 5, probes: 64 });
    expect(version).toBe(published.version);
    expect(results[0].hits.map((h) => h.imageId)).toEqual(plaintextNearest(world.vectors, query, 5));
  });

  it('refuses a stale publish with 409 and keeps the serving version', async () => {
    const before = await owner.getIndex(toOwnerId(ownerId), toIndexName('main'));
    const error = await owner.publishIndex(toOwnerId(ownerId), toIndexName('main'), 'sei', seiIndexParts(world.tree), { expectedCurrent: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect(error).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect((error as Error).message).toMatch(/serves version/);
    expect((await owner.getIndex(toOwnerId(ownerId), toIndexName('main'))).version).toBe(before.version);
  });

  it('adds and deletes images through the service', async () => {
    const f = row(world.vectors, 3);
    const added = await owner.addImage(toOwnerId(ownerId), toIndexName('main'), {
      imageId: toImageId('img-new'),
      vector: encryptIndexVector(world.owner, f),
      placementTrapdoor: world.generator.trapdoor(f),
    });
    expect(added.imageCount).toBe(151);
    const again = await owner.addImage(toOwnerId(ownerId), toIndexName('main'), { imageId: toImageId('img-new'), vector: encryptIndexVector(world.owner, f), placementTrapdoor: world.generator.trapdoor(f) }).catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 409, code: 'CONFLICT' });
    const { results } = await owner.search(toOwnerId(ownerId), toIndexName('main'), { trapdoors: [world.generator.trapdoor(f)], k: 2, probes: 64 });
    expect(results[0].hits.map((h) => h.imageId).sort()).toEqual(['img-3', 'img-new']);
    const deleted = await owner.deleteImage(toOwnerId(ownerId), toIndexName('main'), toImageId('img-new'));
    expect(deleted.imageCount).toBe(150);
    await expect(owner.deleteImage(toOwnerId(ownerId), toIndexName('main'), toImageId('img-new'))).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it("passes the server's validation message through", async () => {
    const error = await owner.search(toOwnerId(ownerId), toIndexName('main'), { trapdoors: [[1, 2, 3]], k: 5 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    expect((error as Error).message).toMatch(/trapdoors\[0\]/);
  });

  it('refuses a revoked user on its next request, and user tokens for owner routes', async () => {
    await owner.putUser(toOwnerId(ownerId), toUserId('bob'));
    const bob = owner.withToken(await userToken('bob'));
    await expect(bob.getIndex(toOwnerId(ownerId), toIndexName('main'))).resolves.toMatchObject({ kind: 'sei' });
    await expect(bob.putUser(toOwnerId(ownerId), toUserId('mallory'))).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const revoked = await owner.revokeUser(toOwnerId(ownerId), toUserId('bob'));
    expect(revoked.status).toBe('revoked');
    const error = (await bob.getIndex(toOwnerId(ownerId), toIndexName('main')).catch((e: unknown) => e)) as ServiceError;
    expect(error).toMatchObject({ status: 403, code: 'FORBIDDEN', serverCode: undefined });
    expect(error.message).toMatch(/revoked/);
  });

  it('identifies through CS1 and CS2 with a two-server index', async () => {
    const d = 16;
    const templates = syntheticTemplates(40, d, { kind: 'clustered', seed: 5, clusters: 4, spread: 0.2 });
    const ids = Array.from({ length: 40 }, (_, i) => `t-${i}`);
    const he = await createHeBackend('bfv', { d, maxAbs: 999 });
    let output;
    try {
      output = encryptIndex(he, templates, buildPlainIndex(templates, { partitions: 4, eps: 8, random: seededRandom(6) }), ids);
    } finally {
      he.dispose();
    }
    await new FileSecretStore(dataLayout(dataDir).keyDir).put(output.cs1Index.keyId, output.secretMaterial);
    faceParts = twoServerIndexParts(output);
    faceTemplates = templates;
    await owner.publishIndex(toOwnerId(ownerId), toIndexName('faces'), 'two-server', faceParts);

    const description = await owner.getIndex<TwoServerIndexSummary>(toOwnerId(ownerId), toIndexName('faces'));
    const material = await owner.downloadPublicMaterial(description);
    const client = await IdentificationClient.load(material);
    const query = client.encryptRequest(row(templates, 11));
    client.dispose();
    const response = await owner.identify(toOwnerId(ownerId), toIndexName('faces'), { query, k: 2 });
    expect(response.templateIds[0]).toBe('t-11');
    expect(response.templateIds).toHaveLength(2);
    // Identify answers ids only: no distance or other number derived from the templates.
    expect(Object.keys(response).sort()).toEqual(['templateIds', 'version']);
    await expect(owner.identify(toOwnerId(ownerId), toIndexName('main'), { query, k: 1 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/identify works on two-server indexes/) });
  });

  it('signs every publish with the owner key; a verifying user checks every kind it reads and refuses an unsigned version', async () => {
    const signer = new Cs1Client({ endpoint: cloud.cs1Url, token: ownerToken, signingKey: signing.privateJwk });
    await owner.putUser(toOwnerId(ownerId), toUserId('carol'));
    const carol = new Cs1Client({ endpoint: cloud.cs1Url, token: await userToken('carol'), verifier: new IndexVerifier() });

    // SEI: search answers come with the signed manifest of the version searched.
    const sei = await signer.publishIndex(toOwnerId(ownerId), toIndexName('signed-sei'), 'sei', seiIndexParts(world.tree));
    const query = row(world.vectors, 9);
    const searched = await carol.search(toOwnerId(ownerId), toIndexName('signed-sei'), { trapdoors: [world.generator.trapdoor(query)], k: 3, probes: 64 });
    expect(searched.version).toBe(sei.version);
    expect(searched.results[0].hits.map((h) => h.imageId)).toEqual(plaintextNearest(world.vectors, query, 3));
    // 'main' was published without a signature (and updated): refused, naming it.
    const unsigned = await carol.search(toOwnerId(ownerId), toIndexName('main'), { trapdoors: [world.generator.trapdoor(query)], k: 3 }).catch((e: unknown) => e);
    expect(unsigned).toBeInstanceOf(IntegrityError);
    expect((unsigned as Error).message).toMatch(/^CS1 sent no owner-signed manifest with index "main" version "/);

    // Sealed: the reader's description, routing data and leaves.
    const sealed = await sealedWorld(300, 8, 3);
    await publishSealedIndex(signer, toOwnerId(ownerId), toIndexName('signed-sealed'), sealed.build, sealed.key);
    const reader = new SealedIndexReader(carol, toOwnerId(ownerId), toIndexName('signed-sealed'), sealed.key);
    const found = await reader.search(row(sealed.vectors, 4), { k: 1 });
    expect(found.hits[0].imageId).toBe('img-4');

    // Two-server: the description, the public material and the identification.
    const faces = await owner.getIndex<TwoServerIndexSummary>(toOwnerId(ownerId), toIndexName('faces'));
    const material = await owner.downloadPublicMaterial(faces);
    await signer.publishIndex(toOwnerId(ownerId), toIndexName('signed-faces'), 'two-server', faceParts!);
    const description = await carol.getIndex<TwoServerIndexSummary>(toOwnerId(ownerId), toIndexName('signed-faces'));
    expect(await carol.downloadPublicMaterial(description)).toEqual(material);
    const client = await IdentificationClient.load(material);
    const identified = await carol.identify(toOwnerId(ownerId), toIndexName('signed-faces'), { query: client.encryptRequest(row(faceTemplates!, 11)), k: 1 });
    client.dispose();
    expect(identified.templateIds[0]).toBe('t-11');
    expect(identified.provenance?.manifest).toBeDefined();
    await expect(carol.identify(toOwnerId(ownerId), toIndexName('faces'), { query: new Uint8Array(description.summary.queryBytes), k: 1 })).rejects.toThrow(/CS1 sent no owner-signed manifest|query/);
  });

  it('reads sealed leaves as raw bytes, as base64 JSON where the API sends no binary, and as ranged GETs: the same bytes', async () => {
    const seen: string[] = [];
    const recording = (accept?: string) => async (input: string | URL | Request, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      if (accept !== undefined && headers.has('accept')) headers.set('accept', accept);
      const response = await fetch(input, { ...init, headers });
      if (String(input).endsWith('/leaves')) seen.push(response.headers.get('content-type') ?? '');
      return response;
    };
    const description = await owner.getIndex<SealedIndexSummary>(toOwnerId(ownerId), toIndexName('signed-sealed'));
    const { leavesPerQuery, leafCount, leafBytes } = description.summary;
    const request = { version: description.version, leaves: Array.from({ length: leavesPerQuery }, (_, i) => leafCount - 1 - i) };
    const binary = await new Cs1Client({ endpoint: cloud.cs1Url, token: ownerToken, fetch: recording() }).sealedLeaves(toOwnerId(ownerId), toIndexName('signed-sealed'), request);
    // An API without binary media types answers JSON to a client that asks JSON first.
    const json = await new Cs1Client({ endpoint: cloud.cs1Url, token: ownerToken, fetch: recording('application/json') }).sealedLeaves(toOwnerId(ownerId), toIndexName('signed-sealed'), request);
    const ranged = await owner.sealedLeaves(toOwnerId(ownerId), toIndexName('signed-sealed'), { ...request, delivery: 'urls' });
    expect(seen).toEqual(['application/octet-stream', 'application/json']);
    expect([...binary.keys()]).toEqual(request.leaves);
    for (const leaf of request.leaves) {
      expect(binary.get(leaf)).toHaveLength(leafBytes);
      expect(json.get(leaf)).toEqual(binary.get(leaf));
      expect(ranged.get(leaf)).toEqual(binary.get(leaf));
    }
  });

  it('says the cloud is not running when nothing listens', async () => {
    // A port that was just free: nothing listens there any more.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = new Cs1Client({ endpoint: `http://127.0.0.1:${port}`, token: 't', retry: { attempts: 2, baseDelayMs: 1 } });
    const error = await client.getIndex(toOwnerId(ownerId), toIndexName('main')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect((error as Error).message).toBe(`cannot reach http://127.0.0.1:${port}: ECONNREFUSED; is the local cloud running? (npm start)`);
  });
});
