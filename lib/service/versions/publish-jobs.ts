/**
 * Asynchronous publish: the publish route checks what it can at once (the index still serves
 * `expectedCurrent`, the version exists), records a running job and starts a worker (an
 * asynchronous Lambda invocation in AWS, an execution environment of the local cloud); the
 * worker runs the whole publish (copy, digests, validation, staging, the pointer flip) and
 * records its progress and outcome; the status route reports them.
 *
 * A job holds a lease that its worker renews while it works (every lease/4, and with every
 * progress report). A worker that crashed, ran out of memory or was stopped stops renewing it:
 * once the lease has passed, the status route reports the job failed (or succeeded, if the
 * pointer already names the version), and a new publish of the version may start. A worker
 * that finds its lease gone (another job took over) stops before the pointer flip and leaves
 * the record alone. A failed job, like a refused synchronous publish, changes nothing that
 * serves: the pointer moves only at the very end, with one conditional write.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, InvalidInputError, isBlindsightError, NotFoundError, UnavailableError } from '../../core/errors';
import type { IndexCatalog, JsonObject, PublishJobProgress, PublishJobRecord, PublishJobStore } from '../../storage/types';
import { PublishAbandonedError } from './index-versions';
import type { IndexVersionService, PublishProgress, PublishResult } from './index-versions';
import { parseIndexName, parseOwnerId, parseVersionId } from '../../core/ids';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

/** What a worker is started with: the job to run (never parts or keys). */
export interface PublishJobEvent {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly jobId: string;
}

/** Starts a worker for a job without waiting for it (Lambda Event invocation, or a test's runner). */
export interface PublishJobLauncher {
  launch(event: PublishJobEvent): Promise<void>;
}

/** How the route and the status report a job (the API's PublishJob). */
export interface PublishJobView {
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly status: PublishJobRecord['status'];
  readonly expectedCurrent: VersionId | null;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly progress: PublishJobProgress;
  readonly result?: JsonObject;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface PublishJobTimings {
  /** How long a lease lasts from its last renewal. */
  readonly leaseMs: number;
  /**
   * The first lease, from the start until the worker's first renewal: covers the time an
   * asynchronous invocation may wait in Lambda's queue (the stack's maxEventAge).
   */
  readonly firstLeaseMs: number;
}

/** 60 s leases renewed every 15 s; the worker's first renewal must come within 2 minutes. */
export const DEFAULT_PUBLISH_JOB_TIMINGS: PublishJobTimings = { leaseMs: 60_000, firstLeaseMs: 120_000 };

const QUEUED: PublishJobProgress = { phase: 'queued', partsDone: 0, partsTotal: 0, bytesDone: 0, bytesTotal: 0 };
/** Part-by-part progress is written at most this often (phase changes always are). */
const PROGRESS_WRITE_MS = 1_000;

function viewOf(job: PublishJobRecord): PublishJobView {
  return {
    indexName: job.indexName,
    version: job.version,
    status: job.status,
    expectedCurrent: job.expectedCurrent,
    startedAt: job.startedAt,
    updatedAt: job.updatedAt,
    progress: job.progress,
    ...(job.result !== undefined ? { result: job.result } : {}),
    ...(job.error !== undefined ? { error: job.error } : {}),
  };
}

function resultJson(result: PublishResult): JsonObject {
  return {
    version: result.version,
    previousVersion: result.previousVersion,
    kind: result.kind,
    publishedAt: result.publishedAt,
    ...(result.warnings !== undefined ? { warnings: [...result.warnings] } : {}),
  };
}

/** The typed error a job's failure stands for, with a message the owner can act on. */
function failureOf(error: unknown): { code: string; message: string } {
  if (isBlindsightError(error) && error.code !== 'INTERNAL') return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: 'the publish job failed on CS1\'s side (see CS1\'s logs): publish again; nothing was changed' };
}

