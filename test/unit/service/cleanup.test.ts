/**
 * The clean-up on the real emulators (dynalite, s3rver) with an injected clock (no sleeps):
 * nothing reachable is removed (the serving version, the one it replaced, versions within the
 * retention or the grace period, blocks an SEI update still reads, versions being uploaded), and
 * nothing unreachable outlives its time (superseded versions after the retention, versions never
 * published after a day).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEARCH_K, MAX_SEARCH_PROBES } from '../../../lib/api/limits';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { createdAtOf, IndexCleanupService } from '../../../lib/service/versions/cleanup';
import { newVersionName } from '../../../lib/service/versions/version-names';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { sealIndex, sealedPartSizes } from '../../../lib/sealed/build';
import { DynamoIndexCatalog } from '../../../lib/storage/dynamo-index-catalog';
import { DynamoPublishJobStore } from '../../../lib/storage/dynamo-publish-jobs';
import type { PublishJobRecord } from '../../../lib/storage/types';
import { S3ObjectStore } from '../../../lib/storage/s3-object-store';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { sealedWorld } from '../../support/sealed-fixture';
import { row, seiWorld } from '../../support/sei-fixture';
import { OWNER_A, OWNER_B, putPresigned, serviceWorld } from './support';
import type { ServiceWorld } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

describe('clean-up of index versions', () => {
  let aws: LocalAws;
  let world: ServiceWorld;
  const sei = seiWorld(200, 6, 31, { maxLeafSize: 16 });
  const trapdoor = Array.from(sei.generator.trapdoor(row(sei.vectors, 3)));
  const request = { trapdoors: [trapdoor], k: MAX_SEARCH_K, probes: MAX_SEARCH_PROBES };

  /** A clean-up whose clock the test sets. */
  function cleanup(): { service: IndexCleanupService; at: (ms: number) => void } {
    let now = Date.now();
    const stores = {
      objects: new S3ObjectStore({ client: aws.s3, bucket: aws.bucketName }),
      indexes: new DynamoIndexCatalog({ client: aws.documentClient, tableName: aws.tableName }),
      publishJobs: new DynamoPublishJobStore({ client: aws.documentClient, tableName: aws.tableName }),
    };
    return { service: new IndexCleanupService(stores, { now: () => new Date(now) }), at: (ms) => (now = ms) };
  }

  async function keysOf(ownerId: string, indexName: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const { key } of new S3ObjectStore({ client: aws.s3, bucket: aws.bucketName }).list(`owners/${ownerId}/indexes/${indexName}/`)) keys.push(key);
    return keys.sort();
  }

  /** Versions with anything left: catalog items or objects. */
  async function versionsLeft(ownerId: string, indexName: string): Promise<string[]> {
    const catalogued = (await world.stores.indexes.listVersions(toOwnerId(ownerId), toIndexName(indexName))).map((v) => v.version);
    const stored = (await keysOf(ownerId, indexName)).filter((key) => !key.endsWith('/cleanup-state.json')).map((key) => key.split('/').at(-2)!);
    return [...new Set([...catalogued, ...stored])].sort();
  }

  async function publishSei(ownerId: string, indexName: string, expectedCurrent: string | null, retentionDays?: number): Promise<string> {
    const parts = seiUploadParts(sei.tree).parts;
    const sizes = Object.fromEntries(Object.entries(parts).map(([n, b]) => [n, b.length]));
    const created = await world.services.versions.createVersion(toOwnerId(ownerId), toIndexName(indexName), { kind: 'sei', parts: sizes, ...(retentionDays !== undefined ? { retentionDays } : {}) });
    for (const [name, bytes] of Object.entries(parts)) await putPresigned(created.uploads[name], bytes);
    await world.services.versions.publishVersion(toOwnerId(ownerId), toIndexName(indexName), created.version, expectedCurrent === null ? null : toVersionId(expectedCurrent));
    return created.version;
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    world = serviceWorld(aws);
  });
  afterAll(() => aws?.stop());

  it('keeps the serving and the replaced version always, the others for the retention from first sight, then removes everything of them', async () => {
    const v1 = await publishSei(OWNER_A, 'photos', null);
    const v2 = await publishSei(OWNER_A, 'photos', v1);
    const v3 = await publishSei(OWNER_A, 'photos', v2);
    const reference = (await serviceWorld(aws).services.search.search(toOwnerId(OWNER_A), toIndexName('photos'), request)).results;
    const { service, at } = cleanup();
    const t0 = Date.now();

    at(t0);
    const first = await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('photos'));
    expect(first).toMatchObject({ serving: v3, retentionDays: 7, kept: { [v3]: 'serving', [v2]: 'replaced', [v1]: 'retention' }, removed: [] });
    at(t0 + 7 * DAY - 1);
    expect((await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('photos'))).removed).toEqual([]);
    at(t0 + 7 * DAY);
    const swept = await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('photos'));
    expect(swept.removed).toEqual([v1]);
    expect(swept.objectsRemoved).toBeGreaterThanOrEqual(3); // parts, derived directory, declaration
    expect(await versionsLeft(OWNER_A, 'photos')).toEqual([v2, v3].sort());
    expect(await world.stores.indexes.getVersion(toOwnerId(OWNER_A), toIndexName('photos'), toVersionId(v1))).toBeUndefined();
    // What serves is untouched: a fresh process answers exactly as before, and v2 still loads.
    expect((await serviceWorld(aws).services.search.search(toOwnerId(OWNER_A), toIndexName('photos'), request)).results).toEqual(reference);
    await expect(serviceWorld(aws).services.indexCache.load(toOwnerId(OWNER_A), toIndexName('photos'), toVersionId(v2))).resolves.toMatchObject({ version: v2 });

    // Much later, with nothing new published: the serving and replaced versions still stay.
    at(t0 + 400 * DAY);
    expect((await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('photos'))).removed).toEqual([]);
  });

  it("follows the owner's retention, never below the grace period after a pointer move", async () => {
    const v1 = await publishSei(OWNER_A, 'brief', null, 0);
    const v2 = await publishSei(OWNER_A, 'brief', v1, 0);
    const v3 = await publishSei(OWNER_A, 'brief', v2, 0);
    const { service, at } = cleanup();
    const t0 = Date.now();
    at(t0);
    expect(await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('brief'))).toMatchObject({ retentionDays: 0, kept: { [v1]: 'retention' } });
    // Retention 0: v1 may still be read by a search that started before the pointer moved.
    at(t0 + HOUR - 1);
    expect((await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('brief'))).removed).toEqual([]);
    at(t0 + HOUR);
    expect((await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('brief'))).removed).toEqual([v1]);
    expect(await versionsLeft(OWNER_A, 'brief')).toEqual([v2, v3].sort());

    // A longer retention set with the next version applies from then on.
    const v4 = await publishSei(OWNER_A, 'brief', v3, 2);
    at(t0 + 2 * HOUR);
    expect(await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('brief'))).toMatchObject({ retentionDays: 2, kept: { [v4]: 'serving', [v3]: 'replaced', [v2]: 'retention' } });
    at(t0 + 2 * HOUR + 2 * DAY - 1);
    expect((await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('brief'))).removed).toEqual([]);
    at(t0 + 2 * HOUR + 2 * DAY);
    expect((await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('brief'))).removed).toEqual([v2]);
  });

  it('keeps the versions whose blocks an SEI update still reads, and removes the updates nothing reads', async () => {
    const base = await publishSei(OWNER_B, 'updated', null, 0);
    const f = (i: number) => Float64Array.from(row(sei.vectors, i), (v) => v + 1e-3);
    const add = (i: number) =>
      world.services.updates.addImage(toOwnerId(OWNER_B), toIndexName('updated'), { imageId: `new-${i}`, vector: Array.from(encryptIndexVector(sei.owner, f(i))), placementTrapdoor: Array.from(sei.generator.trapdoor(f(i))) });
    const u1 = (await add(1)).version;
    const u2 = (await add(2)).version;
    const u3 = (await add(3)).version;
    const reference = (await serviceWorld(aws).services.search.search(toOwnerId(OWNER_B), toIndexName('updated'), request)).results;
    const { service, at } = cleanup();
    const t0 = Date.now();
    at(t0);
    const seen = await service.cleanIndex(toOwnerId(OWNER_B), toIndexName('updated'));
    // u3 serves and reads the base version's leaves (and whichever update wrote its changed blocks).
    expect(seen.kept[u3]).toBe('serving');
    expect(seen.kept[u2]).toBe('replaced');
    expect(seen.kept[base]).toBe('retention');
    at(t0 + HOUR);
    const swept = await service.cleanIndex(toOwnerId(OWNER_B), toIndexName('updated'));
    expect(swept.kept[base]).toBe('referenced');
    const left = await versionsLeft(OWNER_B, 'updated');
    expect(left).toContain(base);
    // Exactly the kept versions are left (u1 only if u3 still reads a block it wrote).
    expect(left).toEqual(Object.keys(swept.kept).sort());
    // Whatever was removed, a fresh process answers exactly as before: nothing it reads went.
    expect((await serviceWorld(aws).services.search.search(toOwnerId(OWNER_B), toIndexName('updated'), request)).results).toEqual(reference);
    expect([...swept.removed].every((v) => v === u1)).toBe(true);
  });

  it('removes versions never published a day after their creation, and keeps younger ones being uploaded', async () => {
    const live = await publishSei(OWNER_B, 'drafts', null);
    const parts = seiUploadParts(sei.tree).parts;
    const sizes = Object.fromEntries(Object.entries(parts).map(([n, b]) => [n, b.length]));
    const abandoned = await world.services.versions.createVersion(toOwnerId(OWNER_B), toIndexName('drafts'), { kind: 'sei', parts: sizes });
    await putPresigned(abandoned.uploads.leaves, parts.leaves);
    const created = createdAtOf(abandoned.version)!.getTime();
    const { service, at } = cleanup();
    at(created + DAY - 1);
    expect(await service.cleanIndex(toOwnerId(OWNER_B), toIndexName('drafts'))).toMatchObject({ kept: { [live]: 'serving', [abandoned.version]: 'unpublished' }, removed: [] });
    at(created + DAY);
    const swept = await service.cleanIndex(toOwnerId(OWNER_B), toIndexName('drafts'));
    expect(swept.removed).toEqual([abandoned.version]);
    expect(swept.objectsRemoved).toBe(2); // its declaration and its one upload
    expect(await versionsLeft(OWNER_B, 'drafts')).toEqual([live]);

    // An index with nothing published yet, found only in the bucket, is cleaned by a full run.
    const orphan = await world.services.versions.createVersion(toOwnerId(OWNER_B), toIndexName('never'), { kind: 'sei', parts: sizes });
    at(createdAtOf(orphan.version)!.getTime() + DAY);
    const report = await service.run();
    expect(report.failures).toEqual([]);
    expect(report.indexes.find((r) => r.indexName === 'never')).toMatchObject({ serving: null, removed: [orphan.version] });
    expect(await keysOf(OWNER_B, 'never')).toEqual([]);
  });

  it('removes the publish job records of removed versions and of versions that no longer exist, never of a kept version or a job still running', async () => {
    const jobs = world.stores.publishJobs;
    const v1 = await publishSei(OWNER_B, 'jobs', null);
    const v2 = await publishSei(OWNER_B, 'jobs', v1);
    const v3 = await publishSei(OWNER_B, 'jobs', v2);
    const t0 = Date.now();
    const record = (version: string, status: PublishJobRecord['status'], leaseUntil: number): PublishJobRecord => ({
      ownerId: toOwnerId(OWNER_B),
      indexName: toIndexName('jobs'),
      version: toVersionId(version),
      jobId: `${version.slice(-12)}${'0'.repeat(20)}`,
      status,
      expectedCurrent: null,
      startedAt: new Date(t0 - HOUR).toISOString(),
      updatedAt: new Date(t0 - HOUR).toISOString(),
      leaseUntil: new Date(leaseUntil).toISOString(),
      progress: { phase: 'queued', partsDone: 0, partsTotal: 1, bytesDone: 0, bytesTotal: 1 },
    });
    // A finished job of a version that is gone, and a running one whose version is gone too
    // (its worker still holds the lease for a day).
    const gone = newVersionName(new Date(t0 - 2 * DAY));
    const stillRunning = newVersionName(new Date(t0 - 2 * DAY));
    for (const each of [record(v1, 'succeeded', t0), record(v3, 'succeeded', t0), record(gone, 'failed', t0), record(stillRunning, 'running', t0 + DAY)]) await jobs.start(each);
    const { service, at } = cleanup();

    at(t0);
    const first = await service.cleanIndex(toOwnerId(OWNER_B), toIndexName('jobs'));
    expect(first).toMatchObject({ kept: { [v1]: 'retention', [v2]: 'replaced', [v3]: 'serving' }, removed: [], publishJobsRemoved: 1 });
    expect((await jobs.listVersions(toOwnerId(OWNER_B), toIndexName('jobs'))).sort()).toEqual([v1, v3, stillRunning].sort());
    expect((await jobs.get(toOwnerId(OWNER_B), toIndexName('jobs'), stillRunning))?.status).toBe('running');

    at(t0 + 8 * DAY);
    const second = await service.cleanIndex(toOwnerId(OWNER_B), toIndexName('jobs'));
    expect(second).toMatchObject({ removed: [v1], publishJobsRemoved: 2 });
    expect(await jobs.listVersions(toOwnerId(OWNER_B), toIndexName('jobs'))).toEqual([v3]);
    expect(await jobs.get(toOwnerId(OWNER_B), toIndexName('jobs'), toVersionId(v3))).toMatchObject({ status: 'succeeded' });
    // Nothing of the serving index changed.
    expect((await serviceWorld(aws).services.search.search(toOwnerId(OWNER_B), toIndexName('jobs'), request)).results.length).toBeGreaterThan(0);
  });

  it('sealed: a client may still read the replaced version; older ones go after the retention', async () => {
    const sealed = await sealedWorld(200, 6, 9, { leafSize: 16, realLeaves: 1, leavesPerQuery: 3 });
    const sizes = sealedPartSizes(sealed.build, sealed.key.keyId);
    const versions: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await world.services.versions.createVersion(toOwnerId(OWNER_A), toIndexName('vault'), { kind: 'sealed', parts: { routing: sizes.routing, leaves: sizes.leaves }, retentionDays: 1 });
      const parts = await sealIndex(sealed.build, sealed.key, { ownerId: toOwnerId(OWNER_A), indexName: toIndexName('vault'), version: created.version });
      await putPresigned(created.uploads.routing, parts.routing);
      await putPresigned(created.uploads.leaves, parts.leaves);
      await world.services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('vault'), created.version, versions.length > 0 ? toVersionId(versions.at(-1)!) : null);
      versions.push(created.version);
    }
    const { service, at } = cleanup();
    const t0 = Date.now();
    at(t0);
    await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('vault'));
    at(t0 + DAY);
    expect((await service.cleanIndex(toOwnerId(OWNER_A), toIndexName('vault'))).removed).toEqual([versions[0]]);
    // The replaced version still answers leaf requests.
    const leaves = await serviceWorld(aws).services.sealedLeaves.leaves(toOwnerId(OWNER_A), toIndexName('vault'), { version: versions[1], leaves: [0, 1, 2] });
    expect(leaves.leaves).toEqual([0, 1, 2]);
  });
});
