/**
 * Sealed indexes at CS1, on dynalite + s3rver: publish checks the public header and the leaves'
 * size; the leaves route hands out exactly the requested leaves (bytes or ranged URLs) of the
 * serving version (or the one it replaced), refuses anything else with a 4xx, and a client that
 * searches through it gets the same answer as with the parts in memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, MalformedDataError, NotFoundError } from '../../../lib/core/errors';
import { sealIndex, sealedPartSizes } from '../../../lib/sealed/build';
import { SealedSearcher } from '../../../lib/sealed/search';
import type { SealedBinding } from '../../../lib/sealed/types';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { sealedWorld } from '../../support/sealed-fixture';
import { OWNER_A, OWNER_B, putPresigned, serviceWorld, uploadVersion } from './support';
import type { TestServices } from './support';

/** Create a version, seal for it, upload, publish: the owner's flow. Returns the version. */
async function publishSealed(services: TestServices, ownerId: string, indexName: string, world: Awaited<ReturnType<typeof sealedWorld>>, expectedCurrent: string | null = null): Promise<string> {
  const sizes = sealedPartSizes(world.build, world.key.keyId);
  const created = await services.versions.createVersion(ownerId, indexName, { kind: 'sealed', parts: sizes });
  const parts = await sealIndex(world.build, world.key, { ownerId, indexName, version: created.version });
  await putPresigned(created.uploads.routing, parts.routing);
  await putPresigned(created.uploads.leaves, parts.leaves);
  await services.versions.publishVersion(ownerId, indexName, created.version, expectedCurrent);
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
    const description = await services.versions.describe(OWNER_A, 'main');
    expect(description.kind).toBe('sealed');
    const summary = description.summary as { keyId: string; leafCount: number; leavesPerQuery: number; routing: { bytes: number; download: { url: string } } };
    expect(summary).toMatchObject({ keyId: world.key.keyId, leafCount: world.build.leafCount, leavesPerQuery: L });
    const routingBytes = new Uint8Array(await (await fetch(summary.routing.download.url)).arrayBuffer());
    expect(routingBytes.length).toBe(summary.routing.bytes);

    const binding: SealedBinding = { ownerId: OWNER_A, indexName: 'main', version };
    const searcher = await SealedSearcher.open(world.key, binding, routingBytes);
    const local = await sealIndex(world.build, world.key, binding);
    const query = world.vectors.data.subarray(6 * 40, 6 * 41);
    objects.reset();
    const remote = await searcher.search(query, { k: 5 }, async (leaves) => {
      const answer = await services.sealedLeaves.leaves(OWNER_A, 'main', { version, leaves });
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
    const cached = await services.sealedLeaves.leaves(OWNER_A, 'main', { version, leaves: remote.request.leaves });
    expect(cached.stats.cached).toBe(L);
    expect(objects.of('getRange')).toHaveLength(0);

    // Ranged URLs: one per leaf, each reading exactly its leaf.
    const urls = await services.sealedLeaves.leaves(OWNER_A, 'main', { version, leaves: remote.request.leaves, delivery: 'urls' });
    expect(urls.downloads).toHaveLength(L);
    for (const [i, download] of urls.downloads!.entries()) {
      const bytes = new Uint8Array(await (await fetch(download.url, { headers: download.headers })).arrayBuffer());
      expect(Buffer.compare(bytes, cached.data!.subarray(i * leafBytes, (i + 1) * leafBytes))).toBe(0);
    }
  });

  it('refuses requests that are not exactly L distinct leaves of the index', async () => {
    const { services } = serviceWorld(aws);
    const version = await publishSealed(services, OWNER_A, 'strict', world);
    const ask = (leaves: number[], v = version) => services.sealedLeaves.leaves(OWNER_A, 'strict', { version: v, leaves });
    const valid = Array.from({ length: L }, (_, i) => i);
    await expect(ask(valid.slice(1))).rejects.toThrow(new RegExp(`exactly ${L} leaves`));
    await expect(ask([...valid.slice(1), 1])).rejects.toThrow(/distinct/);
    await expect(ask([...valid.slice(1), world.build.leafCount])).rejects.toThrow(/integers from 0 to/);
    await expect(ask([...valid.slice(1), 1.5])).rejects.toBeInstanceOf(InvalidInputError);
    await expect(ask([])).rejects.toBeInstanceOf(InvalidInputError);
    await expect(ask(valid, 'no-such-version')).rejects.toBeInstanceOf(ConflictError);
    await expect(services.sealedLeaves.leaves(OWNER_A, 'missing', { version, leaves: valid })).rejects.toBeInstanceOf(NotFoundError);
    // Another owner's index of the same name is not this one.
    await expect(services.sealedLeaves.leaves(OWNER_B, 'strict', { version, leaves: valid })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serves the version a search began on across a publish, and refuses older ones', async () => {
    const { services } = serviceWorld(aws);
    const first = await publishSealed(services, OWNER_A, 'moving', world);
    const second = await publishSealed(services, OWNER_A, 'moving', world, first);
    const leaves = Array.from({ length: L }, (_, i) => i);
    expect((await services.sealedLeaves.leaves(OWNER_A, 'moving', { version: first, leaves })).version).toBe(first);
    expect((await services.sealedLeaves.leaves(OWNER_A, 'moving', { version: second, leaves })).version).toBe(second);
    await publishSealed(services, OWNER_A, 'moving', world, second);
    await expect(services.sealedLeaves.leaves(OWNER_A, 'moving', { version: first, leaves })).rejects.toThrow(/serves version .*read the index again/);
  });

  it('publishes only parts whose header and sizes agree', async () => {
    const { services } = serviceWorld(aws);
    const parts = await sealIndex(world.build, world.key, { ownerId: OWNER_A, indexName: 'bad', version: 'v' });
    const short = await uploadVersion(services, OWNER_A, 'bad', { routing: parts.routing, leaves: parts.leaves.subarray(1) }, 'sealed');
    await expect(services.versions.publishVersion(OWNER_A, 'bad', short, null)).rejects.toThrow(/part "leaves".*header describes/);
    const garbled = parts.routing.slice();
    garbled[0] ^= 0xff;
    const badHeader = await uploadVersion(services, OWNER_A, 'bad', { routing: garbled, leaves: parts.leaves }, 'sealed');
    await expect(services.versions.publishVersion(OWNER_A, 'bad', badHeader, null)).rejects.toBeInstanceOf(MalformedDataError);
    // A sealed index is not searched with trapdoors.
    const version = await publishSealed(services, OWNER_A, 'kinds', world);
    await expect(services.search.search(OWNER_A, 'kinds', { trapdoors: [[1]], k: 1 })).rejects.toThrow(/sealed/);
    expect(version).toBeTruthy();
  });
});
