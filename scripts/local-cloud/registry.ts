/**
 * Running local clouds, findable however they were started (`npm start`, `npm run local-cloud
 * -- --data-dir X`, a test): each one writes an entry (its endpoints.json) into one registry
 * folder while it runs, and removes it at stop. The CLI reads the registry to find a cloud
 * without being told its data folder. Entries of processes that died without stopping are
 * ignored and removed.
 *
 *   <registry>/<pid>-<data dir digest>.json
 *
 * The registry is `<repo>/.local-cloud/running` (BLINDSIGHT_LOCAL_CLOUD_REGISTRY overrides it).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EnvironmentConfig } from '../../lib/config/environment';
import type { LocalCloudEndpoints } from './cloud';
import { DEFAULT_DATA_DIR, REPO_ROOT } from './layout';

const DEFAULT_REGISTRY_DIR = join(REPO_ROOT, '.local-cloud', 'running');

type Env = Readonly<Record<string, string | undefined>>;

export function registryDir(env: Env = process.env): string {
  const configured = new EnvironmentConfig(env).get('localCloudRegistry');
  return configured !== undefined ? resolve(configured) : DEFAULT_REGISTRY_DIR;
}

function entryName(endpoints: LocalCloudEndpoints): string {
  const digest = createHash('sha256').update(resolve(endpoints.dataDir)).digest('hex').slice(0, 12);
  return `${endpoints.pid}-${digest}.json`;
}

/** Adds a running cloud; the returned function removes it. */
export async function registerLocalCloud(dir: string, endpoints: LocalCloudEndpoints): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, entryName(endpoints));
  await writeFile(path, `${JSON.stringify(endpoints, null, 2)}\n`);
  return () => rm(path, { force: true });
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isEndpoints(value: unknown): value is LocalCloudEndpoints {
  const v = value as Partial<LocalCloudEndpoints> | null;
  return typeof v?.pid === 'number' && typeof v.dataDir === 'string' && typeof v.cs1?.url === 'string';
}

/** The endpoints.json of a data folder, when a live process wrote it. */
export async function localCloudOn(dataDir: string): Promise<LocalCloudEndpoints | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(resolve(dataDir), 'endpoints.json'), 'utf8')) as unknown;
    return isEndpoints(parsed) && isProcessAlive(parsed.pid) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The clouds running now: the registry's live entries, plus the default data folder's (a cloud
 * of an older checkout may not have registered). Oldest first.
 */
export async function runningLocalClouds(env: Env = process.env): Promise<LocalCloudEndpoints[]> {
  const dir = registryDir(env);
  const found = new Map<string, LocalCloudEndpoints>();
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
  } catch {
    names = [];
  }
  for (const name of names) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(join(dir, name), 'utf8'));
    } catch {
      continue;
    }
    if (!isEndpoints(parsed)) continue;
    if (!isProcessAlive(parsed.pid)) {
      await rm(join(dir, name), { force: true });
      continue;
    }
    found.set(resolve(parsed.dataDir), parsed);
  }
  const fallback = await localCloudOn(DEFAULT_DATA_DIR);
  if (fallback !== undefined) found.set(resolve(fallback.dataDir), fallback);
  return [...found.values()].sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
}
