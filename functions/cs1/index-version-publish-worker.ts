/**
 * The publish worker (CS1_WORKERS.publishWorker): invoked asynchronously by the publish route
 * with {ownerId, indexName, version, jobId}, never by API Gateway. Runs the whole publish of
 * the version (lib/service/versions/publish-jobs.ts) and records its progress and outcome in the
 * job; the job's own failures (bad parts, a stale expectedCurrent) are its outcome, not an
 * error of the invocation. Unexpected errors are recorded as a failed job and rethrown, so they
 * show as a failed invocation in Lambda's metrics (the stack allows no retry: the owner
 * publishes again). Logs: names, phase, milliseconds; never part contents.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { CS1_WORKERS } from '../../lib/api/routes';
import { INDEX_KIND_VALIDATORS } from '../../lib/service/index-kinds/index-kind-validators';
import { cs1IndexVersions } from '../../lib/service/versions/index-version-services';
import { cs1PublishJobs } from '../../lib/service/versions/publish-job-services';
import type { PublishJobView } from '../../lib/service/versions/publish-jobs';
import { parseJobEvent } from '../../lib/service/versions/publish-jobs';
import { serviceLogger, serviceNameOf } from '../lib/logger';

const logger = serviceLogger(serviceNameOf(CS1_WORKERS.publishWorker.handler));

async function work(event: unknown, context: Context): Promise<PublishJobView | null> {
  const job = parseJobEvent(event);
  const started = Date.now();
  const deadline = new Date(Date.now() + context.getRemainingTimeInMillis());
  const done = await cs1PublishJobs(cs1IndexVersions({ validators: INDEX_KIND_VALIDATORS })).run(job, deadline);
  const names = { ownerId: job.ownerId, indexName: job.indexName, version: job.version };
  if (done === undefined) logger.info('publish job not run: another job owns the version or its lease passed', names);
  else if (done.status === 'failed') logger.info('publish job failed', { ...names, code: done.error?.code, phase: done.progress.phase, ms: Date.now() - started });
  else {
    for (const warning of (done.result?.warnings as string[] | undefined) ?? []) logger.warn('published with a warning', { ...names, warning });
    logger.info('publish job finished', { ...names, status: done.status, ms: Date.now() - started, warnings: (done.result?.warnings as unknown[] | undefined)?.length ?? 0 });
  }
  return done ?? null;
}

export const handler = middy(work).use(injectLambdaContext(logger, { resetKeys: true }));
