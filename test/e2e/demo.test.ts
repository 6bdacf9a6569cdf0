/**
 * The one-command demo as CI runs it (`--exit`), in its own process: a small gallery, a
 * temporary cloud data folder and work folder. It must report every step with a tick and exit
 * 0; and when a step cannot succeed it must exit non-zero with a clear message.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/local-cloud/layout';

function runDemo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'demo', 'main.ts'), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the one-command demo', () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'demo-test-'));
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('runs the whole flow with --exit, exits 0 and keeps the results it names', async () => {
    const workdir = join(scratch, 'work');
    const { code, stdout, stderr } = await runDemo(['--exit', '--gallery-size', '40', '--workdir', workdir, '--data-dir', join(scratch, 'cloud')]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    for (const step of ['start the local cloud', 'owner init', 'owner index', 'owner publish', 'enroll "demo-user"', 'with K-anonymity (K = 4)', 'user identify']) {
      expect(stdout).toMatch(new RegExp(`\u2713 [^\n]*${step.replace(/[()]/g, '\\$&')}`));
    }
    expect(stdout).not.toContain('\u2717');
    expect(stdout).toMatch(/All 10 steps succeeded in [\d.]+ s\./);
    expect(stdout).toContain(`decrypted search results: ${join(workdir, 'results')}/<query>/`);
    expect(stdout).toContain(`the work folder stays; remove it with: rm -rf ${workdir}`);
    // Four searches decrypted their results into the work folder, which --exit keeps.
    const results = await readdir(join(workdir, 'results'));
    expect(results).toHaveLength(4);
    for (const query of results) expect((await readdir(join(workdir, 'results', query))).length).toBe(8);
  });

  it('exits 1 with a clear message when a step fails', async () => {
    // A cloud "already running" on the data folder (this process' pid is alive).
    const dataDir = join(scratch, 'busy');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify({ pid: process.pid, cs1: { url: 'http://127.0.0.1:1' } }));
    const { code, stdout } = await runDemo(['--exit', '--gallery-size', '20', '--workdir', join(scratch, 'work2'), '--data-dir', dataDir]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/\u2717 start the local cloud[^\n]*: a local cloud is already running on /);
    expect(stdout).toMatch(/Demo FAILED: start the local cloud/);
  });
});
