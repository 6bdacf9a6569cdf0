/**
 * Publish jobs on the emulators (dynalite, s3rver): a job reports its phases and ends with the
 * version serving; a job that fails leaves the previous version serving and records why; a job
 * whose worker dies in the middle is reported failed once its lease has passed, a new job
 * takes over, and the dead worker, should it wake up, can change nothing. The clock is the
 * service's own (injected), and the worker is stopped at a chosen read: no sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishJobService } from '../../../lib/service/versions/publish-jobs';
import type { PublishJobEvent, PublishJobView } from '../../../lib/service/versions/publish-jobs';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { indexPartObjectKey } from '../../../lib/storage/object-keys';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { row, seiWorld } from '../../support/sei-fixture';
import { OWNER_A, serviceWorld, uploadVersion } from './support';
import type { ServiceWorld } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const TIMINGS = { leaseMs: 60_000, firstLeaseMs: 120_000 };

/** A launcher that only records what it was asked to start (the test plays the worker). */
function recordingLauncher(): { launch: (event: PublishJobEvent) => Promise<void>; events: PublishJobEvent[] } {
  const events: PublishJobEvent[] = [];
  return { events, launch: async (event) => void events.push(event) };
}

describe('publish jobs', () => {
  let aws: LocalAws;
  const first = seiWorld(200, 6, 41, { maxLeafSize: 16 });
  const second = seiWorld(260, 6, 42, { maxLeafSize: 16 });

  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(() => aws?.stop());

  /** A job service on `world`'s stores with a clock the test moves. */
  function jobsOf(world: ServiceWorld) {
    const clock = { offsetMs: 0 };
    const service = new PublishJobService(world.stores, world.services.versions, TIMINGS, () => new Date(Date.now() + clock.offsetMs));
    return { service, clock };
  }

  async function serving(world: ServiceWorld, index: string): Promise<string | undefined> {
    return (await world.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName(index)))?.version;
  }

  it('runs a job through its phases to the pointer flip, and reports it', async () => {
    const world = serviceWorld(aws);
    const { service } = jobsOf(world);
    const version = await uploadVersion(world.services, OWNER_A, 'jobs', seiUploadParts(first.tree).parts);
    const launcher = recordingLauncher();
    const started = await service.start(toOwnerId(OWNER_A), toIndexName('jobs'), toVersionId(version), null, undefined, launcher);
    expect(started).toMatchObject({ version, status: 'running', expectedCurrent: null, progress: { phase: 'queued' } });
    expect(launcher.events).toEqual([{ ownerId: OWNER_A, indexName: 'jobs', version, jobId: expect.stringMatching(/^[0-9a-f]{32}$/) }]);
    // The same request again (its answer was lost): the same job, nothing new started.
    expect(await service.start(toOwnerId(OWNER_A), toIndexName('jobs'), toVersionId(version), null, undefined, launcher)).toEqual(started);
    expect(launcher.events).toHaveLength(1);
    expect(await serving(world, 'jobs')).toBeUndefined();

    // The worker, watched from the status route at every read of a copied part.
    const seen: PublishJobView[] = [];
    world.objects.beforeGetRange = async () => void seen.push(await service.status(toOwnerId(OWNER_A), toIndexName('jobs'), toVersionId(version)));
    const done = await service.run(launcher.events[0]);
    world.objects.beforeGetRange = undefined;
    const parts = seiUploadParts(first.tree).parts;
    const bytes = parts.skeleton.length + parts.leaves.length;
    expect(done).toMatchObject({ status: 'succeeded', progress: { phase: 'done', partsDone: 2, partsTotal: 2, bytesDone: bytes, bytesTotal: bytes }, result: { version, previousVersion: null, kind: 'sei' } });
    expect(seen.every((job) => job.status === 'running')).toBe(true);
    expect([...new Set(seen.map((job) => job.progress.phase))]).toEqual(['checking', 'validating']);
    expect(await serving(world, 'jobs')).toBe(version);
    expect(await service.status(toOwnerId(OWNER_A), toIndexName('jobs'), toVersionId(version))).toEqual(done);

    // Publishing the serving version again answers at once, as succeeded.
    expect(await service.start(toOwnerId(OWNER_A), toIndexName('jobs'), toVersionId(version), null, undefined, launcher)).toMatchObject({ status: 'succeeded', result: { version } });
    expect(launcher.events).toHaveLength(1);
  });

  it('refuses at once what it can check in the request: a stale expectedCurrent, an unknown version', async () => {
    const world = serviceWorld(aws);
    const { service } = jobsOf(world);
    const launcher = recordingLauncher();
    const version = await uploadVersion(world.services, OWNER_A, 'quick', seiUploadParts(first.tree).parts);
    await expect(service.start(toOwnerId(OWNER_A), toIndexName('quick'), toVersionId(version), toVersionId('20200101T000000000Z-000000000000'), undefined, launcher)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(service.start(toOwnerId(OWNER_A), toIndexName('quick'), toVersionId('20990101T000000000Z-000000000000'), null, undefined, launcher)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.status(toOwnerId(OWNER_A), toIndexName('quick'), toVersionId(version))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/no publish of version/) });
    expect(launcher.events).toEqual([]);
  });

  it('a failing job records its typed error; the previous version serves and its copies are gone', async () => {
    const world = serviceWorld(aws);
    const { service } = jobsOf(world);
    const launcher = recordingLauncher();
    const v1 = await uploadVersion(world.services, OWNER_A, 'failing', seiUploadParts(first.tree).parts);
    await service.start(toOwnerId(OWNER_A), toIndexName('failing'), toVersionId(v1), null, undefined, launcher);
    await service.run(launcher.events[0]);
    const broken = seiUploadParts(second.tree).parts;
    const leaves = broken.leaves.slice();
    leaves.fill(0xff, 0, 8);
    const v2 = await uploadVersion(world.services, OWNER_A, 'failing', { skeleton: broken.skeleton, leaves });
    await service.start(toOwnerId(OWNER_A), toIndexName('failing'), toVersionId(v2), toVersionId(v1), undefined, launcher);
    const failed = await service.run(launcher.events[1]);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'MALFORMED_DATA', message: expect.stringMatching(/part "leaves", leaf 0/) } });
    expect(await service.status(toOwnerId(OWNER_A), toIndexName('failing'), toVersionId(v2))).toEqual(failed);
    expect(await serving(world, 'failing')).toBe(v1);
    expect(await world.stores.indexes.getVersion(toOwnerId(OWNER_A), toIndexName('failing'), toVersionId(v2))).toBeUndefined();
    expect(await world.stores.objects.head(indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('failing'), toVersionId(v2), 'leaves'))).toBeUndefined();
  });

  it('a worker that dies mid-job: reported failed once its lease passed, a new job takes over, and the dead one changes nothing', async () => {
    const world = serviceWorld(aws);
    const { service, clock } = jobsOf(world);
    const launcher = recordingLauncher();
    const v1 = await uploadVersion(world.services, OWNER_A, 'crash', seiUploadParts(first.tree).parts);
    await service.start(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v1), null, undefined, launcher);
    await service.run(launcher.events[0]);
    const v2 = await uploadVersion(world.services, OWNER_A, 'crash', seiUploadParts(second.tree).parts);
    await service.start(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2), toVersionId(v1), undefined, launcher);

    // The worker gets as far as reading its first copied part, and stops there for good.
    let reached!: () => void;
    const atRead = new Promise<void>((resolve) => (reached = resolve));
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    world.objects.beforeGetRange = async () => {
      world.objects.beforeGetRange = undefined;
      reached();
      await woken;
    };
    const dead = service.run(launcher.events[1]);
    await atRead;
    expect(await service.status(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2))).toMatchObject({ status: 'running', progress: { phase: 'checking' } });
    // A second publish of the version is refused while the lease holds.
    await expect(service.start(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2), toVersionId('20200101T000000000Z-000000000000'), undefined, launcher)).rejects.toMatchObject({ code: 'CONFLICT' });

    // The lease passes without a renewal: the job is reported failed, nothing was published.
    clock.offsetMs = TIMINGS.leaseMs + 1_000;
    expect(await service.status(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2))).toMatchObject({
      status: 'failed',
      error: { code: 'UNAVAILABLE', message: expect.stringMatching(/stopped at "checking" without finishing .*publish again/) },
    });
    expect(await serving(world, 'crash')).toBe(v1);

    // The owner publishes again: a new job takes over and completes.
    const retried = await service.start(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2), toVersionId(v1), undefined, launcher);
    expect(retried).toMatchObject({ status: 'running', progress: { phase: 'queued' } });
    expect(launcher.events[2].jobId).not.toBe(launcher.events[1].jobId);
    const finished = await service.run(launcher.events[2]);
    expect(finished).toMatchObject({ status: 'succeeded', result: { version: v2, previousVersion: v1 } });
    expect(await serving(world, 'crash')).toBe(v2);

    // The dead worker wakes up: it finds its lease gone and stops without writing anything.
    wake();
    expect(await dead).toBeUndefined();
    expect(await service.status(toOwnerId(OWNER_A), toIndexName('crash'), toVersionId(v2))).toEqual(finished);
    expect(await serving(world, 'crash')).toBe(v2);
    const search = await world.services.search.search(toOwnerId(OWNER_A), toIndexName('crash'), { trapdoors: [Array.from(second.generator.trapdoor(row(second.vectors, 0)))], k: 3 });
    expect(search.version).toBe(v2);
  });

  it('a worker stopped after the pointer flip is reported succeeded once its lease passed', async () => {
    const world = serviceWorld(aws);
    const { service, clock } = jobsOf(world);
    const launcher = recordingLauncher();
    const v1 = await uploadVersion(world.services, OWNER_A, 'late', seiUploadParts(first.tree).parts);
    await service.start(toOwnerId(OWNER_A), toIndexName('late'), toVersionId(v1), null, undefined, launcher);
    // The worker's own work, without its last write (it died right after the flip).
    await world.services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('late'), toVersionId(v1), null);
    expect(await service.status(toOwnerId(OWNER_A), toIndexName('late'), toVersionId(v1))).toMatchObject({ status: 'running' });
    clock.offsetMs = TIMINGS.firstLeaseMs + 1_000;
    expect(await service.status(toOwnerId(OWNER_A), toIndexName('late'), toVersionId(v1))).toMatchObject({ status: 'succeeded', progress: { phase: 'done' }, result: { version: v1, previousVersion: null } });
  });
});
