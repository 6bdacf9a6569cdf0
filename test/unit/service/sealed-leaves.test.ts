/**
 * Sealed indexes at CS1, on dynalite + s3rver: publish checks the public header and the leaves'
 * size; the leaves route hands out exactly the requested leaves (bytes or ranged URLs) of the
 * serving version (or the one it replaced), refuses anything else with a 4xx, and a client that
 * searches through it gets the same answer as with the parts in memory.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptImage, generateImageKey } from '../../../lib/crypto/image-envelope';
import { encodeRows, fitInt8, toFloat16Bits } from '../../../lib/sealed/quantise';
import { ConflictError, InvalidInputError, MalformedDataError, NotFoundError } from '../../../lib/core/errors';
import { sealIndex, sealedPartSizes } from '../../../lib/sealed/build';
import { SealedSearcher } from '../../../lib/sealed/search';
import type { SealedBinding } from '../../../lib/sealed/types';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { sealedWorld } from '../../support/sealed-fixture';
import { OWNER_A, OWNER_B, putPresigned, serviceWorld, uploadVersion } from './support';
import type { TestServices } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

/** Create a version, seal for it, upload, publish: the owner's flow. Returns the version. */
async function publishSealed(services: TestServices, ownerId: string, indexName: string, world: Awaited<ReturnType<typeof sealedWorld>>, expectedCurrent: string | null = null): Promise<string> {
  const sizes = sealedPartSizes(world.build, world.key.keyId);
  const created = await services.versions.createVersion(toOwnerId(ownerId), toIndexName(indexName), { kind: 'sealed', parts: sizes });
  const parts = await sealIndex(world.build, world.key, { ownerId: toOwnerId(ownerId), indexName: toIndexName(indexName), version: created.version });
  await putPresigned(created.uploads.routing, parts.routing);
  await putPresigned(created.uploads.leaves, parts.leaves);
  await services.versions.publishVersion(toOwnerId(ownerId), toIndexName(indexName), created.version, expectedCurrent === null ? null : toVersionId(expectedCurrent));
  return created.version;
}

