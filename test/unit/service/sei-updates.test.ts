import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, NotFoundError } from '../../../lib/core/errors';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { generateOwnerSecret } from '../../../lib/sei/owner-key';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import type { EncryptedIndexTree } from '../../../lib/sei/index-tree/types';
import { addImage, deleteImage, rebuildAdvice } from '../../../lib/sei/index-tree/update';
import { decodeSeiLocations, LEAF_LOCATIONS_BLOB } from '../../../lib/service/sei/sei-locations';
import { RACE_MESSAGE } from '../../../lib/service/sei/sei-updates';
import { indexPartObjectKey } from '../../../lib/storage/object-keys';
import { indexVersionPrefix } from '../../support/storage';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { row, seiWorld } from '../../support/sei-fixture';
import { cloneTree, OWNER_A, publishTree, serviceWorld } from './support';
import type { ServiceWorld } from './support';
import { toImageId, toIndexName, toOwnerId } from '../../support/ids';

describe('copy-on-write image updates of a published SEI index', () => {
  let aws: LocalAws;
  let world: ServiceWorld;
  const sei = seiWorld(400, 6, 16, { maxLeafSize: 16 });

  beforeAll(async () => {
    aws = await startLocalAws();
    world = serviceWorld(aws);
  });
  afterAll(() => aws?.stop());

  const near = (i: number, shift = 1e-3) => Float64Array.from(row(sei.vectors, i), (v) => v + shift);
  const addRequest = (imageId: string, f: Float64Array) => ({
    imageId,
    vector: Array.from(encryptIndexVector(sei.owner, f)),
    placementTrapdoor: Array.from(sei.generator.trapdoor(f)),
  });
  const expectSameAnswers = async (index: string, tree: EncryptedIndexTree, queries: Float64Array[]) => {
    const trapdoors = queries.map((f) => sei.generator.trapdoor(f));
    const response = await world.services.search.search(toOwnerId(OWNER_A), toIndexName(index), { trapdoors: trapdoors.map((t) => Array.from(t)), k: 12, probes: 3 });
    response.results.forEach((result, i) => {
      const expected = searchIndexTree(tree, trapdoors[i], { k: 12, probes: 3 }).hits.map((h) => ({ imageId: h.id, score: h.score }));
      expect(result.hits).toEqual(expected);
    });
    return response;
  };

  it('adds and deletes images as new versions the next search sees, exactly like the in-memory update', async () => {
    const v1 = await publishTree(world.services, OWNER_A, 'live', sei.tree);
    const mirror = cloneTree(sei.tree);
    const f = near(10);
    const request = addRequest('fresh-1', f);

    world.objects.reset();
    const added = await world.services.updates.addImage(toOwnerId(OWNER_A), toIndexName('live'), request);
    const placed = addImage(mirror, 'fresh-1', Float64Array.from(request.vector), Float64Array.from(request.placementTrapdoor));
    expect(added).toMatchObject({ previousVersion: v1, imageId: 'fresh-1', leaf: placed.leaf, imageCount: 401, rebuildAdvice: rebuildAdvice(mirror) });
    expect((await world.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName('live')))?.version).toBe(added.version);

    // Copy-on-write: three new objects (the changed leaf, one directory shard and the skeleton
    // with its new leaf directory), nothing else written, and only that leaf and that shard read.
    const puts = world.objects.of('put').map((p) => p.key);
    expect(puts.sort()).toEqual(
      [
        indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('live'), added.version, `leaf-${placed.leaf}`),
        expect.stringMatching(/\/directory-shard-\d+$/),
        indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('live'), added.version, 'skeleton'),
      ].sort(),
    );
    expect(puts.every((key) => key.startsWith(indexVersionPrefix(toOwnerId(OWNER_A), toIndexName('live'), added.version)))).toBe(true);
    // (Besides the base version's skeleton object, when this process loads that version.)
    expect(world.objects.of('getRange').filter((read) => !read.key.endsWith('/skeleton'))).toHaveLength(2);

    const stored = await world.stores.indexes.getVersion(toOwnerId(OWNER_A), toIndexName('live'), added.version);
    const table = decodeSeiLocations(await stored!.readBlob(LEAF_LOCATIONS_BLOB));
    table.leaves.forEach((block, leaf) => {
      const ref = table.objects[block.object];
      expect(ref).toEqual(leaf === placed.leaf ? { version: added.version, part: `leaf-${leaf}` } : { version: v1, part: 'leaves' });
    });
    expect(stored!.metadata).toMatchObject({ imageCount: 401, derivedFrom: { version: v1, operation: 'add', imageId: 'fresh-1', leaf: placed.leaf } });
    // The version published from the build stays what clients see: an update is no rebuild.
    expect((await world.services.versions.describe(toOwnerId(OWNER_A), toIndexName('live'))).summary).toMatchObject({ imageCount: 401, publishedFrom: v1 });

    const answer = await expectSameAnswers('live', mirror, [f, near(200), near(399)]);
    expect(answer.version).toBe(added.version);
    expect(answer.results[0].hits[0].imageId).toBe('fresh-1');

    // Delete one original image and the new one.
    const deleted = await world.services.updates.deleteImage(toOwnerId(OWNER_A), toIndexName('live'), toImageId('img-200'));
    deleteImage(mirror, 'img-200');
    expect(deleted).toMatchObject({ previousVersion: added.version, imageCount: 400, rebuildAdvice: rebuildAdvice(mirror) });
    await world.services.updates.deleteImage(toOwnerId(OWNER_A), toIndexName('live'), toImageId('fresh-1'));
    deleteImage(mirror, 'fresh-1');
    const after = await expectSameAnswers('live', mirror, [f, near(200), near(399)]);
    expect(after.results.flatMap((r) => r.hits.map((h) => h.imageId))).not.toContain('img-200');
    expect(after.results.flatMap((r) => r.hits.map((h) => h.imageId))).not.toContain('fresh-1');

    // A fresh process (empty cache) reads the same chain of versions back from storage.
    const cold = serviceWorld(aws);
    const trapdoor = sei.generator.trapdoor(near(399));
    const coldAnswer = await cold.services.search.search(toOwnerId(OWNER_A), toIndexName('live'), { trapdoors: [Array.from(trapdoor)], k: 12, probes: 3 });
    expect(coldAnswer.version).toBe(after.version);
    expect(coldAnswer.results[0].hits).toEqual(searchIndexTree(mirror, trapdoor, { k: 12, probes: 3 }).hits.map((h) => ({ imageId: h.id, score: h.score })));
  });

  it('refuses duplicates, unknown ids and bad vectors, changing nothing', async () => {
    const v1 = await publishTree(world.services, OWNER_A, 'strict', sei.tree);
    const versionsBefore = (await world.stores.indexes.listVersions(toOwnerId(OWNER_A), toIndexName('strict'))).length;
    world.objects.reset();
    const { updates } = world.services;
    await expect(updates.addImage(toOwnerId(OWNER_A), toIndexName('strict'), addRequest('img-5', near(5)))).rejects.toThrow(
      new ConflictError('image "img-5" is already in the index; delete it first'),
    );
    await expect(updates.deleteImage(toOwnerId(OWNER_A), toIndexName('strict'), toImageId('nope'))).rejects.toThrow(new NotFoundError('image "nope" is not in index "strict"'));
    const good = addRequest('new-1', near(1));
    await expect(updates.addImage(toOwnerId(OWNER_A), toIndexName('strict'), { ...good, vector: good.vector.slice(1) })).rejects.toThrow(
      new InvalidInputError('vector has 13 entries, this index needs 14'),
    );
    const nan = [...good.placementTrapdoor];
    nan[4] = Number.NaN;
    await expect(updates.addImage(toOwnerId(OWNER_A), toIndexName('strict'), { ...good, placementTrapdoor: nan })).rejects.toThrow('placementTrapdoor[4] is not a finite number');
    await expect(updates.addImage(toOwnerId(OWNER_A), toIndexName('strict'), { ...good, imageId: 'has space' })).rejects.toThrow(/image id "has space" is invalid/);
    // A vector encrypted under another owner key cannot lie on this index's subspace.
    const foreign = Array.from(encryptIndexVector(generateOwnerSecret(6), near(1)));
    await expect(updates.addImage(toOwnerId(OWNER_A), toIndexName('strict'), { ...good, vector: foreign })).rejects.toThrow(
      new InvalidInputError('vector was not encrypted with the owner key of this index'),
    );
    await expect(updates.addImage(toOwnerId(OWNER_A), toIndexName('missing'), good)).rejects.toThrow(NotFoundError);
    expect(world.objects.of('put')).toHaveLength(0);
    expect((await world.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName('strict')))?.version).toBe(v1);
    expect(await world.stores.indexes.listVersions(toOwnerId(OWNER_A), toIndexName('strict'))).toHaveLength(versionsBefore);
  });

  it('of two concurrent updates of the same version one wins; the other gets 409 and leaves nothing behind', async () => {
    const v1 = await publishTree(world.services, OWNER_A, 'contended', sei.tree);
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    world.catalog.beforePublish = async () => {
      if (++arrived === 2) open();
      await gate;
    };
    world.objects.reset();
    let outcomes: PromiseSettledResult<{ version: string }>[];
    try {
      outcomes = await Promise.allSettled([
        world.services.updates.addImage(toOwnerId(OWNER_A), toIndexName('contended'), addRequest('race-a', near(20))),
        world.services.updates.addImage(toOwnerId(OWNER_A), toIndexName('contended'), addRequest('race-b', near(300))),
      ]);
    } finally {
      world.catalog.beforePublish = undefined;
    }
    const won = outcomes.filter((o): o is PromiseFulfilledResult<{ version: string }> => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toEqual(new ConflictError(RACE_MESSAGE));

    const current = await world.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName('contended'));
    expect(current).toMatchObject({ version: won[0].value.version, previousVersion: v1 });
    // The loser's version is gone from the catalog and its objects from S3.
    const versions = (await world.stores.indexes.listVersions(toOwnerId(OWNER_A), toIndexName('contended'))).map((v) => v.version);
    expect(versions.sort()).toEqual([v1, won[0].value.version].sort());
    const loserKeys = world.objects.of('put').map((p) => p.key).filter((key) => !key.includes(won[0].value.version));
    expect(loserKeys).toHaveLength(3);
    for (const key of loserKeys) expect(await world.stores.objects.head(key)).toBeUndefined();
  });

  it('an update whose publish fails leaves the index as it was', async () => {
    const v1 = await publishTree(world.services, OWNER_A, 'failing', sei.tree);
    world.catalog.failPublish = () => new Error('DynamoDB unavailable');
    try {
      await expect(world.services.updates.deleteImage(toOwnerId(OWNER_A), toIndexName('failing'), toImageId('img-9'))).rejects.toThrow('DynamoDB unavailable');
    } finally {
      world.catalog.failPublish = undefined;
    }
    expect((await world.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName('failing')))?.version).toBe(v1);
    expect((await world.stores.indexes.listVersions(toOwnerId(OWNER_A), toIndexName('failing'))).map((v) => v.version)).toEqual([v1]);
    // The image is still there, and can be deleted once storage is back.
    await expectSameAnswers('failing', sei.tree, [near(9)]);
    await world.services.updates.deleteImage(toOwnerId(OWNER_A), toIndexName('failing'), toImageId('img-9'));
  });
});
