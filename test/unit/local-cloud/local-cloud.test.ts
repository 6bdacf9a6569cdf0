/**
 * The whole local cloud with child processes, on stand-in handlers (fixtures/functions): both
 * accounts start, CS1's handlers reach the emulators and CS2, CS2 refuses other callers, an
 * account can be stopped and restarted, and data survives a full restart.
 */
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud, LocalCloudEndpoints } from '../../../scripts/local-cloud/cloud';
import { startLocalCloud } from '../../../scripts/local-cloud/cloud';

const FUNCTIONS_DIR = join(import.meta.dirname, 'fixtures', 'functions');
const OWNER = { authorization: 'Bearer test-owner' };

describe('startLocalCloud', () => {
  let dataDir: string;
  let cloud: LocalCloud | undefined;
  const lines: Array<{ account: string; line: string }> = [];
  const start = () => startLocalCloud({ dataDir, functionsDir: FUNCTIONS_DIR, onLog: (account, line) => lines.push({ account, line }) });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-cloud-'));
    cloud = await start();
  });

  afterAll(async () => {
    await cloud?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes endpoints.json with both accounts on loopback', async () => {
    const endpoints = JSON.parse(await readFile(join(dataDir, 'endpoints.json'), 'utf8')) as LocalCloudEndpoints;
    expect(endpoints.cs1.url).toBe(cloud!.cs1Url);
    expect(endpoints.cs2.url).toBe(cloud!.cs2Url);
    expect(endpoints.cs1.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoints.cs1).toMatchObject({ accountId: '000000000001', table: 'blindsight', bucket: 'blindsight-images' });
    expect(endpoints.cs2.accountId).toBe('000000000002');
    expect(endpoints.pid).toBe(process.pid);
  });

  it('runs CS1 handlers against its DynamoDB and S3 and reads the data back', async () => {
    const created = await fetch(`${cloud!.cs1Url}/v1/owners`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"alice"}' });
    expect(created.status).toBe(201);
    const read = await fetch(`${cloud!.cs1Url}/v1/owners/alice/indexes/main`, { headers: OWNER });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ item: { pk: 'OWNER#alice', sk: 'PROFILE', name: 'alice' }, object: 'hello alice' });
  });

  it('lets CS1 reach CS2 with its credential, and CS2 sees none of CS1 settings', async () => {
    const res = await fetch(`${cloud!.cs1Url}/v1/owners/alice/indexes/main/identify`, { method: 'POST', headers: OWNER });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ values: ['k-1', 'abc'], keyDir: join(dataDir, 'cs2', 'keys'), seesCs1: false });
  });

  it('refuses a direct caller at CS2 with 403', async () => {
    const res = await fetch(`${cloud!.cs2Url}/v1/decrypt`, { method: 'POST', body: '{"keyId":"k-1","batch":""}' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { errorMessage: string }).errorMessage).toMatch(/only from CS1/);
  });

  it('stops and restarts one account on the same URL', async () => {
    await cloud!.stopAccount('cs2');
    expect(cloud!.isRunning('cs2')).toBe(false);
    const down = await fetch(`${cloud!.cs1Url}/v1/owners/alice/indexes/main/identify`, { method: 'POST', headers: OWNER });
    expect(down.status).toBe(503);
    await cloud!.startAccount('cs2');
    const up = await fetch(`${cloud!.cs1Url}/v1/owners/alice/indexes/main/identify`, { method: 'POST', headers: OWNER });
    expect(up.status).toBe(200);
  });

  it('refuses a second cloud on the same data directory', async () => {
    await expect(start()).rejects.toThrow(/already running/);
  });

  it('logs JSON request lines without bodies or credentials', async () => {
    const credential = (await readFile(join(dataDir, 'cs1', 'cs2-credential'), 'utf8')).trim();
    const requests = lines.flatMap(({ line }) => {
      try {
        const parsed = JSON.parse(line) as { msg?: string };
        return parsed.msg === 'request' ? [parsed] : [];
      } catch {
        return [];
      }
    });
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests).toContainEqual(expect.objectContaining({ account: 'cs2', route: 'POST /v1/decrypt', status: 403 }));
    const all = lines.map((l) => l.line).join('\n');
    expect(all).not.toContain(credential);
    expect(all).not.toContain('test-owner');
    expect(all).not.toContain('hello alice');
  });

  it('keeps the data across a full restart and removes endpoints.json when stopped', async () => {
    const { cs1Url } = cloud!;
    await cloud!.stop();
    cloud = undefined;
    await expect(access(join(dataDir, 'endpoints.json'))).rejects.toThrow();
    await expect(fetch(`${cs1Url}/v1/owners`, { method: 'POST' })).rejects.toThrow();
    cloud = await start();
    const read = await fetch(`${cloud.cs1Url}/v1/owners/alice/indexes/main`, { headers: OWNER });
    expect(await read.json()).toEqual({ item: { pk: 'OWNER#alice', sk: 'PROFILE', name: 'alice' }, object: 'hello alice' });
  });
});
