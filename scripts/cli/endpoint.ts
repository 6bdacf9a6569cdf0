/**
 * Which CS1 the CLI talks to, and where that choice came from (said whenever it cannot be
 * reached):
 *
 *   1. --endpoint;
 *   2. BLINDSIGHT_ENDPOINT;
 *   3. BLINDSIGHT_DATA_DIR: the local cloud running on that data folder;
 *   4. the endpoint saved in the home (at `owner init`, or in the user's grant), if it answers;
 *      a saved local address that no longer answers gives way to the running local cloud;
 *   5. the running local cloud, however it was started (see scripts/local-cloud/registry.ts).
 *
 * The local cloud's endpoints also tell where its CS2 keeps HE secrets, so `owner publish`
 * can hand CS2 its key the way an operator would, whatever data folder the cloud runs on.
 */
import { EnvironmentConfig } from '../../lib/config/environment';
import { SETTINGS } from '../../lib/config/settings';
import { InvalidInputError } from '../../lib/core/errors';
import { scaledTimeout } from '../../lib/core/timeout-scale';
import type { WorkflowListener } from '../../lib/client/events';

import type { LocalCloudEndpoints } from '../local-cloud/cloud';
import { dataLayout, DEFAULT_DATA_DIR } from '../local-cloud/layout';
import { localCloudOn, runningLocalClouds } from '../local-cloud/registry';

const ENDPOINT_ENV = SETTINGS.cliEndpoint.name;
const DATA_DIR_ENV = SETTINGS.localCloudDataDir.name;
/** How long a saved local endpoint may take to answer before it counts as gone (BLINDSIGHT_TIMEOUT_SCALE stretches it). */
const PROBE_TIMEOUT_MS = 3000;

type Env = Readonly<Record<string, string | undefined>>;

export interface EndpointChoice {
  readonly url: string;
  /** Where the URL came from, for messages: "--endpoint", "the grant (<file>)", ... */
  readonly origin: string;
  /** The running local cloud behind it, when it is one. */
  readonly localCloud?: LocalCloudEndpoints;
}

/** An endpoint saved in the home, and the file it is saved in. */
export interface SavedEndpoint {
  readonly url: string;
  readonly origin: string;
}

