/**
 * Published versions are immutable in fact: upload URLs cannot reach what serves, and every
 * byte a search reads is checked against the digests fixed at publish.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEARCH_K, MAX_SEARCH_PROBES } from '../../../lib/api/limits';
import { IntegrityError } from '../../../lib/core/errors';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import type { EncryptedIndexTree } from '../../../lib/sei/index-tree/types';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { indexPartObjectKey, indexPartUploadKey } from '../../../lib/storage/object-keys';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { row, seiWorld } from '../../support/sei-fixture';
import { cloneTree, OWNER_A, publishTree, putPresigned, serviceWorld } from './support';
import { toImageId, toIndexName, toOwnerId, toVersionId } from '../../support/ids';

/** The same tree with one coordinate of one stored vector changed: well formed, same length. */
function craftedLeaves(tree: EncryptedIndexTree): Uint8Array {
  const crafted = cloneTree(tree);
  crafted.leaves[0].vectors[0] += 1;
  const leaves = seiUploadParts(crafted).parts.leaves;
  expect(leaves.length).toBe(seiUploadParts(tree).parts.leaves.length);
  return leaves;
}

describe('published index versions cannot be changed', () => {
  let aws: LocalAws;
  const world = seiWorld(400, 6, 16, { maxLeafSize: 16 });
  const trapdoor = world.generator.trapdoor(row(world.vectors, 0));
  // Every leaf is visited (probes at the limit, more than the tree has leaves).
  const request = { trapdoors: [Array.from(trapdoor)], k: MAX_SEARCH_K, probes: MAX_SEARCH_PROBES };
  const reference = searchIndexTree(world.tree, trapdoor, { k: MAX_SEARCH_K, probes: MAX_SEARCH_PROBES }).hits.map((hit) => ({ imageId: hit.id, score: hit.score }));

  beforeAll(async () => {
    expect(world.tree.leaves.length).toBeLessThanOrEqual(MAX_SEARCH_PROBES);
    aws = await startLocalAws();
  });
  afterAll(() => aws?.stop());

  it('a part re-uploaded through the old upload URL after publish never reaches a search', async () => {
    const { services, stores } = serviceWorld(aws);
    const parts = seiUploadParts(world.tree).parts;
    const sizes = Object.fromEntries(Object.entries(parts).map(([name, bytes]) => [name, bytes.length]));
    const created = await services.versions.createVersion(toOwnerId(OWNER_A), toIndexName('reupload'), { kind: 'sei', parts: sizes });
    for (const [name, bytes] of Object.entries(parts)) await putPresigned(created.uploads[name], bytes);
    await services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('reupload'), created.version, null);
    // The uploads are gone once published; what serves lives under keys no URL names.
    expect(await stores.objects.head(indexPartUploadKey(toOwnerId(OWNER_A), toIndexName('reupload'), created.version, 'leaves'))).toBeUndefined();
    expect(created.uploads.leaves.url).not.toContain(indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('reupload'), created.version, 'leaves'));

    // The attack: a crafted, well-formed part of the same length through the still-valid URL.
    await putPresigned(created.uploads.leaves, craftedLeaves(world.tree));
    // A fresh process (nothing cached) searches the published bytes, unchanged.
    const fresh = serviceWorld(aws);
    const response = await fresh.services.search.search(toOwnerId(OWNER_A), toIndexName('reupload'), request);
    expect(response.results[0].hits).toEqual(reference);
  });

  it('refuses to search a served part changed after publish, with a clear error and no result', async () => {
    const { services, stores } = serviceWorld(aws);
    const parts = seiUploadParts(world.tree).parts;
    const sizes = Object.fromEntries(Object.entries(parts).map(([name, bytes]) => [name, bytes.length]));
    const created = await services.versions.createVersion(toOwnerId(OWNER_A), toIndexName('tampered'), { kind: 'sei', parts: sizes });
    for (const [name, bytes] of Object.entries(parts)) await putPresigned(created.uploads[name], bytes);
    await services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('tampered'), created.version, null);

    // Someone with write access to the bucket replaces the served leaves (same length, well formed).
    await stores.objects.put(indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('tampered'), created.version, 'leaves'), craftedLeaves(world.tree));
    const fresh = serviceWorld(aws);
    const error = await fresh.services.search.search(toOwnerId(OWNER_A), toIndexName('tampered'), request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error).toMatchObject({ code: 'INTEGRITY_FAILED' });
    expect((error as Error).message).toMatch(
      new RegExp(`^index "tampered" version "${created.version}" object "leaves": bytes \\d+-\\d+ do not match the digest fixed at publish .* the owner must publish the index again$`),
    );
  });

  it('checks the blocks an update wrote like the published ones', async () => {
    const { services, stores } = serviceWorld(aws);
    const parts = seiUploadParts(world.tree).parts;
    const sizes = Object.fromEntries(Object.entries(parts).map(([name, bytes]) => [name, bytes.length]));
    const created = await services.versions.createVersion(toOwnerId(OWNER_A), toIndexName('updated'), { kind: 'sei', parts: sizes });
    for (const [name, bytes] of Object.entries(parts)) await putPresigned(created.uploads[name], bytes);
    await services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('updated'), created.version, null);
    const deleted = await services.updates.deleteImage(toOwnerId(OWNER_A), toIndexName('updated'), toImageId('img-0'));
    // Still searchable as written.
    const fresh = serviceWorld(aws);
    await expect(fresh.services.search.search(toOwnerId(OWNER_A), toIndexName('updated'), request)).resolves.toMatchObject({ version: deleted.version });
    // Its new leaf block, overwritten with other bytes of the same length, is refused.
    const listed = await fresh.services.search.search(toOwnerId(OWNER_A), toIndexName('updated'), request);
    expect(listed.results[0].hits.some((hit) => hit.imageId === 'img-0')).toBe(false);
    const written = (await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucketName, Prefix: `owners/${OWNER_A}/indexes/updated/${deleted.version}/leaf-` }))).Contents ?? [];
    expect(written).toHaveLength(1);
    const key = written[0].Key!;
    const bytes = await stores.objects.get(key);
    const changed = bytes.slice();
    changed[changed.length - 1] ^= 1;
    await stores.objects.put(key, changed);
    const again = serviceWorld(aws);
    await expect(again.services.search.search(toOwnerId(OWNER_A), toIndexName('updated'), request)).rejects.toMatchObject({ code: 'INTEGRITY_FAILED' });
  });

  it('a cold search reads the skeleton as one S3 object checked by its digest, also for versions made by updates', async () => {
    const { services, stores } = serviceWorld(aws);
    const version = await publishTree(services, OWNER_A, 'skeleton-object', world.tree);
    const skeletonKey = (v: string) => indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('skeleton-object'), toVersionId(v), 'skeleton');
    // No skeleton chunks in DynamoDB: one immutable object of the version.
    expect((await stores.indexes.getVersion(toOwnerId(OWNER_A), toIndexName('skeleton-object'), toVersionId(version)))!.blobs.map((blob) => blob.name)).not.toContain('skeleton');
    const cold = serviceWorld(aws);
    expect((await cold.services.search.search(toOwnerId(OWNER_A), toIndexName('skeleton-object'), request)).results[0].hits).toEqual(reference);
    expect(cold.objects.of('getRange').filter((call) => call.key === skeletonKey(version))).toHaveLength(1);

    // An update writes its rewritten skeleton as an object of its own version.
    const deleted = await services.updates.deleteImage(toOwnerId(OWNER_A), toIndexName('skeleton-object'), toImageId('img-1'));
    expect((await stores.indexes.getVersion(toOwnerId(OWNER_A), toIndexName('skeleton-object'), deleted.version))!.blobs.map((blob) => blob.name)).not.toContain('skeleton');
    const colder = serviceWorld(aws);
    const after = await colder.services.search.search(toOwnerId(OWNER_A), toIndexName('skeleton-object'), request);
    expect(after.version).toBe(deleted.version);
    expect(after.results[0].hits.some((hit) => hit.imageId === 'img-1')).toBe(false);
    expect(colder.objects.of('getRange').filter((call) => call.key === skeletonKey(deleted.version))).toHaveLength(1);

    // Changed after publish: refused, never searched.
    const bytes = await stores.objects.get(skeletonKey(deleted.version));
    const changed = bytes.slice();
    changed[changed.length - 1] ^= 1;
    await stores.objects.put(skeletonKey(deleted.version), changed);
    await expect(serviceWorld(aws).services.search.search(toOwnerId(OWNER_A), toIndexName('skeleton-object'), request)).rejects.toMatchObject({ code: 'INTEGRITY_FAILED' });
  });
});
