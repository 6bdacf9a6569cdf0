/**
 * The owner's signed manifest at CS1, on the real emulators (dynalite, s3rver): publish checks
 * it against the uploaded bytes, every description and search hands it out, and the attacks a
 * cloud or anyone with bucket access could try are caught, each with a typed error and no
 * result: a changed byte of any stored object a read touches, a part swapped in from another
 * version, a part changed between upload and publish, a forged signature, an older version
 * replayed as current (detected by a client that saw a newer one; not by a fresh client).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEARCH_K, MAX_SEARCH_PROBES } from '../../../lib/api/limits';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import type { OwnerSigningKey } from '../../../lib/auth/types';
import { indexManifestOf, signIndexManifest } from '../../../lib/client/index-manifest';
import { IndexVerifier } from '../../../lib/client/index-verifier';
import { IntegrityError, InvalidInputError } from '../../../lib/core/errors';
import { sealIndex, sealedPartSizes } from '../../../lib/sealed/build';
import { SealedSearcher } from '../../../lib/sealed/search';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import type { EncryptedIndexTree } from '../../../lib/sei/index-tree/types';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { indexPartObjectKey } from '../../../lib/storage/object-keys';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { sealedWorld } from '../../support/sealed-fixture';
import type { SealedWorld } from '../../support/sealed-fixture';
import { row, seiWorld } from '../../support/sei-fixture';
import { cloneTree, putPresigned, serviceWorld } from './support';
import type { ServiceWorld } from './support';
import { toImageId, toIndexName, toOwnerId, toVersionId } from '../../support/ids';

describe('owner-signed manifests at CS1', () => {
  let aws: LocalAws;
  let world: ServiceWorld;
  let signing: OwnerSigningKey;
  let stranger: OwnerSigningKey;
  let ownerId: string;
  let sealed: SealedWorld;
  const sei = seiWorld(300, 6, 23, { maxLeafSize: 16 });
  const trapdoor = sei.generator.trapdoor(row(sei.vectors, 0));
  // Every leaf is visited, so every byte of the leaves part is read.
  const request = { trapdoors: [Array.from(trapdoor)], k: MAX_SEARCH_K, probes: MAX_SEARCH_PROBES };
  const reference = searchIndexTree(sei.tree, trapdoor, { k: MAX_SEARCH_K, probes: MAX_SEARCH_PROBES }).hits.map((hit) => ({ imageId: hit.id, score: hit.score }));

  /** A valid tree of the same shape and sizes that differs: two images of a leaf trade ids. */
  function otherTree(tree: EncryptedIndexTree): EncryptedIndexTree {
    const other = cloneTree(tree);
    const leaf = other.leaves.find((l) => l.count >= 2 && l.ids[0].length === l.ids[1].length)!;
    [leaf.ids[0], leaf.ids[1]] = [leaf.ids[1], leaf.ids[0]];
    return other;
  }

  /** create -> upload -> sign (as the owner's client does) -> publish; returns the version. */
  async function publish(
    indexName: string,
    kind: string,
    parts: (version: string) => Promise<Record<string, Uint8Array>> | Record<string, Uint8Array>,
    sizes: Record<string, number>,
    options: { expectedCurrent?: string | null; key?: OwnerSigningKey; beforePublish?: (uploads: Record<string, { url: string; headers: Record<string, string> }>) => Promise<void> } = {},
  ): Promise<string> {
    const expectedCurrent = options.expectedCurrent ?? null;
    const created = await world.services.versions.createVersion(toOwnerId(ownerId), toIndexName(indexName), { kind, parts: sizes });
    const bytes = await parts(created.version);
    for (const [name, b] of Object.entries(bytes)) await putPresigned(created.uploads[name], b);
    const key = options.key ?? signing;
    const manifest = await indexManifestOf({ ownerId: await ownerIdOf(key.publicJwk), indexName: toIndexName(indexName), version: created.version, kind, previousVersion: expectedCurrent === null ? null : toVersionId(expectedCurrent) }, bytes);
    const signed = await signIndexManifest(manifest, key.privateJwk);
    await options.beforePublish?.(created.uploads);
    await world.services.versions.publishVersion(toOwnerId(ownerId), toIndexName(indexName), created.version, expectedCurrent === null ? null : toVersionId(expectedCurrent), signed);
    return created.version;
  }

  const seiParts = (tree: EncryptedIndexTree) => seiUploadParts(tree).parts;
  const sizesOf = (parts: Record<string, Uint8Array>) => Object.fromEntries(Object.entries(parts).map(([n, b]) => [n, b.length]));

  async function objectsOf(indexName: string, version: string): Promise<string[]> {
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucketName, Prefix: `owners/${ownerId}/indexes/${indexName}/${version}/` }));
    return (listed.Contents ?? []).map((o) => o.Key!).filter((key) => !key.endsWith('/manifest.json'));
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    world = serviceWorld(aws);
    signing = await generateOwnerSigningKey();
    stranger = await generateOwnerSigningKey();
    ownerId = await ownerIdOf(signing.publicJwk);
    sealed = await sealedWorld(400, 8, 5);
  });
  afterAll(() => aws?.stop());

  it('keeps the signed manifest with the version; descriptions and searches hand it out and a client verifies it', async () => {
    const version = await publish('signed', 'sei', () => seiParts(sei.tree), sizesOf(seiParts(sei.tree)));
    const verifier = new IndexVerifier();
    const described = await world.services.versions.describe(toOwnerId(ownerId), toIndexName('signed'));
    expect(described.provenance?.manifest).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const verified = await verifier.verify(toOwnerId(ownerId), toIndexName('signed'), described.version, described.provenance, described.kind);
    expect(Object.keys(verified.manifest.parts).sort()).toEqual(Object.keys(seiParts(sei.tree)).sort());
    const fresh = serviceWorld(aws);
    const response = await fresh.services.search.search(toOwnerId(ownerId), toIndexName('signed'), request);
    expect(response.results[0].hits).toEqual(reference);
    await expect(verifier.verify(toOwnerId(ownerId), toIndexName('signed'), response.version, response.provenance, 'sei')).resolves.toMatchObject({ version });

    // An update's version carries the signed manifest and the update, which the owner did not sign.
    const updated = await world.services.updates.deleteImage(toOwnerId(ownerId), toIndexName('signed'), toImageId('img-5'));
    const after = await serviceWorld(aws).services.search.search(toOwnerId(ownerId), toIndexName('signed'), request);
    expect(after.provenance?.updates).toEqual([{ version: updated.version, previousVersion: version, operation: 'delete', imageId: 'img-5' }]);
    await expect(verifier.verify(toOwnerId(ownerId), toIndexName('signed'), after.version, after.provenance, 'sei')).rejects.toThrow(/image update\(s\) the owner did not sign \(delete "img-5"\)/);
    await expect(new IndexVerifier({ unsignedUpdates: 'accept' }).verify(toOwnerId(ownerId), toIndexName('signed'), after.version, after.provenance, 'sei')).resolves.toMatchObject({ version: updated.version });
  });

  it('refuses at publish a signature by another key, and a part changed between upload and publish', async () => {
    const parts = seiParts(sei.tree);
    const forged = await publish('forged', 'sei', () => parts, sizesOf(parts), { key: stranger }).catch((e: unknown) => e);
    expect(forged).toBeInstanceOf(InvalidInputError);
    expect((forged as Error).message).toMatch(/^signedManifest is refused: .*names owner|signed by a key that is not owner/);
    expect(await world.stores.indexes.getCurrent(toOwnerId(ownerId), toIndexName('forged'))).toBeUndefined();

    // The owner signs what it uploaded; someone with the (hour-long) upload URL replaces a part before publish.
    const raced = await publish('raced', 'sei', () => parts, sizesOf(parts), {
      beforePublish: (uploads) => putPresigned(uploads.leaves, seiParts(otherTree(sei.tree)).leaves),
    }).catch((e: unknown) => e);
    expect(raced).toBeInstanceOf(IntegrityError);
    expect((raced as Error).message).toMatch(/part "leaves" of version "[^"]+" is not the part the owner signed/);
    expect(await world.stores.indexes.getCurrent(toOwnerId(ownerId), toIndexName('raced'))).toBeUndefined();
  });

  it('any changed byte of any stored object gives INTEGRITY_FAILED to the reads that touch it, never a result', async () => {
    const version = await publish('bytes', 'sei', () => seiParts(sei.tree), sizesOf(seiParts(sei.tree)));
    const keys = await objectsOf('bytes', version);
    // The uploaded parts (skeleton, leaves) and the derived image directory.
    expect(keys.length).toBeGreaterThanOrEqual(3);
    const reads = {
      search: (w: ServiceWorld) => w.services.search.search(toOwnerId(ownerId), toIndexName('bytes'), request).then((r) => expect(r.results[0].hits).toEqual(reference)),
      // Deleting an image reads its directory shard first: images that are not there read the
      // shards (404, nothing changes) without touching the index.
      directory: async (w: ServiceWorld) => {
        for (let i = 0; i < 16; i++) {
          const error = await w.services.updates.deleteImage(toOwnerId(ownerId), toIndexName('bytes'), toImageId(`absent-${i}`)).catch((e: unknown) => e);
          if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
        }
      },
    };
    let flips = 0;
    for (const key of keys) {
      const original = await world.stores.objects.get(key);
      const positions = [0, 1, Math.floor(original.length / 3), Math.floor(original.length / 2), original.length - 2, original.length - 1];
      for (const at of positions) {
        const changed = original.slice();
        changed[at] ^= 0x80;
        await world.stores.objects.put(key, changed);
        let refused = 0;
        for (const read of Object.values(reads)) {
          // A fresh process: nothing cached. Each read either does not touch the byte (and
          // answers exactly as before) or refuses.
          const outcome = await read(serviceWorld(aws)).then(
            () => 'answered',
            (error: unknown) => (error instanceof Error && error.name === 'AssertionError' ? Promise.reject(error) : error),
          );
          if (outcome === 'answered') continue;
          expect(outcome).toBeInstanceOf(IntegrityError);
          expect((outcome as Error).message).toContain(`index "bytes" version "${version}"`);
          refused++;
        }
        // Every object is read (the skeleton too: it serves from its S3 object) and refused.
        expect(refused, `byte ${at} of ${key}`).toBeGreaterThan(0);
        flips++;
      }
      await world.stores.objects.put(key, original);
    }
    expect(flips).toBe(keys.length * 6);
    expect((await world.stores.indexes.getCurrent(toOwnerId(ownerId), toIndexName('bytes')))?.version).toBe(version);
  });

  it('a part swapped in from another version (same length, validly published) is refused', async () => {
    const first = await publish('swap', 'sei', () => seiParts(sei.tree), sizesOf(seiParts(sei.tree)));
    const second = await publish('swap', 'sei', () => seiParts(otherTree(sei.tree)), sizesOf(seiParts(sei.tree)), { expectedCurrent: first });
    const older = await world.stores.objects.get(indexPartObjectKey(toOwnerId(ownerId), toIndexName('swap'), toVersionId(first), 'leaves'));
    expect(older.length).toBe((await world.stores.objects.get(indexPartObjectKey(toOwnerId(ownerId), toIndexName('swap'), toVersionId(second), 'leaves'))).length);
    await world.stores.objects.put(indexPartObjectKey(toOwnerId(ownerId), toIndexName('swap'), toVersionId(second), 'leaves'), older);
    await expect(serviceWorld(aws).services.search.search(toOwnerId(ownerId), toIndexName('swap'), request)).rejects.toMatchObject({
      code: 'INTEGRITY_FAILED',
      message: expect.stringContaining(`index "swap" version "${second}" object "leaves"`),
    });
  });

  it('an older signed version replayed as current: refused by a client that verified a newer one, accepted by a fresh client', async () => {
    const parts = seiParts(sei.tree);
    const v1 = await publish('replay', 'sei', () => parts, sizesOf(parts));
    const v2 = await publish('replay', 'sei', () => parts, sizesOf(parts), { expectedCurrent: v1 });
    const v3 = await publish('replay', 'sei', () => parts, sizesOf(parts), { expectedCurrent: v2 });
    const seen = new IndexVerifier();
    const current = await serviceWorld(aws).services.search.search(toOwnerId(ownerId), toIndexName('replay'), request);
    await seen.verify(toOwnerId(ownerId), toIndexName('replay'), current.version, current.provenance, 'sei');
    expect(current.version).toBe(v3);

    // The cloud moves the pointer back to v1 (every part of v1 still verifies).
    await world.stores.indexes.publish(toOwnerId(ownerId), toIndexName('replay'), toVersionId(v1), toVersionId(v3));
    const replayed = await serviceWorld(aws).services.search.search(toOwnerId(ownerId), toIndexName('replay'), request);
    expect(replayed.version).toBe(v1);
    await expect(seen.verify(toOwnerId(ownerId), toIndexName('replay'), replayed.version, replayed.provenance, 'sei')).rejects.toThrow(
      `CS1 served index "replay" version "${v1}", older than version "${v3}" this client already verified`,
    );
    // Not detected: a client that never saw v3.
    await expect(new IndexVerifier().verify(toOwnerId(ownerId), toIndexName('replay'), replayed.version, replayed.provenance, 'sei')).resolves.toMatchObject({ version: v1 });
    // Nor one step back (v3 replaced v2; warm functions may serve v2 for a pointer-cache TTL).
    await world.stores.indexes.publish(toOwnerId(ownerId), toIndexName('replay'), toVersionId(v2), toVersionId(v1));
    const stepBack = await serviceWorld(aws).services.search.search(toOwnerId(ownerId), toIndexName('replay'), request);
    await expect(seen.verify(toOwnerId(ownerId), toIndexName('replay'), stepBack.version, stepBack.provenance, 'sei')).resolves.toMatchObject({ version: v2 });
  });

  it('sealed: the routing data a client downloads must be what the owner signed', async () => {
    const sizes = sealedPartSizes(sealed.build, sealed.key.keyId);
    const version = await publish('sealed', 'sealed', async (v) => {
      const p = await sealIndex(sealed.build, sealed.key, { ownerId: toOwnerId(ownerId), indexName: toIndexName('sealed'), version: toVersionId(v) });
      return { routing: p.routing, leaves: p.leaves };
    }, { routing: sizes.routing, leaves: sizes.leaves });
    const described = await world.services.versions.describe(toOwnerId(ownerId), toIndexName('sealed'));
    const verified = await new IndexVerifier().verify(toOwnerId(ownerId), toIndexName('sealed'), described.version, described.provenance, 'sealed');
    const routing = await world.stores.objects.get(indexPartObjectKey(toOwnerId(ownerId), toIndexName('sealed'), toVersionId(version), 'routing'));
    const { sha256Hex } = await import('../../../lib/crypto/digest');
    expect(() => IndexVerifier.checkPart(verified, 'routing', routing.length, '0'.repeat(64))).toThrow(IntegrityError);
    IndexVerifier.checkPart(verified, 'routing', routing.length, await sha256Hex(routing));
    await SealedSearcher.open(sealed.key, { ownerId: toOwnerId(ownerId), indexName: toIndexName('sealed'), version: toVersionId(version) }, routing);
  });
});
