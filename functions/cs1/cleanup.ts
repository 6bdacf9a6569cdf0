/**
 * CS1's clean-up function. Not behind the API: an EventBridge schedule (CS1's stack) invokes it
 * hourly; locally `npm run cleanup` runs the same service. It removes superseded index versions
 * after their owner's retention, versions never published after a day, the envelopes of images
 * the owner deleted once no kept version may list them, and nothing any search can still read
 * (lib/service/versions/cleanup.ts, lib/service/images/image-removals.ts).
 *
 *   event  an EventBridge scheduled event ({"detail-type": "Scheduled Event", ...})
 *   result {versionsRemoved, objectsRemoved, envelopesRemoved, indexes, failures}
 *
 * Logs: per index, the versions kept (with why) and removed; per owner, the envelopes removed and
 * those still waiting (with the versions that hold them); counts; never index contents.
 * An event that is not a scheduled one is refused with a typed error (InvalidInputError); a
 * storage outage is thrown as UnavailableError and the next run retries.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { InvalidInputError } from '../../lib/core/errors';
import { cs1CleanupService } from '../../lib/service/versions/cleanup-service';
import { serviceLogger } from '../lib/logger';

const logger = serviceLogger('blindsight-cs1-cleanup');

export interface CleanupResult {
  readonly versionsRemoved: number;
  readonly objectsRemoved: number;
  readonly envelopesRemoved: number;
  readonly indexes: number;
  readonly failures: number;
}

function isScheduledEvent(event: unknown): boolean {
  const value = event as { 'detail-type'?: unknown; source?: unknown } | null;
  return typeof value === 'object' && value !== null && value['detail-type'] === 'Scheduled Event' && value.source === 'aws.events';
}

async function cleanup(event: unknown): Promise<CleanupResult> {
  if (!isScheduledEvent(event)) throw new InvalidInputError('the clean-up runs on EventBridge scheduled events only ({"detail-type": "Scheduled Event", "source": "aws.events"})');
  const started = performance.now();
  const report = await cs1CleanupService().run();
  for (const index of report.indexes) {
    if (index.removed.length > 0) logger.info('index cleaned', { ownerId: index.ownerId, indexName: index.indexName, removed: index.removed, kept: index.kept, objectsRemoved: index.objectsRemoved });
  }
  for (const removal of report.imageRemovals) {
    if (removal.outcome !== 'waiting' || removal.heldBy.length > 0) logger.info('image removal', { ...removal });
  }
  for (const failure of report.failures) logger.warn('index not cleaned (next run retries)', failure);
  const result = { versionsRemoved: report.versionsRemoved, objectsRemoved: report.objectsRemoved, envelopesRemoved: report.envelopesRemoved, indexes: report.indexes.length, failures: report.failures.length };
  logger.info('clean-up done', { ...result, ms: Math.round(performance.now() - started) });
  return result;
}

export const handler = middy<unknown, CleanupResult, Error, Context>(cleanup).use(injectLambdaContext(logger, { resetKeys: true }));
