import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, MalformedDataError, NotFoundError, PayloadTooLargeError } from '../../../lib/core/errors';
import { encodeIndexTreeParts } from '../../../lib/sei/index-tree/format';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import { IndexKindRegistry } from '../../../lib/service/index-kinds/index-kind-registry';
import { MAX_SEI_SKELETON_BYTES, seiIndexKind } from '../../../lib/service/sei/sei-index-kind';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import type { IndexKindHandler } from '../../../lib/service/types';
import { indexPartObjectKey, indexPartUploadKey } from '../../../lib/storage/object-keys';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { row, seiWorld } from '../../support/sei-fixture';
import { ALL_ROLES, cloneTree, OWNER_A, OWNER_B, publishTree, serviceWorld, uploadVersion } from './support';
import type { ServiceWorld } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

/** A second kind, standing in for the lead's two-server handler: one part, checked for a magic. */
const fakeTwoServer: IndexKindHandler = {
  kind: 'two-server',
  parts: [{ name: 'segments', maxBytes: 1024, description: 'test segments' }],
  async validate(parts) {
    const bytes = await parts.read('segments');
    if (new TextDecoder().decode(bytes.subarray(0, 4)) !== 'SEGS') throw new MalformedDataError('part "segments"', 'bad magic');
    return { metadata: { publicMaterial: parts.ref('segments').part, version: parts.version, bytes: bytes.length }, blobs: { segments: bytes } };
  },
  summarize: async (metadata, access) => ({
    publicMaterial: metadata.publicMaterial,
    download: (await access.presignGet({ version: toVersionId(metadata.version as string), part: 'segments' }, 60)).url,
  }),
};

