/**
 * Removing deleted images' envelopes, on the real emulators (dynalite, s3rver) with one injected
 * clock for CS1 and the clean-up (no sleeps): an envelope survives while a kept version may list
 * the image and goes after; one still referenced (by a version of an index the request did not
 * name, by an upload after the request) never goes; a refused request records nothing, and a
 * clean-up that fails half way changes nothing the next run does not finish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../lib/core/errors';
import { IndexCleanupService } from '../../../lib/service/versions/cleanup';
import { holdersOf } from '../../../lib/service/images/image-removals';
import { createIndexKinds } from '../../../lib/service/index-kinds/index-kinds';
import { IndexVersionService } from '../../../lib/service/versions/index-versions';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { DynamoIndexCatalog } from '../../../lib/storage/dynamo-index-catalog';
import { imageObjectKey, imageRemovalKey, imageRemovalsPrefix } from '../../../lib/storage/object-keys';
import { S3ObjectStore } from '../../../lib/storage/s3-object-store';
import type { IndexCatalog, ObjectStore } from '../../../lib/storage/types';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { seiWorld } from '../../support/sei-fixture';
import { ALL_ROLES, OWNER_A, OWNER_B, putPresigned, serviceWorld } from './support';
import type { ServiceWorld } from './support';
import { toImageId, toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** An S3 store whose deletes of chosen keys fail (a clean-up dying half way). */
class FailingDeletes extends S3ObjectStore {
  failing = new Set<string>();
  override async delete(key: string): Promise<void> {
    if (this.failing.has(key)) throw new Error(`injected failure deleting ${key}`);
    return super.delete(key);
  }
}

