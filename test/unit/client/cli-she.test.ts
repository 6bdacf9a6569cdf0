/**
 * `owner index --two-server --he she` needs --insecure-paper-scheme: refused (exit 2, before
 * anything is read or built) without it, warned about with it.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHE_IS_INSECURE, SHE_WARNING } from '../../../lib/he/backends';
import { EXIT_USAGE } from '../../../scripts/cli/errors';
import { captureStream } from '../../../scripts/cli/io';
import { runCli } from '../../../scripts/cli/program';

describe('the CLI and the she backend', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cli-she-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function cli(...argv: string[]): Promise<{ code: number; stderr: string }> {
    const stdout = captureStream();
    const stderr = captureStream();
    const code = await runCli(argv, { stdout, stderr, env: {}, cwd: work });
    return { code, stderr: stderr.text() };
  }

  it('refuses --he she without --insecure-paper-scheme, saying why and what to use', async () => {
    const home = join(work, 'home-a');
    const run = await cli('owner', 'index', work, '--two-server', '--he', 'she', '--home', home);
    expect(run.code).toBe(EXIT_USAGE);
    expect(run.stderr).toContain(SHE_IS_INSECURE);
    expect(run.stderr).toMatch(/Use --he bfv \(the default\), or add --insecure-paper-scheme/);
    // Refused before anything was read or written.
    expect(await readdir(work)).toEqual([]);
  });

  it('warns with --insecure-paper-scheme, then goes on (here: to the missing owner home)', async () => {
    const home = join(work, 'home-b');
    const run = await cli('owner', 'index', work, '--two-server', '--he', 'she', '--insecure-paper-scheme', '--home', home);
    expect(run.stderr).toContain(`warning: --insecure-paper-scheme: ${SHE_WARNING}`);
    expect(run.stderr).not.toContain('Use --he bfv');
    expect(run.code).not.toBe(0);
  });
});