describe('index versions: create, validate, publish atomically', () => {
  let aws: LocalAws;
  let world: ServiceWorld;
  const sei = seiWorld(400, 6, 16, { maxLeafSize: 16 });
  const sei2 = seiWorld(300, 6, 31, { maxLeafSize: 16 });
  const query = sei.generator.trapdoor(row(sei.vectors, 3));

  beforeAll(async () => {
    aws = await startLocalAws();
    world = serviceWorld(aws, { kinds: new IndexKindRegistry([seiIndexKind, fakeTwoServer], ALL_ROLES) });
  });
  afterAll(() => aws?.stop());

  const current = (index: string, owner = OWNER_A) => world.stores.indexes.getCurrent(toOwnerId(owner), toIndexName(index));

  it('publishes a first version, then a second one replacing it; describes the serving one', async () => {
    const { versions } = world.services;
    const v1 = await publishTree(world.services, OWNER_A, 'main', sei.tree);
    const described = await versions.describe(toOwnerId(OWNER_A), toIndexName('main'));
    expect(described).toMatchObject({ indexName: 'main', version: v1, kind: 'sei', previousVersion: null });
    expect(described.summary).toEqual({
      d: 6,
      m: 14,
      ownerKeyId: sei.tree.ownerKeyId,
      imageCount: 400,
      leafCount: sei.tree.leaves.length,
      nodeCount: sei.tree.leafOf.length,
      updates: { added: 0, deleted: 0, builtSize: 400 },
      search: {
        strategy: sei.tree.search.strategy,
        probes: sei.tree.search.probes,
        beam: sei.tree.search.beam,
        targetRecall: 0.95,
        measuredRecall: sei.tree.search.measuredRecall,
        calibrationQueries: sei.tree.search.calibrationQueries,
      },
      publishedFrom: v1,
    });

    const v2 = await uploadVersion(world.services, OWNER_A, 'main', seiUploadParts(sei2.tree).parts);
    expect(v2 > v1).toBe(true);
    const published = await versions.publishVersion(toOwnerId(OWNER_A), toIndexName('main'), toVersionId(v2), toVersionId(v1));
    expect(published).toMatchObject({ version: v2, previousVersion: v1, kind: 'sei' });
    expect((await current('main'))?.version).toBe(v2);
    // Publishing the serving version again (a retry whose answer was lost) is harmless.
    expect(await versions.publishVersion(toOwnerId(OWNER_A), toIndexName('main'), toVersionId(v2), toVersionId(v1))).toMatchObject({ version: v2, previousVersion: v1 });
  });

  it('checks the declared parts when a version is created', async () => {
    const { versions } = world.services;
    const { sizes } = seiUploadParts(sei.tree);
    await expect(versions.createVersion(toOwnerId(OWNER_A), toIndexName('c'), { kind: 'annoy', parts: sizes })).rejects.toThrow(
      'index kind "annoy" is not supported by this service; use one of: "sei", "two-server"',
    );
    await expect(versions.createVersion(toOwnerId(OWNER_A), toIndexName('c'), { kind: 'sei', parts: { skeleton: 10 } })).rejects.toThrow(
      /part "leaves" \(all leaf blocks.*\) is missing/,
    );
    await expect(versions.createVersion(toOwnerId(OWNER_A), toIndexName('c'), { kind: 'sei', parts: { ...sizes, extra: 5 } })).rejects.toThrow(
      '"extra" is not a part of a "sei" index; its parts are "skeleton", "leaves"',
    );
    await expect(versions.createVersion(toOwnerId(OWNER_A), toIndexName('c'), { kind: 'sei', parts: { ...sizes, leaves: 0 } })).rejects.toThrow(InvalidInputError);
    await expect(versions.createVersion(toOwnerId(OWNER_A), toIndexName('c'), { kind: 'sei', parts: { ...sizes, skeleton: MAX_SEI_SKELETON_BYTES + 1 } })).rejects.toThrow(
      PayloadTooLargeError,
    );
    const created = await versions.createVersion(toOwnerId(OWNER_A), toIndexName('c'), { kind: 'sei', parts: sizes });
    expect(Object.keys(created.uploads).sort()).toEqual(['leaves', 'skeleton']);
    expect(created.uploads.leaves).toMatchObject({ method: 'PUT', headers: { 'content-type': 'application/octet-stream', 'content-length': String(sizes.leaves) } });
    expect(created.uploads.leaves.url).toContain(indexPartUploadKey(toOwnerId(OWNER_A), toIndexName('c'), created.version, 'leaves'));
    // A kind other than the serving one cannot take over an index.
    await expect(versions.createVersion(toOwnerId(OWNER_A), toIndexName('main'), { kind: 'two-server', parts: { segments: 8 } })).rejects.toThrow(ConflictError);
  });

  it('refuses parts that do not decode, naming the problem, and leaves the serving version alone', async () => {
    const { versions } = world.services;
    const v1 = await publishTree(world.services, OWNER_A, 'guarded', sei.tree);
    const before = await world.stores.indexes.listVersions(toOwnerId(OWNER_A), toIndexName('guarded'));
    const good = seiUploadParts(sei.tree).parts;
    const blocks = encodeIndexTreeParts(sei.tree).leaves;

    const attempt = async (parts: Record<string, Uint8Array>, message: RegExp) => {
      const version = await uploadVersion(world.services, OWNER_A, 'guarded', parts);
      const error = await versions.publishVersion(toOwnerId(OWNER_A), toIndexName('guarded'), toVersionId(version), toVersionId(v1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MalformedDataError);
      expect((error as Error).message).toMatch(message);
      expect((await current('guarded'))?.version).toBe(v1);
      expect(await world.stores.indexes.getVersion(toOwnerId(OWNER_A), toIndexName('guarded'), toVersionId(version))).toBeUndefined();
    };

    const badMagic = good.skeleton.slice();
    badMagic[0] = 0x41;
    await attempt({ ...good, skeleton: badMagic }, /^part "skeleton": encrypted index: not a encrypted index \(bad magic\)/);
    await attempt({ ...good, skeleton: good.skeleton.subarray(0, good.skeleton.length - 3) }, /^part "skeleton": encrypted index: truncated/);
    await attempt({ ...good, leaves: good.leaves.subarray(0, good.leaves.length - 8) }, /^part "leaves": is \d+ bytes, but the skeleton's leaf directory describes \d+ bytes/);

    // Leaf 2's magic damaged: the message names the leaf and its bytes.
    const offset = blocks[0].length + blocks[1].length;
    const corrupt = good.leaves.slice();
    corrupt[offset + 1] ^= 0x20;
    await attempt({ ...good, leaves: corrupt }, new RegExp(`^part "leaves", leaf 2 \\(bytes ${offset}-\\d+\\): index leaf: not a index leaf \\(bad magic\\)`));

    // A vector entry made NaN inside the last leaf.
    const nan = good.leaves.slice();
    new DataView(nan.buffer).setFloat64(nan.length - 8, Number.NaN, true);
    await attempt({ ...good, leaves: nan }, /leaf \d+ .*encrypted vectors\[\d+\] is not a finite number/);

    // Finite but too large to score safely: a node vector entry, an image vector entry.
    const bigNode = { ...cloneTree(sei.tree), nodeVectors: sei.tree.nodeVectors.slice() };
    bigNode.nodeVectors[5] = 1e200;
    await attempt(seiUploadParts(bigNode).parts, /^part "skeleton": node vectors\[5\] is too large: entries must be at most 1e100/);
    const bigLeaf = cloneTree(sei.tree);
    bigLeaf.leaves[1].vectors[0] = -1e150;
    await attempt(seiUploadParts(bigLeaf).parts, /^part "leaves", leaf 1 .*encrypted vectors\[0\] is too large/);

    // The same image id in two leaves.
    const twice = cloneTree(sei.tree);
    twice.leaves[1].ids[0] = twice.leaves[0].ids[0];
    await attempt(seiUploadParts(twice).parts, new RegExp(`image id "${sei.tree.leaves[0].ids[0]}" appears twice \\(also in leaf 0\\)`));

    // An id the image store would not accept.
    const badId = cloneTree(sei.tree);
    badId.leaves[0].ids[0] = 'a/../../b';
    await attempt(seiUploadParts(badId).parts, /leaf 0 .*image id "a\/..\/..\/b" is invalid/);

    expect((await world.stores.indexes.listVersions(toOwnerId(OWNER_A), toIndexName('guarded'))).map((v) => v.version)).toEqual(before.map((v) => v.version));
    // And search still answers from the serving version.
    const answer = await world.services.search.search(toOwnerId(OWNER_A), toIndexName('guarded'), { trapdoors: [Array.from(query)], k: 3 });
    expect(answer.version).toBe(v1);
  });

  it('refuses a publish before every part is uploaded, or with the wrong size', async () => {
    const { versions, stores } = { versions: world.services.versions, stores: world.stores };
    const v1 = await publishTree(world.services, OWNER_A, 'partial', sei.tree);
    const { parts, sizes } = seiUploadParts(sei.tree);
    const created = await versions.createVersion(toOwnerId(OWNER_A), toIndexName('partial'), { kind: 'sei', parts: sizes });
    await stores.objects.put(indexPartUploadKey(toOwnerId(OWNER_A), toIndexName('partial'), created.version, 'skeleton'), parts.skeleton);
    await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('partial'), created.version, toVersionId(v1))).rejects.toThrow(
      `part "leaves" of version "${created.version}" was not uploaded: PUT it to the URL from create-version, then publish`,
    );
    // Written without the presigned URL (which signs the length), so the size can differ.
    await stores.objects.put(indexPartUploadKey(toOwnerId(OWNER_A), toIndexName('partial'), created.version, 'leaves'), parts.leaves.subarray(1));
    await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('partial'), created.version, toVersionId(v1))).rejects.toThrow(/is \d+ bytes, but \d+ were declared/);
    await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('partial'), toVersionId('20990101T000000000Z-000000000000'), toVersionId(v1))).rejects.toThrow(NotFoundError);
    expect((await current('partial'))?.version).toBe(v1);
  });

  it('refuses a stale expectedCurrent with 409 and keeps the serving version', async () => {
    const { versions } = world.services;
    const v1 = await publishTree(world.services, OWNER_A, 'stale', sei.tree);
    const v2 = await uploadVersion(world.services, OWNER_A, 'stale', seiUploadParts(sei2.tree).parts);
    await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('stale'), toVersionId(v2), null)).rejects.toThrow(
      new ConflictError(`index "stale" serves version "${v1}", not nothing: publish again with expectedCurrent "${v1}" if "${v2}" should replace it`),
    );
    await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('stale'), toVersionId(v2), toVersionId('20000101T000000000Z-000000000000'))).rejects.toThrow(ConflictError);
    expect((await current('stale'))?.version).toBe(v1);
    await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('fresh-index'), toVersionId(v2), toVersionId(v1))).rejects.toThrow(/has no published version/);
  });

  it('a publish that dies after staging, before the pointer flip, leaves the previous version serving; a retry completes it', async () => {
    const { versions, search } = world.services;
    const v1 = await publishTree(world.services, OWNER_A, 'crash', sei.tree);
    const v2 = await uploadVersion(world.services, OWNER_A, 'crash', seiUploadParts(sei2.tree).parts);
    world.catalog.failPublish = () => new Error('process killed');
    try {
      await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2), toVersionId(v1))).rejects.toThrow('process killed');
    } finally {
      world.catalog.failPublish = undefined;
    }
    expect((await world.stores.indexes.getVersion(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2)))?.status).toBe('complete');
    expect((await current('crash'))?.version).toBe(v1);
    const during = await search.search(toOwnerId(OWNER_A), toIndexName('crash'), { trapdoors: [Array.from(query)], k: 5 });
    expect(during.version).toBe(v1);
    expect(during.results[0].hits.map((h) => h.imageId)).toEqual(searchIndexTree(sei.tree, query, { k: 5 }).hits.map((h) => h.id));

    world.objects.reset();
    await versions.publishVersion(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2), toVersionId(v1));
    // Already staged: no second validation read.
    expect(world.objects.of('getRange')).toHaveLength(0);
    expect((await search.search(toOwnerId(OWNER_A), toIndexName('crash'), { trapdoors: [Array.from(query)], k: 5 })).version).toBe(v2);
  });

  it('of two racing publishes exactly one wins', async () => {
    const { versions } = world.services;
    const v1 = await publishTree(world.services, OWNER_A, 'race', sei.tree);
    const a = await uploadVersion(world.services, OWNER_A, 'race', seiUploadParts(sei2.tree).parts);
    const b = await uploadVersion(world.services, OWNER_A, 'race', seiUploadParts(sei.tree).parts);
    // Both pass the early check and validation before either flips the pointer.
    let arrived = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    world.catalog.beforePublish = async () => {
      if (++arrived === 2) open();
      await gate;
    };
    try {
      const outcomes = await Promise.allSettled([versions.publishVersion(toOwnerId(OWNER_A), toIndexName('race'), toVersionId(a), toVersionId(v1)), versions.publishVersion(toOwnerId(OWNER_A), toIndexName('race'), toVersionId(b), toVersionId(v1))]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0].reason).toBeInstanceOf(ConflictError);
      const winner = (won[0] as PromiseFulfilledResult<{ version: string }>).value.version;
      expect((await current('race'))?.version).toBe(winner);
    } finally {
      world.catalog.beforePublish = undefined;
    }
  });

  it('delegates other kinds to their registered handler', async () => {
    const { versions } = world.services;
    const segments = new TextEncoder().encode('SEGS and more');
    const v = await uploadVersion(world.services, OWNER_A, 'two', { segments }, 'two-server');
    await versions.publishVersion(toOwnerId(OWNER_A), toIndexName('two'), toVersionId(v), null);
    const described = await versions.describe(toOwnerId(OWNER_A), toIndexName('two'));
    expect(described).toMatchObject({ kind: 'two-server', version: v, summary: { publicMaterial: 'segments' } });
    // The summary's download URL is for this owner's part, and works without credentials.
    const download = described.summary.download as string;
    expect(download).toContain(indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('two'), toVersionId(v), 'segments'));
    expect(new TextDecoder().decode(await (await fetch(download)).arrayBuffer())).toBe('SEGS and more');
    const bad = await uploadVersion(world.services, OWNER_A, 'two', { segments: new TextEncoder().encode('NOPE') }, 'two-server');
    await expect(versions.publishVersion(toOwnerId(OWNER_A), toIndexName('two'), toVersionId(bad), toVersionId(v))).rejects.toThrow('part "segments": bad magic');
    await expect(world.services.search.search(toOwnerId(OWNER_A), toIndexName('two'), { trapdoors: [[1]], k: 1 })).rejects.toThrow(/is a "two-server" index/);
  });

  it('keeps owners apart: the same index name is a different index per owner', async () => {
    await publishTree(world.services, OWNER_B, 'main', sei2.tree);
    const a = await world.services.versions.describe(toOwnerId(OWNER_A), toIndexName('main'));
    const b = await world.services.versions.describe(toOwnerId(OWNER_B), toIndexName('main'));
    expect(a.version).not.toBe(b.version);
    expect(b.summary.imageCount).toBe(300);
    await expect(world.services.versions.describe(toOwnerId(OWNER_B), toIndexName('guarded'))).rejects.toThrow(NotFoundError);
  });
});
