/**
 * SEI end to end through real HTTP against the local cloud: the owner uploads AES-GCM image
 * envelopes and an encrypted index tree through presigned URLs and publishes it, registers a
 * user; the user searches with a user token (answers equal the in-memory search of the same
 * tree), downloads the result envelopes through presigned GETs and decrypts them to the
 * original bytes; K-anonymous requests; images added and deleted are visible to the next search.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../lib/core/random';
import { decryptImage, encryptImage } from '../../lib/crypto/image-envelope';
import type { ImageKey } from '../../lib/crypto/types';
import { seiIndexParts } from '../../lib/client/index-parts';
import type { Cs1Client } from '../../lib/client/cs1-client';
import { encryptIndexVector } from '../../lib/sei/index-vector';
import { createKAnonymousRequest } from '../../lib/sei/k-anonymity';
import { addImage, deleteImage } from '../../lib/sei/index-tree/update';
import type { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import { registerOwner, startE2eCloud } from '../support/e2e-cloud';
import type { E2eCloud, E2eOwner } from '../support/e2e-cloud';
import { buildSeiCorpus, encryptImages, expectedResults, syntheticImages, userTrapdoors, vectorAt } from '../support/e2e-sei';
import type { SeiCorpus } from '../support/e2e-sei';
import { toImageId, toIndexName } from '../support/ids';

const INDEX = 'photos';
const K = 10;
const PROBES = 4;

describe('SEI end to end: publish, search, download, decrypt, update', () => {
  let e2e: E2eCloud;
  let owner: E2eOwner;
  let corpus: SeiCorpus;
  let images: Map<string, Uint8Array>;
  let imageKey: ImageKey;
  let user: Cs1Client;
  let trapdoors: TrapdoorGenerator;
  let published: string;

  beforeAll(async () => {
    // Users' very next search must see the owner's updates (see E2eCloudOptions).
    e2e = await startE2eCloud('sei', { pointerTtlMs: 0 });
    corpus = buildSeiCorpus({ n: 300, d: 24, seed: 101, build: { maxLeafSize: 32 } });
    images = syntheticImages(corpus.ids, 102);
    owner = await registerOwner(e2e);
    const encrypted = await encryptImages(images);
    imageKey = encrypted.key;
    await owner.client.uploadImages(owner.ownerId, encrypted.envelopes);
    const result = await owner.client.publishIndex(owner.ownerId, toIndexName(INDEX), 'sei', seiIndexParts(corpus.tree));
    published = result.version;
    expect(result.previousVersion).toBeNull();
    user = (await owner.addUser('alice@example.org')).client;
    trapdoors = userTrapdoors(corpus.owner);
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it('describes the published index to the user', async () => {
    const description = await user.getIndex(owner.ownerId, toIndexName(INDEX));
    expect(description).toMatchObject({ indexName: INDEX, version: published, kind: 'sei', previousVersion: null });
    expect(description.summary).toMatchObject({ d: 24, m: 50, ownerKeyId: corpus.owner.keyId, imageCount: 300, leafCount: corpus.tree.leaves.length });
  });

  it("answers a user's searches exactly like the in-memory search of the same tree", async () => {
    for (let q = 0; q < corpus.queries.n; q++) {
      const trapdoor = trapdoors.trapdoor(vectorAt(corpus.queries, q));
      const response = await user.search(owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K, probes: PROBES });
      expect(response.version).toBe(published);
      expect(response.results).toEqual(expectedResults(corpus.tree, [trapdoor], K, PROBES));
      expect(response.results[0].hits).toHaveLength(K);
    }
  });

  it("finds an indexed image first when it is the query, and uses the index's calibrated probes without probes in the request", async () => {
    const trapdoor = trapdoors.trapdoor(vectorAt(corpus.vectors, 17));
    const response = await user.search(owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: 5 });
    expect(response.results[0].hits[0].imageId).toBe('img-17');
    expect(response.results).toEqual(expectedResults(corpus.tree, [trapdoor], 5));
  });

  it('lets the user download the result envelopes and decrypt them to the original images', async () => {
    const trapdoor = trapdoors.trapdoor(vectorAt(corpus.queries, 0));
    const { results } = await user.search(owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K, probes: PROBES });
    const ids = results[0].hits.map((hit) => hit.imageId);
    const downloads = await user.imageDownloads(owner.ownerId, ids);
    expect(downloads.map((d) => d.imageId)).toEqual(ids);
    for (const download of downloads) expect(download.url).toContain(owner.ownerId);
    const envelopes = await user.downloadImages(owner.ownerId, ids);
    for (const { imageId, envelope } of envelopes) {
      const plain = await decryptImage(imageKey, imageId, envelope);
      expect(Buffer.from(plain).equals(Buffer.from(images.get(imageId)!))).toBe(true);
    }
    // An envelope served under another image's id does not decrypt (the id is authenticated).
    await expect(decryptImage(imageKey, ids[1], envelopes[0].envelope)).rejects.toThrow();
  });

  it('answers a K-anonymous request: one list per trapdoor, in order, the real one among them', async () => {
    const query = vectorAt(corpus.queries, 3);
    const request = createKAnonymousRequest((f) => trapdoors.trapdoor(f), query, corpus.vectors, 6, seededRandom(7));
    const response = await user.search(owner.ownerId, toIndexName(INDEX), { trapdoors: request.trapdoors, k: K, probes: PROBES });
    expect(response.results).toHaveLength(6);
    expect(response.results).toEqual(expectedResults(corpus.tree, request.trapdoors, K, PROBES));
    // Only the user knows which list is real; it is the answer to the real query.
    const direct = await user.search(owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoors.trapdoor(query)], k: K, probes: PROBES });
    expect(response.results[request.realIndex].hits.map((h) => h.imageId)).toEqual(direct.results[0].hits.map((h) => h.imageId));
  });

  it('shows an added image to the next search, and a deleted one no more', async () => {
    // The owner encrypts the new image's features and places it with its own trapdoor.
    const ownTrapdoors = userTrapdoors(corpus.owner);
    const feature = vectorAt(corpus.queries, 5);
    const vector = encryptIndexVector(corpus.owner, feature);
    const placement = ownTrapdoors.trapdoor(feature);
    const newImage = new Uint8Array(777).map((_, i) => (i * 31) & 0xff);
    await owner.client.uploadImages(owner.ownerId, [{ imageId: toImageId('new-1'), envelope: await encryptImage(imageKey, 'new-1', newImage) }]);

    const before = await owner.client.getIndex(owner.ownerId, toIndexName(INDEX));
    const added = await owner.client.addImage(owner.ownerId, toIndexName(INDEX), { imageId: toImageId('new-1'), vector, placementTrapdoor: placement });
    expect(added).toMatchObject({ previousVersion: before.version, imageId: 'new-1', imageCount: 301 });
    addImage(corpus.tree, 'new-1', vector, placement);

    const trapdoor = trapdoors.trapdoor(feature);
    const afterAdd = await user.search(owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K, probes: PROBES });
    expect(afterAdd.version).toBe(added.version);
    expect(afterAdd.results[0].hits[0].imageId).toBe('new-1');
    expect(afterAdd.results).toEqual(expectedResults(corpus.tree, [trapdoor], K, PROBES));
    const [downloaded] = await user.downloadImages(owner.ownerId, [toImageId('new-1')]);
    expect(Buffer.from(await decryptImage(imageKey, 'new-1', downloaded.envelope)).equals(Buffer.from(newImage))).toBe(true);

    // Delete the new image and the nearest original one.
    const victim = afterAdd.results[0].hits[1].imageId;
    const deleted = await owner.client.deleteImage(owner.ownerId, toIndexName(INDEX), toImageId('new-1'));
    expect(deleted).toMatchObject({ previousVersion: added.version, imageCount: 300 });
    const deletedAgain = await owner.client.deleteImage(owner.ownerId, toIndexName(INDEX), victim);
    expect(deletedAgain.imageCount).toBe(299);
    deleteImage(corpus.tree, 'new-1');
    deleteImage(corpus.tree, victim);

    const afterDelete = await user.search(owner.ownerId, toIndexName(INDEX), { trapdoors: [trapdoor], k: K, probes: PROBES });
    expect(afterDelete.version).toBe(deletedAgain.version);
    const ids = afterDelete.results[0].hits.map((h) => h.imageId);
    expect(ids).not.toContain('new-1');
    expect(ids).not.toContain(victim);
    expect(afterDelete.results).toEqual(expectedResults(corpus.tree, [trapdoor], K, PROBES));
    expect((await user.getIndex(owner.ownerId, toIndexName(INDEX))).summary).toMatchObject({ imageCount: 299, updates: { added: 1, deleted: 2 } });
  });
});
