/**
 * The publish-job service of the process, on the stores of cs1Services(), and how this process
 * starts workers:
 * - BLINDSIGHT_PUBLISH_WORKER_FUNCTION: the worker's function name or ARN, invoked
 *   asynchronously (the CDK stack and the local cloud set it on the publish route's function);
 * - BLINDSIGHT_PUBLISH_LEASE_MS: how long a job's lease lasts from its last renewal (default
 *   60,000);
 * - BLINDSIGHT_PUBLISH_FIRST_LEASE_MS: the first lease, until the worker has started (queued
 *   event, cold start; default 120,000 or twice the lease, whichever is longer).
 * Tests may run workers in process instead (setPublishJobLauncher).
 */
import { CS1_WORKERS } from '../../api/routes';
import { ConfigurationError } from '../../core/errors';
import { EnvironmentConfig } from '../../config/environment';
import type { Environment } from '../../config/types';
import { SETTINGS } from '../../config/settings';
import type { IndexVersionService } from './index-versions';
import { LambdaEventInvoker } from '../../invoke/lambda-event-invoker';
import { DEFAULT_PUBLISH_JOB_TIMINGS, PublishJobService } from './publish-jobs';
import type { PublishJobLauncher, PublishJobTimings } from './publish-jobs';
import { cs1Services } from '../cs1-services';

export const PUBLISH_WORKER_FUNCTION_ENV = CS1_WORKERS.publishWorker.functionEnv;
export const PUBLISH_LEASE_ENV = SETTINGS.publishLeaseMs.name;
export const PUBLISH_FIRST_LEASE_ENV = SETTINGS.publishFirstLeaseMs.name;

const misconfigured = (message: string) => new ConfigurationError(`publish jobs: ${message}`);

export function publishJobTimingsFromEnv(env?: Environment): PublishJobTimings {
  const config = new EnvironmentConfig(env, { misconfigured });
  const leaseMs = config.get('publishLeaseMs');
  const firstLeaseMs = config.isSet('publishFirstLeaseMs') ? config.get('publishFirstLeaseMs') : Math.max(DEFAULT_PUBLISH_JOB_TIMINGS.firstLeaseMs, 2 * leaseMs);
  return { leaseMs, firstLeaseMs };
}

let injected: PublishJobLauncher | undefined;
let fromEnv: { name: string; launcher: PublishJobLauncher } | undefined;

/**
 * Tests: run workers this way instead of through Lambda (undefined: back to the environment).
 * @internal Only tests call it: they run the publish worker in process; a deployed function always
 * launches it through Lambda, named by the environment.
 */
export function setPublishJobLauncher(launcher: PublishJobLauncher | undefined): void {
  injected = launcher;
}

/** How this process starts publish workers. */
export function publishJobLauncher(env?: Environment): PublishJobLauncher {
  if (injected !== undefined) return injected;
  const name = new EnvironmentConfig(env, { misconfigured }).get('publishWorkerFunction');
  if (!name) throw misconfigured(`${PUBLISH_WORKER_FUNCTION_ENV} is not set: the publish route cannot start its worker`);
  if (fromEnv?.name !== name) {
    const invoker = new LambdaEventInvoker(name);
    fromEnv = { name, launcher: { launch: (event) => invoker.invoke(event) } };
  }
  return fromEnv.launcher;
}

let cached: { versions: IndexVersionService; service: PublishJobService } | undefined;

/** The job service over `versions` (the worker's has every kind's validator, the route's none). */
export function cs1PublishJobs(versions: IndexVersionService): PublishJobService {
  if (cached?.versions !== versions) {
    const { stores } = cs1Services();
    cached = { versions, service: new PublishJobService(stores, versions, publishJobTimingsFromEnv()) };
  }
  return cached.service;
}