describe('sealed leaves at CS1', async () => {
  let aws: LocalAws;
  const world = await sealedWorld(500, 6, 61, { leafSize: 16, realLeaves: 2, leavesPerQuery: 6 });
  const L = world.build.leavesPerQuery;

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(() => aws?.stop());

  it('publishes, describes and hands out exactly the requested leaves; a client search matches the in-memory one', async () => {
    const { services, objects } = serviceWorld(aws);
    const version = await publishSealed(services, OWNER_A, 'main', world);
    const description = await services.versions.describe(toOwnerId(OWNER_A), toIndexName('main'));
    expect(description.kind).toBe('sealed');
    const summary = description.summary as { keyId: string; leafCount: number; leavesPerQuery: number; routing: { bytes: number; download: { url: string } } };
    expect(summary).toMatchObject({ keyId: world.key.keyId, leafCount: world.build.leafCount, leavesPerQuery: L });
    const routingBytes = new Uint8Array(await (await fetch(summary.routing.download.url)).arrayBuffer());
    expect(routingBytes.length).toBe(summary.routing.bytes);

    const binding: SealedBinding = { ownerId: toOwnerId(OWNER_A), indexName: toIndexName('main'), version: toVersionId(version) };
    const searcher = await SealedSearcher.open(world.key, binding, routingBytes);
    const local = await sealIndex(world.build, world.key, binding);
    const query = world.vectors.data.subarray(6 * 40, 6 * 41);
    objects.reset();
    const remote = await searcher.search(query, { k: 5 }, async (leaves) => {
      const answer = await services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('main'), { version, leaves });
      expect(answer.leaves).toEqual(leaves);
      return new Map(leaves.map((leaf, i) => [leaf, answer.data!.subarray(i * answer.leafBytes, (i + 1) * answer.leafBytes)]));
    });
    expect(remote.hits[0].imageId).toBe('img-40');
    // Exactly the L leaves were read from S3, nothing else.
    const ranges = objects.of('getRange');
    expect(ranges.reduce((sum, read) => sum + (read.end - read.start), 0)).toBe(L * searcher.routing.layout.leafBytes);
    // Searching the same request against the parts in memory (sealed for the same version) gives the same answer.
    const { leafBytes } = searcher.routing.layout;
    const again = await searcher.open(remote.request, new Map(remote.request.leaves.map((leaf) => [leaf, local.leaves.subarray(leaf * leafBytes, (leaf + 1) * leafBytes)])));
    expect(again.map((leaf) => leaf.ids)).toEqual((await searcher.open(remote.request, await world.fetch(local.leaves)(remote.request.leaves))).map((leaf) => leaf.ids));

    // A second request for the same leaves comes from the cache.
    objects.reset();
    const cached = await services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('main'), { version, leaves: remote.request.leaves });
    expect(cached.stats.cached).toBe(L);
    expect(objects.of('getRange')).toHaveLength(0);

    // Ranged URLs: one per leaf, each reading exactly its leaf.
    const urls = await services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('main'), { version, leaves: remote.request.leaves, delivery: 'urls' });
    expect(urls.downloads).toHaveLength(L);
    for (const [i, download] of urls.downloads!.entries()) {
      const bytes = new Uint8Array(await (await fetch(download.url, { headers: download.headers })).arrayBuffer());
      expect(Buffer.compare(bytes, cached.data!.subarray(i * leafBytes, (i + 1) * leafBytes))).toBe(0);
    }
  });

  it('refuses requests that are not exactly L distinct leaves of the index', async () => {
    const { services } = serviceWorld(aws);
    const version = await publishSealed(services, OWNER_A, 'strict', world);
    const ask = (leaves: number[], v = version) => services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('strict'), { version: v, leaves });
    const valid = Array.from({ length: L }, (_, i) => i);
    await expect(ask(valid.slice(1))).rejects.toThrow(new RegExp(`exactly ${L} leaves`));
    await expect(ask([...valid.slice(1), 1])).rejects.toThrow(/distinct/);
    await expect(ask([...valid.slice(1), world.build.leafCount])).rejects.toThrow(/integers from 0 to/);
    await expect(ask([...valid.slice(1), 1.5])).rejects.toBeInstanceOf(InvalidInputError);
    await expect(ask([])).rejects.toBeInstanceOf(InvalidInputError);
    await expect(ask(valid, 'no-such-version')).rejects.toBeInstanceOf(ConflictError);
    await expect(services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('missing'), { version, leaves: valid })).rejects.toBeInstanceOf(NotFoundError);
    // Another owner's index of the same name is not this one.
    await expect(services.sealedLeaves.leaves(toOwnerId(OWNER_B), toIndexName('strict'), { version, leaves: valid })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serves the version a search began on across a publish, and refuses older ones', async () => {
    const { services } = serviceWorld(aws);
    const first = await publishSealed(services, OWNER_A, 'moving', world);
    const second = await publishSealed(services, OWNER_A, 'moving', world, first);
    const leaves = Array.from({ length: L }, (_, i) => i);
    expect((await services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('moving'), { version: first, leaves })).version).toBe(first);
    expect((await services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('moving'), { version: second, leaves })).version).toBe(second);
    await publishSealed(services, OWNER_A, 'moving', world, second);
    await expect(services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('moving'), { version: first, leaves })).rejects.toThrow(/serves version .*read the index again/);
  });

  it('publishes only parts whose header and sizes agree', async () => {
    const { services } = serviceWorld(aws);
    const parts = await sealIndex(world.build, world.key, { ownerId: toOwnerId(OWNER_A), indexName: toIndexName('bad'), version: toVersionId('v') });
    const short = await uploadVersion(services, OWNER_A, 'bad', { routing: parts.routing, leaves: parts.leaves.subarray(1) }, 'sealed');
    await expect(services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('bad'), toVersionId(short), null)).rejects.toThrow(/part "leaves".*header describes/);
    const garbled = parts.routing.slice();
    garbled[0] ^= 0xff;
    const badHeader = await uploadVersion(services, OWNER_A, 'bad', { routing: garbled, leaves: parts.leaves }, 'sealed');
    await expect(services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('bad'), toVersionId(badHeader), null)).rejects.toBeInstanceOf(MalformedDataError);
    // A sealed index is not searched with trapdoors.
    const version = await publishSealed(services, OWNER_A, 'kinds', world);
    await expect(services.search.search(toOwnerId(OWNER_A), toIndexName('kinds'), { trapdoors: [[1]], k: 1 })).rejects.toThrow(/sealed/);
    expect(version).toBeTruthy();
  });

  it('stores nothing readable: no vector encoding, no image id, no image bytes in any object or catalog item', async () => {
    const { services } = serviceWorld(aws);
    const owner = toOwnerId('c'.repeat(52));
    const version = await publishSealed(services, owner, 'scanned', world);
    // The images, encrypted as owners upload them.
    const imageKey = await generateImageKey();
    const images = world.ids.slice(0, 50).map((id, i) => ({ id, bytes: Uint8Array.from({ length: 300 }, (_, j) => (i * 31 + j * 7) % 251) }));
    const uploads = await services.images.createUploads(owner, await Promise.all(images.map(async ({ id, bytes }) => ({ imageId: id, byteLength: (await encryptImage(imageKey, id, bytes)).length }))));
    for (const [i, upload] of uploads.entries()) await putPresigned(upload, await encryptImage(imageKey, images[i].id, images[i].bytes));

    // Everything stored: every object under the owner's prefix, every item of the table.
    const stored: Array<{ where: string; bytes: Buffer }> = [];
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucketName, Prefix: `owners/${owner}/` }));
    for (const object of listed.Contents ?? []) {
      const body = await aws.s3.send(new GetObjectCommand({ Bucket: aws.bucketName, Key: object.Key! }));
      stored.push({ where: object.Key!, bytes: Buffer.from(await body.Body!.transformToByteArray()) });
    }
    const items = await aws.documentClient.send(new ScanCommand({ TableName: aws.tableName }));
    for (const item of items.Items ?? []) {
      if (!JSON.stringify(item).includes(owner)) continue;
      for (const [name, value] of Object.entries(item)) {
        stored.push({ where: `item ${String(item.pk)}/${String(item.sk)}.${name}`, bytes: value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(JSON.stringify(value)) });
      }
    }
    expect(stored.filter((s) => s.where.includes('/indexes/scanned/')).map((s) => s.where.split('/').pop()).sort()).toEqual(['leaves', 'manifest.json', 'routing']);
    expect(stored.length).toBeGreaterThan(50);

    // What must not occur anywhere: every image id inside index data, every vector in every
    // encoding the index could use, and the images' bytes.
    const { d, data, n } = world.vectors;
    const needles: Array<{ what: string; bytes: Buffer; skip?: (where: string) => boolean }> = [];
    const params = fitInt8(data, n, d);
    for (let i = 0; i < n; i++) {
      // Ids are the names of the image objects, by design: they must not appear in index data.
      needles.push({ what: `id ${world.ids[i]}`, bytes: Buffer.from(`"${world.ids[i]}"`) });
      needles.push({ what: `id ${world.ids[i]} (length-prefixed)`, bytes: Buffer.from([world.ids[i].length, ...Buffer.from(world.ids[i])]) });
      const vector = data.subarray(i * d, (i + 1) * d);
      needles.push({ what: `vector ${i} (float64)`, bytes: Buffer.from(Float64Array.from(vector).buffer) });
      needles.push({ what: `vector ${i} (float32)`, bytes: Buffer.from(Float32Array.from(vector).buffer) });
      needles.push({ what: `vector ${i} (float16)`, bytes: Buffer.from(Uint16Array.from(vector, toFloat16Bits).buffer) });
      const codes = new Uint8Array(d);
      encodeRows(data, d, [i], 'int8', params, codes, 0);
      needles.push({ what: `vector ${i} (int8)`, bytes: Buffer.from(codes) });
    }
    for (const image of images) needles.push({ what: `bytes of image ${image.id}`, bytes: Buffer.from(image.bytes.subarray(0, 32)) });
    // Control: the needles do occur in the owner's plaintext leaves (ids and int8 rows).
    const plaintext = Buffer.concat(world.build.leafPlaintexts);
    const inPlaintext = needles.filter((needle) => plaintext.includes(needle.bytes)).map((needle) => needle.what);
    expect(inPlaintext.filter((what) => what.endsWith('(length-prefixed)')).length).toBe(n);
    expect(inPlaintext.filter((what) => what.endsWith('(int8)')).length).toBe(n);
    const found: string[] = [];
    for (const { where, bytes } of stored) for (const needle of needles) if (bytes.includes(needle.bytes)) found.push(`${needle.what} in ${where}`);
    expect(found).toEqual([]);
    expect(version).toBeTruthy();
  });
});
