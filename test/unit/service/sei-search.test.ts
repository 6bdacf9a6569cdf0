import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../../../lib/core/errors';
import { encodeIndexTreeParts } from '../../../lib/sei/index-tree/format';
import { planLeafVisits, searchIndexTree, searchSettings } from '../../../lib/sei/index-tree/search';
import { TrapdoorScorer } from '../../../lib/sei/index-tree/scoring';
import type { EncryptedIndexTree } from '../../../lib/sei/index-tree/types';
import { chunkAligned } from '../../../lib/service/versions/part-digests';
import { indexPartObjectKey } from '../../../lib/storage/object-keys';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { row, seiWorld } from '../../support/sei-fixture';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { OWNER_A, OWNER_B, publishTree, serviceWorld, uploadVersion } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

/** The in-memory reference: the same search on the same tree, never stored. */
function reference(tree: EncryptedIndexTree, trapdoor: Float64Array, k: number, probes: number) {
  return searchIndexTree(tree, trapdoor, { k, probes }).hits.map((hit) => ({ imageId: hit.id, score: hit.score }));
}

/** Byte offset of each leaf block in the uploaded leaves part. */
function leafOffsets(tree: EncryptedIndexTree): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const block of encodeIndexTreeParts(tree).leaves) {
    offsets.push(at);
    at += block.length;
  }
  return offsets;
}