describe("removal of deleted images' envelopes", () => {
  let aws: LocalAws;
  let world: ServiceWorld;
  let versions: IndexVersionService;
  let objects: FailingDeletes;
  let catalog: IndexCatalog;
  /** The one clock of CS1 and the clean-up. */
  let clock = Date.now();
  const at = (ms: number) => (clock = ms);
  const sei = seiWorld(60, 6, 31, { maxLeafSize: 16 });

  const cleanup = () => new IndexCleanupService({ objects: objects as ObjectStore & Required<Pick<ObjectStore, 'list'>>, indexes: catalog as IndexCatalog & Required<Pick<IndexCatalog, 'listIndexes'>>, publishJobs: world.stores.publishJobs }, { now: () => new Date(clock) });

  async function upload(ownerId: string, imageId: string, seed: number): Promise<void> {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + seed) & 0xff);
    const [url] = await world.services.images.createUploads(toOwnerId(ownerId), [{ imageId, byteLength: bytes.length }]);
    await putPresigned(url, bytes);
  }

  const exists = async (ownerId: string, imageId: string) => (await objects.head(imageObjectKey(toOwnerId(ownerId), toImageId(imageId)))) !== undefined;
  const pending = async (ownerId: string) => {
    const keys: string[] = [];
    for await (const { key } of objects.list(imageRemovalsPrefix(toOwnerId(ownerId)))) keys.push(key.slice(imageRemovalsPrefix(toOwnerId(ownerId)).length));
    return keys.sort();
  };

  /** Publishes a version of an index (the contents do not matter here: which versions are kept does). */
  async function publish(ownerId: string, indexName: string, expectedCurrent: string | null, retentionDays = 1): Promise<string> {
    const parts = seiUploadParts(sei.tree).parts;
    const sizes = Object.fromEntries(Object.entries(parts).map(([n, b]) => [n, b.length]));
    const created = await versions.createVersion(toOwnerId(ownerId), toIndexName(indexName), { kind: 'sei', parts: sizes, retentionDays });
    for (const [name, bytes] of Object.entries(parts)) await putPresigned(created.uploads[name], bytes);
    await versions.publishVersion(toOwnerId(ownerId), toIndexName(indexName), created.version, expectedCurrent === null ? null : toVersionId(expectedCurrent));
    return created.version;
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    world = serviceWorld(aws, { now: () => new Date(clock) });
    objects = new FailingDeletes({ client: aws.s3, bucket: aws.bucketName });
    catalog = new DynamoIndexCatalog({ client: aws.documentClient, tableName: aws.tableName });
    versions = new IndexVersionService(world.stores, createIndexKinds(ALL_ROLES), () => new Date(clock));
  });
  afterAll(() => aws?.stop());

  it('keeps a deleted image\'s envelope while a kept version may list it, and removes it after', async () => {
    const t0 = Date.now();
    at(t0);
    await upload(OWNER_A, 'cat', 1);
    await upload(OWNER_A, 'dog', 2);
    const v1 = await publish(OWNER_A, 'photos', null);
    // The owner deletes "cat": a version without it serves, then the owner asks for the removal.
    at(t0 + MINUTE);
    const v2 = await publish(OWNER_A, 'photos', v1);
    at(t0 + 2 * MINUTE);
    const requested = await world.services.removals.request(toOwnerId(OWNER_A), { imageIds: ['cat'], absentFrom: { photos: v2 } });
    expect(requested).toEqual([{ imageId: 'cat', requestedAt: new Date(t0 + 2 * MINUTE).toISOString() }]);
    // Asking again keeps the first request.
    at(t0 + 3 * MINUTE);
    expect(await world.services.removals.request(toOwnerId(OWNER_A), { imageIds: ['cat'], absentFrom: { photos: v2 } })).toEqual(requested);
    expect(await pending(OWNER_A)).toEqual(['cat']);

    // Within the grace period nothing is decided; then v1 (replaced: sealed clients may still read it) holds it.
    at(t0 + 2 * MINUTE + HOUR - 1);
    expect((await cleanup().run()).imageRemovals).toEqual([{ ownerId: OWNER_A, imageId: 'cat', outcome: 'waiting', heldBy: [] }]);
    at(t0 + 2 * HOUR);
    expect((await cleanup().run()).imageRemovals).toEqual([{ ownerId: OWNER_A, imageId: 'cat', outcome: 'waiting', heldBy: [{ indexName: 'photos', version: v1 }] }]);
    expect(await exists(OWNER_A, 'cat')).toBe(true);
    // A user who got "cat" from v1 can still fetch it.
    await expect(world.services.images.createDownloads(toOwnerId(OWNER_A), ['cat'])).resolves.toHaveLength(1);

    // The next publish retires v1; it stays for the retention (1 day), and so does the envelope.
    at(t0 + 3 * HOUR);
    const v3 = await publish(OWNER_A, 'photos', v2);
    const retired = await cleanup().run();
    expect(retired.indexes.find((r) => r.indexName === 'photos')?.kept).toEqual({ [v3]: 'serving', [v2]: 'replaced', [v1]: 'retention' });
    expect(retired.imageRemovals).toEqual([{ ownerId: OWNER_A, imageId: 'cat', outcome: 'waiting', heldBy: [{ indexName: 'photos', version: v1 }] }]);
    at(t0 + 3 * HOUR + DAY - 1);
    expect((await cleanup().run()).envelopesRemoved).toBe(0);
    expect(await exists(OWNER_A, 'cat')).toBe(true);

    // v1 goes, and with it the last version that may list "cat": its envelope and request go too.
    at(t0 + 3 * HOUR + DAY);
    const swept = await cleanup().run();
    expect(swept.indexes.find((r) => r.indexName === 'photos')?.removed).toEqual([v1]);
    expect(swept.imageRemovals).toEqual([{ ownerId: OWNER_A, imageId: 'cat', outcome: 'removed' }]);
    expect(swept.envelopesRemoved).toBe(1);
    expect(await exists(OWNER_A, 'cat')).toBe(false);
    expect(await pending(OWNER_A)).toEqual([]);
    await expect(world.services.images.createDownloads(toOwnerId(OWNER_A), ['cat'])).rejects.toThrow(/no image with id "cat"/);
    // What was not deleted is untouched.
    expect(await exists(OWNER_A, 'dog')).toBe(true);
    expect((await cleanup().run()).imageRemovals).toEqual([]);
  });

  it('never removes an envelope a version may still list: an index the request did not name, an image uploaded again', async () => {
    const t0 = Date.now();
    at(t0);
    for (const [i, id] of ['owl', 'bee', 'ant'].entries()) await upload(OWNER_B, id, 10 + i);
    const main1 = await publish(OWNER_B, 'main', null);
    const faces = await publish(OWNER_B, 'faces', null);
    at(t0 + MINUTE);
    const main2 = await publish(OWNER_B, 'main', main1);
    // "faces" could not follow the delete (it is not named): its version from before the request holds "owl".
    at(t0 + 2 * MINUTE);
    await world.services.removals.request(toOwnerId(OWNER_B), { imageIds: ['owl', 'bee', 'ant'], absentFrom: { main: main2 } });
    // "bee" is added again (uploaded): its removal is cancelled.
    await upload(OWNER_B, 'bee', 99);
    expect(await pending(OWNER_B)).toEqual(['ant', 'owl']);
    // "ant" is uploaded again behind the record's back (a removal racing an add): its ETag changed.
    await objects.put(imageObjectKey(toOwnerId(OWNER_B), toImageId('ant')), Uint8Array.of(1, 2, 3), 'application/octet-stream');

    at(t0 + 3 * MINUTE);
    await publish(OWNER_B, 'main', main2);
    await cleanup().run();
    // Far past every retention: main's old versions are gone, "faces" still serves its only version.
    at(t0 + 400 * DAY);
    const report = await cleanup().run();
    expect(report.indexes.find((r) => r.ownerId === OWNER_B && r.indexName === 'main')?.removed).toEqual([main1]);
    const held = { outcome: 'waiting', heldBy: [{ indexName: 'faces', version: faces }] };
    expect(report.imageRemovals.filter((r) => r.ownerId === OWNER_B)).toEqual([
      { ownerId: OWNER_B, imageId: 'ant', ...held },
      { ownerId: OWNER_B, imageId: 'owl', ...held },
    ]);
    for (const id of ['owl', 'bee', 'ant']) expect(await exists(OWNER_B, id)).toBe(true);

    // Once "faces" publishes versions without them (after the request) and the old one goes,
    // "owl" goes; "ant", uploaded again since, stays.
    const faces2 = await publish(OWNER_B, 'faces', faces, 0);
    await publish(OWNER_B, 'faces', faces2, 0);
    await cleanup().run();
    at(t0 + 400 * DAY + HOUR);
    expect((await cleanup().run()).imageRemovals).toEqual([
      { ownerId: OWNER_B, imageId: 'ant', outcome: 'cancelled' },
      { ownerId: OWNER_B, imageId: 'owl', outcome: 'removed' },
    ]);
    expect(await exists(OWNER_B, 'owl')).toBe(false);
    expect(await exists(OWNER_B, 'ant')).toBe(true);
    expect(await exists(OWNER_B, 'bee')).toBe(true);
    expect(await pending(OWNER_B)).toEqual([]);
  });

  it('a refused request records nothing; a clean-up failing half way is finished by the next run', async () => {
    const owner = toOwnerId('c'.repeat(52));
    const t0 = Date.now();
    at(t0);
    await upload(owner, 'fox', 3);
    const v1 = await publish(owner, 'zoo', null, 0);
    const request = (imageIds: string[], absentFrom: Record<string, string>) => world.services.removals.request(owner, { imageIds, absentFrom });
    await expect(request(['fox', 'gnu'], { zoo: v1 })).rejects.toThrow(new NotFoundError('no image with id "gnu"'));
    await expect(request(['fox'], { zoo: '20200101T000000000Z-000000000000' })).rejects.toThrow(/index "zoo" has no published version "20200101T000000000Z-000000000000"/);
    await expect(request(['fox'], { other: v1 })).rejects.toThrow(NotFoundError);
    await expect(request(['fox', 'fox'], {})).rejects.toThrow(/lists an image twice/);
    await expect(request(['../x'], {})).rejects.toThrow(/image id "..\/x" is invalid/);
    await expect(request(['fox'], { 'a/b': v1 })).rejects.toThrow(/index name/);
    expect(await pending(owner)).toEqual([]);

    at(t0 + MINUTE);
    const v2 = await publish(owner, 'zoo', v1, 0);
    await request(['fox'], { zoo: v2 });
    at(t0 + MINUTE + HOUR);
    await publish(owner, 'zoo', v2, 0);
    at(t0 + 3 * HOUR);
    await cleanup().run();
    // The envelope's delete fails: the request stays, and so does the envelope.
    at(t0 + 5 * HOUR);
    objects.failing.add(imageObjectKey(owner, toImageId('fox')));
    const failed = await cleanup().run();
    expect(failed.failures).toEqual([{ ownerId: owner, message: expect.stringMatching(/injected failure/) }]);
    expect(await exists(owner, 'fox')).toBe(true);
    expect(await pending(owner)).toEqual(['fox']);
    // Now the record's delete fails after the envelope went: the next run finishes.
    objects.failing.clear();
    objects.failing.add(imageRemovalKey(owner, toImageId('fox')));
    expect((await cleanup().run()).failures).toHaveLength(1);
    expect(await exists(owner, 'fox')).toBe(false);
    objects.failing.clear();
    expect((await cleanup().run()).imageRemovals).toEqual([{ ownerId: owner, imageId: 'fox', outcome: 'removed' }]);
    expect(await pending(owner)).toEqual([]);
  });

  it('versions kept only because a newer one reads their blocks do not hold an envelope; older names than absentFrom do', () => {
    const removal = { imageId: toImageId('x'), requestedAt: '2026-01-01T00:00:00.000Z', absentFrom: { sealed: '20260101T000000000Z-bbbbbbbbbbbb' } };
    const createdAt = (v: string) => new Date(`${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}T${v.slice(9, 11)}:${v.slice(11, 13)}:${v.slice(13, 15)}.${v.slice(15, 18)}Z`);
    const kept = [
      { indexName: toIndexName('sealed'), version: '20251231T000000000Z-aaaaaaaaaaaa', onlyReferenced: false },
      { indexName: toIndexName('sealed'), version: '20260101T000000000Z-bbbbbbbbbbbb', onlyReferenced: false },
      { indexName: toIndexName('sei'), version: '20251201T000000000Z-cccccccccccc', onlyReferenced: true },
      { indexName: toIndexName('sei'), version: '20251231T000000000Z-dddddddddddd', onlyReferenced: false },
      { indexName: toIndexName('sei'), version: '20260102T000000000Z-eeeeeeeeeeee', onlyReferenced: false },
      { indexName: toIndexName('odd'), version: 'no-time', onlyReferenced: false },
    ];
    expect(holdersOf(removal, kept, (v) => (/^\d{8}T/.test(v) ? createdAt(v) : undefined))).toEqual([
      { indexName: toIndexName('sealed'), version: '20251231T000000000Z-aaaaaaaaaaaa' },
      { indexName: toIndexName('sei'), version: '20251231T000000000Z-dddddddddddd' },
      { indexName: 'odd', version: 'no-time' },
    ]);
  });
});