export class PublishJobService {
  constructor(
    private readonly stores: { readonly publishJobs: PublishJobStore; readonly indexes: Pick<IndexCatalog, 'getCurrent'> },
    private readonly versions: IndexVersionService,
    private readonly timings: PublishJobTimings = DEFAULT_PUBLISH_JOB_TIMINGS,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The publish route: checks, records a running job and launches its worker. Answers with
   * the job: already succeeded if the version serves; the running job if the same publish was
   * asked again while it runs. ConflictError for a stale expectedCurrent or while another
   * publish of the version (with another expectedCurrent) runs; UnavailableError if the worker
   * could not be started (the job is then recorded as failed).
   */
  async start(
    ownerId: OwnerId,
    indexName: IndexName,
    version: VersionId,
    expectedCurrent: VersionId | null,
    signedManifest: string | undefined,
    launcher: PublishJobLauncher,
  ): Promise<PublishJobView> {
    const already = await this.versions.checkPublish(ownerId, indexName, version, expectedCurrent);
    const now = this.now();
    if (already !== undefined) {
      const at = now.toISOString();
      return { indexName, version, status: 'succeeded', expectedCurrent, startedAt: at, updatedAt: at, progress: { ...QUEUED, phase: 'done' }, result: resultJson(already) };
    }
    const running = await this.stores.publishJobs.get(ownerId, indexName, version);
    if (running !== undefined && running.status === 'running' && running.leaseUntil >= now.toISOString()) {
      // A retried request (its answer was lost): the same job.
      if (running.expectedCurrent === expectedCurrent) return viewOf(running);
      throw new ConflictError(`a publish of version "${version}" of index "${indexName}" is already running: wait for it (GET its publish status)`);
    }
    const job: PublishJobRecord = {
      ownerId,
      indexName,
      version,
      jobId: randomBytes(16).toString('hex'),
      status: 'running',
      expectedCurrent,
      startedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      leaseUntil: new Date(now.getTime() + this.timings.firstLeaseMs).toISOString(),
      progress: QUEUED,
      // The worker checks it against the parts (the owner's signature of the version).
      ...(signedManifest !== undefined ? { signedManifest } : {}),
    };
    await this.stores.publishJobs.start(job);
    try {
      await launcher.launch({ ownerId, indexName, version, jobId: job.jobId });
    } catch (error) {
      const failure = { code: 'UNAVAILABLE', message: 'the publish job could not be started: publish again shortly; nothing was changed' };
      await this.stores.publishJobs.finish(ownerId, indexName, version, job.jobId, { status: 'failed', error: failure }, this.now()).catch(() => false);
      throw new UnavailableError(failure.message, { cause: error });
    }
    // An in-process launcher (tests) has run the job already: report where it is now.
    return viewOf((await this.stores.publishJobs.get(ownerId, indexName, version)) ?? job);
  }

  /**
   * The status route: the version's latest job. A running job whose lease has passed has
   * stopped without finishing: it is reported succeeded if the version serves, failed
   * otherwise. NotFoundError if no publish of the version was started.
   */
  async status(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<PublishJobView> {
    const job = await this.stores.publishJobs.get(ownerId, indexName, version);
    if (job === undefined) {
      const current = await this.stores.indexes.getCurrent(ownerId, indexName);
      if (current?.version === version) {
        // Published by an image update or before publish jobs existed.
        const at = current.publishedAt;
        return { indexName, version, status: 'succeeded', expectedCurrent: current.previousVersion ?? null, startedAt: at, updatedAt: at, progress: { ...QUEUED, phase: 'done' }, result: { version, previousVersion: current.previousVersion ?? null, kind: current.kind, publishedAt: at } };
      }
      throw new NotFoundError(`no publish of version "${version}" of index "${indexName}" was started: POST .../versions/${version}/publish`);
    }
    if (job.status !== 'running' || job.leaseUntil >= this.now().toISOString()) return viewOf(job);
    const current = await this.stores.indexes.getCurrent(ownerId, indexName);
    if (current?.version === version) {
      return viewOf({
        ...job,
        status: 'succeeded',
        progress: { ...job.progress, phase: 'done' },
        result: { version, previousVersion: current.previousVersion ?? null, kind: current.kind, publishedAt: current.publishedAt },
      });
    }
    return viewOf({
      ...job,
      status: 'failed',
      error: {
        code: 'UNAVAILABLE',
        message: `the publish job stopped at "${job.progress.phase}" without finishing (its worker crashed or timed out): nothing was published; publish again`,
      },
    });
  }

  /**
   * The worker: runs job `event.jobId` if it is still the version's job and holds its lease,
   * and records the outcome. `deadline`: when this worker will be stopped (Lambda's timeout);
   * the job is recorded as failed a little before. Never throws for the job's own failures
   * (they are the job's outcome), so Lambda does not retry them.
   */
  async run(event: PublishJobEvent, deadline?: Date): Promise<PublishJobView | undefined> {
    const { ownerId, indexName, version, jobId } = parseJobEvent(event);
    const store = this.stores.publishJobs;
    const job = await store.get(ownerId, indexName, version);
    if (job === undefined || job.jobId !== jobId || job.status !== 'running') return undefined;

    let progress: PublishJobProgress = { ...QUEUED, phase: 'checking' };
    let lost = false;
    let lastWrite = 0;
    const renew = async (): Promise<void> => {
      if (lost) return;
      const now = this.now();
      if (!(await store.heartbeat(ownerId, indexName, version, jobId, progress, new Date(now.getTime() + this.timings.leaseMs), now))) lost = true;
      lastWrite = now.getTime();
    };
    await renew();
    if (lost) return undefined;

    const beat = setInterval(() => void renew().catch(() => undefined), Math.max(250, Math.floor(this.timings.leaseMs / 4)));
    let stopAt: NodeJS.Timeout | undefined;
    let outOfTime = false;
    try {
      const onProgress = async (next: PublishProgress): Promise<void> => {
        const phaseChanged = next.phase !== progress.phase;
        progress = { ...next };
        if (phaseChanged || this.now().getTime() - lastWrite >= PROGRESS_WRITE_MS) await renew();
        if (lost) throw new PublishAbandonedError(`publish job ${jobId} lost its lease`);
        if (outOfTime) throw new PublishAbandonedError(`publish job ${jobId} ran out of time`);
      };
      const stillOwned = async (): Promise<boolean> => {
        await renew();
        return !lost && !outOfTime;
      };
      const work = this.versions.publishVersion(ownerId, indexName, version, job.expectedCurrent, job.signedManifest, { onProgress, stillOwned });
      const limit =
        deadline === undefined
          ? undefined
          : new Promise<'timeout'>((resolve) => {
              // Leave time to record the outcome before Lambda stops the worker.
              stopAt = setTimeout(() => resolve('timeout'), Math.max(0, deadline.getTime() - this.now().getTime() - 5_000));
            });
      const outcome = await (limit === undefined ? work : Promise.race([work, limit]));
      if (outcome === 'timeout') {
        outOfTime = true;
        work.catch(() => undefined);
        const failure = { code: 'UNAVAILABLE', message: `the publish did not finish within the worker's time limit (it stopped at "${progress.phase}"): nothing was published` };
        await store.finish(ownerId, indexName, version, jobId, { status: 'failed', error: failure }, this.now());
      } else {
        await store.finish(ownerId, indexName, version, jobId, { status: 'succeeded', result: resultJson(outcome) }, this.now());
      }
    } catch (error) {
      if (error instanceof PublishAbandonedError) return undefined;
      await store.finish(ownerId, indexName, version, jobId, { status: 'failed', error: failureOf(error) }, this.now());
      if (!isBlindsightError(error) || error.code === 'INTERNAL' || error.code === 'UNAVAILABLE') throw error;
    } finally {
      clearInterval(beat);
      clearTimeout(stopAt);
    }
    const finished = await store.get(ownerId, indexName, version);
    return finished === undefined || finished.jobId !== jobId ? undefined : viewOf(finished);
  }
}

/** A worker's event, checked (it comes from CS1's own route, but is the function's input). */
export function parseJobEvent(event: unknown): PublishJobEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  if (typeof e.ownerId !== 'string' || typeof e.indexName !== 'string' || typeof e.version !== 'string' || typeof e.jobId !== 'string' || !/^[0-9a-f]{32}$/.test(e.jobId)) {
    throw new InvalidInputError('a publish job event needs ownerId, indexName, version and a jobId of 32 hex digits');
  }
  return { ownerId: parseOwnerId(e.ownerId), indexName: parseIndexName(e.indexName), version: parseVersionId(e.version), jobId: e.jobId };
}