/** Checks an endpoint is an http(s) URL; returns it without a trailing slash. */
function normaliseEndpoint(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInputError(`${source} "${value.slice(0, 100)}" is not a URL: use e.g. http://127.0.0.1:4510 or your API Gateway URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError(`${source} must be an http:// or https:// URL`);
  return url.toString().replace(/\/+$/, '');
}

function isLoopbackUrl(value: string): boolean {
  try {
    const host = new URL(value).hostname;
    return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
  } catch {
    return false;
  }
}

/** Whether anything answers HTTP at the URL (any status counts: only silence means gone). */
async function answers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v1`, { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer().catch(() => {});
    return true;
  } catch {
    return false;
  }
}

function describeCloud(cloud: LocalCloudEndpoints): string {
  return `${cloud.cs1.url} (data ${cloud.dataDir}, pid ${cloud.pid})`;
}

function fromCloud(cloud: LocalCloudEndpoints, origin: string): EndpointChoice {
  return { url: normaliseEndpoint(cloud.cs1.url, 'the local cloud endpoint'), origin, localCloud: cloud };
}

/** The running local cloud when exactly one is a sensible pick (the default data folder's wins). */
async function discoverLocalCloud(env: Env): Promise<{ cloud?: LocalCloudEndpoints; all: LocalCloudEndpoints[] }> {
  const all = await runningLocalClouds(env);
  if (all.length <= 1) return { cloud: all[0], all };
  const byDefault = all.find((cloud) => cloud.dataDir === dataLayout(DEFAULT_DATA_DIR).dataDir);
  return { cloud: byDefault, all };
}

function severalClouds(all: readonly LocalCloudEndpoints[]): InvalidInputError {
  return new InvalidInputError(
    `${all.length} local clouds are running (${all.map(describeCloud).join('; ')}): say which with --endpoint <url> or ${DATA_DIR_ENV}=<data dir>`,
  );
}

export interface ResolveOptions {
  readonly flag?: string;
  readonly saved?: SavedEndpoint;
  readonly env: Env;
  /** Receives the warning when a saved endpoint is replaced by the running local cloud. */
  readonly listener?: WorkflowListener;
}

export async function resolveEndpoint(options: ResolveOptions): Promise<EndpointChoice> {
  const { env } = options;
  if (options.flag) return { url: normaliseEndpoint(options.flag, '--endpoint'), origin: '--endpoint' };
  const config = new EnvironmentConfig(env);
  const fromEnv = config.get('cliEndpoint');
  if (fromEnv !== undefined) return { url: normaliseEndpoint(fromEnv, ENDPOINT_ENV), origin: ENDPOINT_ENV };
  const dataDir = config.get('localCloudDataDir');
  if (dataDir) {
    const cloud = await localCloudOn(dataDir);
    if (cloud === undefined) {
      throw new InvalidInputError(`no local cloud is running on ${dataLayout(dataDir).dataDir} (${DATA_DIR_ENV}): start it with "npm run local-cloud -- --data-dir ${dataDir}", or unset ${DATA_DIR_ENV}`);
    }
    return fromCloud(cloud, `the local cloud on ${DATA_DIR_ENV}=${dataDir}`);
  }

  const { saved } = options;
  if (saved !== undefined) {
    const url = normaliseEndpoint(saved.url, `the endpoint saved in ${saved.origin}`);
    const { cloud, all } = await discoverLocalCloud(env);
    const running = all.find((c) => normaliseEndpoint(c.cs1.url, 'the local cloud endpoint') === url);
    if (running !== undefined) return fromCloud(running, saved.origin);
    // Only a local address can be replaced: a remote one is the owner's real deployment.
    if (!isLoopbackUrl(url) || (await answers(url, scaledTimeout(PROBE_TIMEOUT_MS, env)))) return { url, origin: saved.origin };
    if (cloud !== undefined) {
      options.listener?.({
        type: 'warning',
        message: `the endpoint ${url} saved in ${saved.origin} does not answer (the local cloud that ran there has stopped); using the running local cloud at ${describeCloud(cloud)}`,
      });
      return fromCloud(cloud, `the running local cloud (the saved ${url} is gone)`);
    }
    if (all.length > 1) throw severalClouds(all);
    throw new InvalidInputError(
      `cannot reach ${url}, the endpoint saved in ${saved.origin}: the local cloud that ran there has stopped, and no other is running. ` +
        'Start one ("npm start" or "npm run local-cloud"), or pass --endpoint <url>',
    );
  }

  const { cloud, all } = await discoverLocalCloud(env);
  if (cloud !== undefined) return fromCloud(cloud, 'the running local cloud');
  if (all.length > 1) throw severalClouds(all);
  throw new InvalidInputError(`no CS1 endpoint: start the local cloud ("npm start" or "npm run local-cloud"), or pass --endpoint <url> (or set ${ENDPOINT_ENV})`);
}

/** CS2's key folder when the endpoint is a running local cloud, else undefined. */
export async function localCs2KeyDir(choice: EndpointChoice, env: Env): Promise<string | undefined> {
  if (choice.localCloud !== undefined) return dataLayout(choice.localCloud.dataDir).keyDir;
  const match = (await runningLocalClouds(env)).find((c) => normaliseEndpoint(c.cs1.url, 'the local cloud endpoint') === choice.url);
  return match === undefined ? undefined : dataLayout(match.dataDir).keyDir;
}

/** Says where the endpoint came from, for "cannot reach" errors. */
export function withOrigin(message: string, choice: EndpointChoice): string {
  return `${message} (endpoint ${choice.url} from ${choice.origin})`;
}

