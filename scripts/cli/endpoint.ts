/**
 * Which CS1 the CLI talks to: --endpoint, else BLINDSIGHT_ENDPOINT, else the endpoint saved in
 * the home (at `owner init`, or in the user's grant), else the running local cloud's
 * endpoints.json (<data dir>/endpoints.json; data dir from BLINDSIGHT_DATA_DIR or the local
 * cloud's default). The local cloud's file also tells where its CS2 keeps HE secrets, so
 * `owner publish` can hand CS2 its key the way an operator would.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../../lib/core/errors';
import type { LocalCloudEndpoints } from '../local-cloud/cloud';
import { dataLayout, DEFAULT_DATA_DIR } from '../local-cloud/layout';

export const ENDPOINT_ENV = 'BLINDSIGHT_ENDPOINT';
export const DATA_DIR_ENV = 'BLINDSIGHT_DATA_DIR';

type Env = Readonly<Record<string, string | undefined>>;

export function localCloudDataDir(env: Env): string {
  const configured = env[DATA_DIR_ENV]?.trim();
  return configured ? configured : DEFAULT_DATA_DIR;
}

/** The running local cloud's endpoints, or undefined when none runs on the data dir. */
export async function readLocalCloudEndpoints(env: Env): Promise<LocalCloudEndpoints | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(localCloudDataDir(env), 'endpoints.json'), 'utf8')) as LocalCloudEndpoints;
    return typeof parsed?.cs1?.url === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Checks an endpoint is an http(s) URL; returns it without a trailing slash. */
export function normaliseEndpoint(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidInputError(`${source} "${value.slice(0, 100)}" is not a URL: use e.g. http://127.0.0.1:4510 or your API Gateway URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError(`${source} must be an http:// or https:// URL`);
  return url.toString().replace(/\/+$/, '');
}

export async function resolveEndpoint(options: { flag?: string; stored?: string; env: Env }): Promise<string> {
  if (options.flag) return normaliseEndpoint(options.flag, '--endpoint');
  const fromEnv = options.env[ENDPOINT_ENV]?.trim();
  if (fromEnv) return normaliseEndpoint(fromEnv, ENDPOINT_ENV);
  if (options.stored) return normaliseEndpoint(options.stored, 'the saved endpoint');
  const local = await readLocalCloudEndpoints(options.env);
  if (local !== undefined) return normaliseEndpoint(local.cs1.url, 'the local cloud endpoint');
  throw new InvalidInputError(
    `no CS1 endpoint: start the local cloud (npm start), or pass --endpoint <url> (or set ${ENDPOINT_ENV})`,
  );
}

/** CS2's key folder when `endpoint` is the running local cloud's CS1, else undefined. */
export async function localCs2KeyDir(endpoint: string, env: Env): Promise<string | undefined> {
  const local = await readLocalCloudEndpoints(env);
  if (local === undefined) return undefined;
  if (normaliseEndpoint(local.cs1.url, 'the local cloud endpoint') !== endpoint) return undefined;
  return dataLayout(local.dataDir).keyDir;
}