describe('SEI search service on dynalite + s3rver', () => {
  let aws: LocalAws;
  const world = seiWorld(400, 6, 16, { maxLeafSize: 16 });
  const other = seiWorld(300, 6, 29, { maxLeafSize: 16 });
  const trapdoors = [0, 57, 123, 250, 399].map((i) => world.generator.trapdoor(row(world.vectors, i)));

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(() => aws?.stop());

  it('answers exactly like an in-memory search of the same tree, one list per trapdoor in order', async () => {
    const { services } = serviceWorld(aws);
    const version = await publishTree(services, OWNER_A, 'equal', world.tree);
    for (const [k, probes] of [
      [1, 1],
      [5, 4],
      [40, 9],
    ]) {
      const response = await services.search.search(toOwnerId(OWNER_A), toIndexName('equal'), { trapdoors: trapdoors.map((t) => Array.from(t)), k, probes });
      expect(response.version).toBe(version);
      expect(response.results).toHaveLength(trapdoors.length);
      response.results.forEach((result, i) => expect(result.hits).toEqual(reference(world.tree, trapdoors[i], k, probes)));
    }
    // The first hit of an indexed image's own trapdoor is the image itself.
    const own = await services.search.search(toOwnerId(OWNER_A), toIndexName('equal'), { trapdoors: [Array.from(trapdoors[1])], k: 1 });
    expect(own.results[0].hits[0].imageId).toBe('img-57');
  });

  it('fetches only the planned leaves, coalesces adjacent ones, and keeps them across requests', async () => {
    const { services, objects } = serviceWorld(aws);
    await publishTree(services, OWNER_A, 'lazy', world.tree);
    const leavesKey = (await services.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName('lazy')))!.version;
    const key = indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('lazy'), leavesKey, 'leaves');
    const offsets = leafOffsets(world.tree);
    const sizes = (leaf: number) => world.tree.leaves[leaf].count;
    const planned = new Set<number>();
    for (const t of trapdoors.slice(0, 2)) for (const leaf of planLeafVisits(world.tree, TrapdoorScorer.of(world.tree, t), searchSettings(world.tree, { k: 10, probes: 3 }), 10, sizes).leaves) planned.add(leaf);

    objects.reset();
    const first = await services.search.search(toOwnerId(OWNER_A), toIndexName('lazy'), { trapdoors: trapdoors.slice(0, 2).map((t) => Array.from(t)), k: 10, probes: 3 });
    // The skeleton (one object, read once when the version is loaded), then leaves only.
    const skeletonKey = indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('lazy'), leavesKey, 'skeleton');
    expect(objects.of('getRange').filter((read) => read.key === skeletonKey)).toHaveLength(1);
    const reads = objects.of('getRange').filter((read) => read.key !== skeletonKey);
    expect(reads.every((read) => read.key === key)).toBe(true);
    // Each run of consecutive planned leaves is one read, widened to whole digest chunks (every
    // byte read is checked against the digests fixed at publish); only planned leaves are decoded.
    const partBytes = encodeIndexTreeParts(world.tree).leaves.reduce((sum, block) => sum + block.length, 0);
    const sorted = [...planned].sort((a, b) => a - b);
    const runs = sorted.filter((leaf, i) => i === 0 || sorted[i - 1] !== leaf - 1).length;
    const expected: Array<[number, number]> = [];
    for (const [i, leaf] of sorted.entries()) {
      const end = leaf + 1 < offsets.length ? offsets[leaf + 1] : partBytes;
      if (i > 0 && sorted[i - 1] === leaf - 1) expected[expected.length - 1][1] = end;
      else expected.push([offsets[leaf], end]);
    }
    const aligned = expected.map(([start, end]) => {
      const range = chunkAligned(partBytes, start, end);
      return [range.start, range.end];
    });
    const byStart = (a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1];
    expect(reads.map((read) => [read.start, read.end]).sort(byStart)).toEqual(aligned.sort(byStart));
    expect(first.stats.leavesFetched).toBe(planned.size);
    expect(reads).toHaveLength(runs);
    // The data makes both cases occur: some planned leaves are neighbours, some are not.
    expect(runs).toBeGreaterThan(1);
    expect(runs).toBeLessThan(planned.size);

    objects.reset();
    await services.search.search(toOwnerId(OWNER_A), toIndexName('lazy'), { trapdoors: [Array.from(trapdoors[0])], k: 10, probes: 3 });
    expect(objects.of('getRange')).toHaveLength(0);
  });

  it('sees a new publish on the next request, while a request that started on the old version finishes on it', async () => {
    const { services, objects } = serviceWorld(aws);
    const v1 = await publishTree(services, OWNER_A, 'flip', world.tree);
    const query = world.generator.trapdoor(row(world.vectors, 10));
    const otherQuery = Array.from(query);

    // Hold the first request inside its leaf fetch.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    objects.beforeGetRange = async () => {
      objects.beforeGetRange = undefined;
      entered();
      await held;
    };
    const slow = services.search.search(toOwnerId(OWNER_A), toIndexName('flip'), { trapdoors: [otherQuery], k: 8, probes: 2 });
    await inside;

    const v2 = await publishTree(services, OWNER_A, 'flip', other.tree, v1);
    const fresh = await services.search.search(toOwnerId(OWNER_A), toIndexName('flip'), { trapdoors: [otherQuery], k: 8, probes: 2 });
    expect(fresh.version).toBe(v2);
    expect(fresh.results[0].hits).toEqual(reference(other.tree, query, 8, 2));

    release();
    const old = await slow;
    expect(old.version).toBe(v1);
    expect(old.results[0].hits).toEqual(reference(world.tree, query, 8, 2));
    // Nothing of the other version leaked into either answer.
    expect(old.results[0].hits.every((hit) => world.tree.locations.has(hit.imageId))).toBe(true);
  });

  it('works with a cache too small for any leaf (every request fetches again)', async () => {
    const { services, objects } = serviceWorld(aws, { indexCacheBytes: 0 });
    await publishTree(services, OWNER_A, 'nocache', world.tree);
    const request = { trapdoors: [Array.from(trapdoors[2])], k: 5, probes: 2 };
    const a = await services.search.search(toOwnerId(OWNER_A), toIndexName('nocache'), request);
    objects.reset();
    const b = await services.search.search(toOwnerId(OWNER_A), toIndexName('nocache'), request);
    expect(b.results).toEqual(a.results);
    expect(objects.of('getRange').length).toBeGreaterThan(0);
    expect(a.results[0].hits).toEqual(reference(world.tree, trapdoors[2], 5, 2));
  });

  it('searches with the index\'s calibrated defaults unless the request overrides the probes', async () => {
    const { services } = serviceWorld(aws);
    await publishTree(services, OWNER_A, 'defaults', world.tree);
    const { search } = world.tree;
    expect(search.calibrationQueries).toBeGreaterThan(0);
    const byDefault = await services.search.search(toOwnerId(OWNER_A), toIndexName('defaults'), { trapdoors: [Array.from(trapdoors[3])], k: 10 });
    expect(byDefault.stats.probes).toBe(search.probes);
    expect(byDefault.results[0].hits).toEqual(reference(world.tree, trapdoors[3], 10, search.probes));
    const overridden = await services.search.search(toOwnerId(OWNER_A), toIndexName('defaults'), { trapdoors: [Array.from(trapdoors[3])], k: 10, probes: 1 });
    expect(overridden.stats.probes).toBe(1);
    expect(overridden.stats.leavesVisited).toBeLessThanOrEqual(byDefault.stats.leavesVisited);
    expect(overridden.results[0].hits).toEqual(reference(world.tree, trapdoors[3], 10, 1));
  });

  it('refuses to publish a skeleton whose score reduction does not fit its encrypted vectors', async () => {
    const { services } = serviceWorld(aws);
    const foreign = { ...world.tree, reduction: other.tree.reduction };
    const version = await uploadVersion(services, OWNER_A, 'foreign', seiUploadParts(foreign).parts);
    await expect(services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('foreign'), toVersionId(version), null)).rejects.toThrow(/does not lie on the score reduction/);
    expect(await services.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName('foreign'))).toBeUndefined();
  });

  it('reports stored data that went missing as a server fault, not as the caller\'s', async () => {
    const { services } = serviceWorld(aws);
    const version = await publishTree(services, OWNER_A, 'damaged', world.tree);
    await services.stores.objects.delete(indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('damaged'), toVersionId(version), 'leaves'));
    const error = await services.search.search(toOwnerId(OWNER_A), toIndexName('damaged'), { trapdoors: [Array.from(trapdoors[0])], k: 3 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'INTERNAL' });
    expect((error as Error).message).toMatch(new RegExp(`^stored data of index "damaged" version "${version}" is unreadable: object .* does not exist`));
  });

  it('refuses bad requests with messages that say what to fix', async () => {
    const { services } = serviceWorld(aws);
    await publishTree(services, OWNER_A, 'checks', world.tree);
    const good = Array.from(trapdoors[0]);
    const search = (request: Record<string, unknown>, index = 'checks', owner = OWNER_A) =>
      services.search.search(toOwnerId(owner), toIndexName(index), { trapdoors: [good], k: 3, ...request } as never);

    await expect(search({ trapdoors: [good.slice(1)] })).rejects.toThrow(
      new InvalidInputError(`trapdoors[0]: trapdoor has ${good.length - 1} entries, this index needs ${good.length} (feature dimension 6)`),
    );
    const withNaN = [...good];
    withNaN[3] = Number.NaN;
    await expect(search({ trapdoors: [good, withNaN] })).rejects.toThrow('trapdoors[1]: trapdoor[3] is not a finite number');
    const withInfinity = [...good];
    withInfinity[0] = Number.POSITIVE_INFINITY;
    await expect(search({ trapdoors: [withInfinity] })).rejects.toThrow('trapdoor[0] is not a finite number');
    await expect(search({ trapdoors: [[...good.slice(0, 5), 'x', ...good.slice(6)]] })).rejects.toThrow('trapdoor[5] is not a finite number');
    // Finite but extreme: 1e308 would make scores infinite (and their comparisons NaN).
    for (const extreme of [1e308, -1e308, Number.MAX_VALUE, 1.0000000000000002e100]) {
      const huge = [...good];
      huge[2] = extreme;
      await expect(search({ trapdoors: [good, huge] })).rejects.toThrow(
        new InvalidInputError('trapdoors[1]: trapdoor[2] is too large: entries must be at most 1e100 in magnitude, or scores could overflow (real ones are far smaller: check how it was made)'),
      );
    }
    // The bound itself is accepted, and every score stays finite.
    const largest = good.map((value) => (value < 0 ? -1e100 : 1e100));
    const answer = await search({ trapdoors: [largest] });
    expect(answer.results[0].hits).toHaveLength(3);
    for (const hit of answer.results[0].hits) expect(Number.isFinite(hit.score)).toBe(true);
    await expect(search({ trapdoors: [] })).rejects.toThrow('trapdoors must be a list of 1 to 16');
    await expect(search({ trapdoors: Array.from({ length: 17 }, () => good) })).rejects.toThrow('trapdoors must be a list of 1 to 16');
    await expect(search({ k: 0 })).rejects.toThrow('k must be an integer from 1 to 100');
    await expect(search({ k: 101 })).rejects.toThrow('k must be an integer from 1 to 100');
    await expect(search({ k: 2.5 })).rejects.toThrow('k must be an integer');
    await expect(search({ probes: 65 })).rejects.toThrow('probes must be an integer from 1 to 64');
    await expect(search({}, 'missing')).rejects.toThrow(new NotFoundError('index "missing" does not exist or has no published version'));
    // A bad name never reaches the service: the path parameter's parser refuses it.
    expect(() => toIndexName('../checks')).toThrow(InvalidInputError);
    // Another owner's index of the same name is not there for owner B.
    await expect(search({}, 'checks', OWNER_B)).rejects.toThrow(NotFoundError);
  });
});
