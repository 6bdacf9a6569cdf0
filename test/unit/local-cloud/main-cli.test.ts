/**
 * `npm start` (scripts/local-cloud/main.ts): prints one JSON ready line with --json, serves
 * both accounts, and on SIGTERM stops them and removes endpoints.json.
 */
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { scaledTimeout } from '../../../lib/core/timeout-scale';
import type { LocalCloudEndpoints } from '../../../scripts/local-cloud/cloud';

const ROOT = join(import.meta.dirname, '..', '..', '..');

describe('local cloud CLI', () => {
  let dataDir: string | undefined;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('starts with --json, answers on both accounts and stops cleanly on SIGTERM', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-cloud-cli-'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/local-cloud/main.ts', '--json', '--data-dir', dataDir, '--cs1-port', '0', '--cs2-port', '0', '--dynamodb-port', '0', '--s3-port', '0'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = await new Promise<LocalCloudEndpoints & { event: string }>((resolve, reject) => {
      const startMs = scaledTimeout(60_000);
      const timer = setTimeout(() => reject(new Error(`no ready line within ${startMs / 1000} s`)), startMs);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.startsWith('{"event":"ready"')) return;
        clearTimeout(timer);
        resolve(JSON.parse(line) as LocalCloudEndpoints & { event: string });
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before ready`)));
    });
    try {
      expect(ready.event).toBe('ready');
      expect(ready.dataDir).toBe(dataDir);
      await expect(access(join(dataDir, 'endpoints.json'))).resolves.toBeUndefined();
      expect((await fetch(`${ready.cs1.url}/v1/unknown`)).status).toBe(404);
      expect((await fetch(`${ready.cs2.url}/v1/decrypt`, { method: 'POST', body: '{}' })).status).toBe(403);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    await expect(access(join(dataDir, 'endpoints.json'))).rejects.toThrow();
    await expect(fetch(`${ready.cs1.url}/v1/unknown`)).rejects.toThrow();
    await expect(fetch(`${ready.cs2.url}/v1/decrypt`, { method: 'POST' })).rejects.toThrow();
  });
});
