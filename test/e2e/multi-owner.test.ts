/**
 * Several owners end to end: two owners with the same index name, overlapping image ids and
 * users of the same name are kept apart in everything: index descriptions, search answers,
 * images, users and revocation, updates, and where their data lies in storage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seiIndexParts } from '../../lib/client/index-parts';
import type { Cs1Client } from '../../lib/client/cs1-client';
import { decryptImage } from '../../lib/crypto/image-envelope';
import type { ImageKey } from '../../lib/crypto/types';
import type { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import { SETTINGS } from '../../lib/config/settings';
import { errorMessageOf, indexPath, rawRequest, registerOwner, startE2eCloud } from '../support/e2e-cloud';
import type { E2eCloud, E2eOwner } from '../support/e2e-cloud';
import { buildSeiCorpus, encryptImages, expectedResults, syntheticImages, userTrapdoors, vectorAt, wire } from '../support/e2e-sei';
import type { SeiCorpus } from '../support/e2e-sei';
import { toImageId, toIndexName, toUserId } from '../support/ids';

const INDEX = 'gallery';
const K = 6;

interface Tenant {
  owner: E2eOwner;
  corpus: SeiCorpus;
  images: Map<string, Uint8Array>;
  imageKey: ImageKey;
  /** The tenant's user "sam" (both owners have one). */
  sam: Cs1Client;
  samToken: string;
  trapdoors: TrapdoorGenerator;
  version: string;
}

