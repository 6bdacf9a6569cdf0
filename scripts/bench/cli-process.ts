/**
 * The `blindsight` command line as its own process, started the way `npm install`'s bin link
 * starts it (scripts/cli/blindsight.mjs, which registers tsx from the repository). Benchmarks
 * run it from a temporary folder: `node --import tsx` there would look for tsx in that folder
 * and fail with ERR_MODULE_NOT_FOUND.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../local-cloud/layout';

export const CLI_EXECUTABLE = join(REPO_ROOT, 'scripts', 'cli', 'blindsight.mjs');

export interface CliRun {
  /** Wall time from spawn to exit. */
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `blindsight <args>` in `cwd`; rejects with the end of its stderr when it exits non-zero. */
export function runBlindsight(args: readonly string[], env: Readonly<Record<string, string>>, cwd: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI_EXECUTABLE, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`blindsight ${args.join(' ')} exited ${code}:\n${stderrTail(stderr)}`));
      else resolve({ ms, stdout, stderr });
    });
  });
}

/** The end of a failed run's stderr, without the minified source lines a crash in WASM glue prints. */
export function stderrTail(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.length <= 500)
    .slice(-15)
    .join('\n')
    .trim();
}
