/**
 * One knob for slow machines. BLINDSIGHT_TIMEOUT_SCALE multiplies the time limits that mean
 * "the other side is not answering" on this machine: the client's request and transfer
 * timeouts, and the local cloud's emulations of AWS's limits (API Gateway's integration timeout,
 * the functions' timeouts, CS2's calls). It never changes a limit of real AWS.
 *
 * Why: on an idle machine the local cloud answers in milliseconds, but on a shared, loaded one
 * (CI: 2 cores, a load average of 20) the same request can take ten or more times as long,
 * mostly in cold starts. A limit sized for Lambda then fails a request that is merely slow, and
 * a test that passes or fails with the machine's load is worthless. The test configuration
 * (vitest.config.ts) sets the scale for every test and the processes they start.
 */
import { EnvironmentConfig } from '../config/environment';
import { SETTINGS } from '../config/settings';
import type { Environment } from '../config/types';

export const MAX_TIMEOUT_SCALE = SETTINGS.timeoutScale.max;

/** The scale from the environment: a number from 1 to 100, default 1. */
export function timeoutScale(env?: Environment): number {
  return new EnvironmentConfig(env).get('timeoutScale');
}

/** `ms` stretched by the scale, in whole milliseconds. */
export function scaledTimeout(ms: number, env?: Environment): number {
  return Math.round(ms * timeoutScale(env));
}