describe('several owners end to end: isolated in every respect', () => {
  let e2e: E2eCloud;
  let a: Tenant;
  let b: Tenant;

  async function tenant(seed: number): Promise<Tenant> {
    // Both corpora use the ids img-0 .. img-149 and the same dimension.
    const corpus = buildSeiCorpus({ n: 150, d: 12, seed, build: { maxLeafSize: 32 } });
    const images = syntheticImages(corpus.ids, seed + 1);
    const owner = await registerOwner(e2e);
    const { key, envelopes } = await encryptImages(images);
    await owner.client.uploadImages(owner.ownerId, envelopes);
    const published = await owner.client.publishIndex(owner.ownerId, toIndexName(INDEX), 'sei', seiIndexParts(corpus.tree));
    const sam = await owner.addUser('sam');
    return { owner, corpus, images, imageKey: key, sam: sam.client, samToken: sam.token, trapdoors: userTrapdoors(corpus.owner), version: published.version };
  }

  beforeAll(async () => {
    e2e = await startE2eCloud('owners');
    a = await tenant(501);
    b = await tenant(601);
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it('gives each owner its own id, index and version under the same index name', async () => {
    expect(a.owner.ownerId).not.toBe(b.owner.ownerId);
    const [da, db] = await Promise.all([a.sam.getIndex(a.owner.ownerId, toIndexName(INDEX)), b.sam.getIndex(b.owner.ownerId, toIndexName(INDEX))]);
    expect(da.version).toBe(a.version);
    expect(db.version).toBe(b.version);
    expect(da.summary).toMatchObject({ ownerKeyId: a.corpus.owner.keyId });
    expect(db.summary).toMatchObject({ ownerKeyId: b.corpus.owner.keyId });
  });

  it("answers each owner's users from that owner's index only", async () => {
    for (const t of [a, b]) {
      const trapdoor = t.trapdoors.trapdoor(vectorAt(t.corpus.queries, 0));
      const response = await t.sam.search(t.owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K });
      expect(response.version).toBe(t.version);
      expect(response.results).toEqual(expectedResults(t.corpus.tree, [trapdoor], K));
    }
  });

  it("refuses a user of one owner at the other owner's index, even with the same user id", async () => {
    const trapdoor = wire(a.trapdoors.trapdoor(vectorAt(a.corpus.queries, 1)));
    for (const [token, other] of [
      [a.samToken, b],
      [b.samToken, a],
      [a.owner.ownerToken, b],
    ] as const) {
      const search = await rawRequest(e2e.url, `${indexPath(other.owner.ownerId, INDEX)}/search`, { token, body: { trapdoors: [trapdoor], k: K } });
      expect(search.status).toBe(403);
      expect(errorMessageOf(search)).toMatch(/another owner/);
      const download = await rawRequest(e2e.url, `/v1/owners/${other.owner.ownerId}/images/downloads`, { token, body: { imageIds: ['img-0'] } });
      expect(download.status).toBe(403);
    }
  });

  it("hands out each owner's own envelope for the same image id", async () => {
    const [fromA] = await a.sam.downloadImages(a.owner.ownerId, [toImageId('img-0')]);
    const [fromB] = await b.sam.downloadImages(b.owner.ownerId, [toImageId('img-0')]);
    expect(Buffer.from(await decryptImage(a.imageKey, 'img-0', fromA.envelope)).equals(Buffer.from(a.images.get('img-0')!))).toBe(true);
    expect(Buffer.from(await decryptImage(b.imageKey, 'img-0', fromB.envelope)).equals(Buffer.from(b.images.get('img-0')!))).toBe(true);
    // Neither owner's key opens the other's envelope.
    await expect(decryptImage(a.imageKey, 'img-0', fromB.envelope)).rejects.toThrow();
  });

  it("keeps revocation per owner: revoking A's sam leaves B's sam in", async () => {
    await a.owner.client.revokeUser(a.owner.ownerId, toUserId('sam'));
    try {
      const trapdoor = wire(a.trapdoors.trapdoor(vectorAt(a.corpus.queries, 2)));
      expect((await rawRequest(e2e.url, `${indexPath(a.owner.ownerId, INDEX)}/search`, { token: a.samToken, body: { trapdoors: [trapdoor], k: K } })).status).toBe(403);
      const bTrapdoor = b.trapdoors.trapdoor(vectorAt(b.corpus.queries, 2));
      expect((await b.sam.search(b.owner.ownerId, toIndexName(INDEX), { trapdoors: [bTrapdoor], k: K })).version).toBe(b.version);
      // Owner B cannot revoke (or re-add) A's users.
      const revoke = await rawRequest(e2e.url, `/v1/owners/${a.owner.ownerId}/users/sam`, { token: b.owner.ownerToken, method: 'PUT' });
      expect(revoke.status).toBe(403);
    } finally {
      // Re-activated, sam needs a new token: the one from before the revocation stays refused.
      const again = await a.owner.addUser('sam');
      a = { ...a, sam: again.client, samToken: again.token };
    }
    const trapdoor = wire(a.trapdoors.trapdoor(vectorAt(a.corpus.queries, 2)));
    expect((await rawRequest(e2e.url, `${indexPath(a.owner.ownerId, INDEX)}/search`, { token: a.samToken, body: { trapdoors: [trapdoor], k: K } })).status).toBe(200);
  });

  it("changes only the owner's own index when it deletes an image", async () => {
    const before = await b.sam.getIndex(b.owner.ownerId, toIndexName(INDEX));
    const deleted = await a.owner.client.deleteImage(a.owner.ownerId, toIndexName(INDEX), toImageId('img-3'));
    expect(deleted.imageCount).toBe(149);
    expect(await b.sam.getIndex(b.owner.ownerId, toIndexName(INDEX))).toEqual(before);
    const trapdoor = b.trapdoors.trapdoor(vectorAt(b.corpus.vectors, 3));
    const { results } = await b.sam.search(b.owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K });
    expect(results[0].hits[0].imageId).toBe('img-3');
  });

  it("shows an owner's update to the owner at once, and to its users within the pointer TTL, never mixed", async () => {
    // Default settings: a warm search function may reuse an index's pointer for up to
    // BLINDSIGHT_POINTER_TTL_MS's default; owners always read it.
    const trapdoor = a.trapdoors.trapdoor(vectorAt(a.corpus.vectors, 5));
    const before = await a.sam.search(a.owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K });
    // Every pointer a search function holds from before the update was read before this.
    const lastOldRead = Date.now();
    expect(before.results[0].hits[0].imageId).toBe('img-5');
    const deleted = await a.owner.client.deleteImage(a.owner.ownerId, toIndexName(INDEX), toImageId('img-5'));
    const own = await a.owner.client.search(a.owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K });
    expect(own.version).toBe(deleted.version);
    expect(own.results[0].hits.map((hit) => hit.imageId)).not.toContain('img-5');

    // Until the TTL has passed a user may see either version, but always a whole one; a search
    // that starts later must see the update. (Counted from the requests, not from a guess at
    // how long they take: on a loaded machine one search can outlast the TTL.)
    for (;;) {
      const startedAt = Date.now();
      const response = await a.sam.search(a.owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K });
      expect(response.results).toEqual(response.version === before.version ? before.results : own.results);
      if (startedAt > lastOldRead + SETTINGS.pointerTtlMs.default) {
        expect(response.version).toBe(deleted.version);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it("keeps each owner's data under its own prefix in storage", async () => {
    const { objects, items } = await e2e.snapshot();
    const owners = [a.owner.ownerId, b.owner.ownerId];
    for (const object of objects) {
      const [key] = object.split(' ');
      expect(owners.some((id) => key.startsWith(`owners/${id}/`)), key).toBe(true);
    }
    for (const id of owners) {
      expect(objects.filter((o) => o.startsWith(`owners/${id}/images/`))).toHaveLength(150);
      expect(objects.some((o) => o.startsWith(`owners/${id}/indexes/${INDEX}/`))).toBe(true);
    }
    for (const item of items) {
      const pk = (JSON.parse(item) as { pk: { S: string } }).pk.S;
      expect(owners.some((id) => pk.includes(id)), pk).toBe(true);
    }
  });
});
