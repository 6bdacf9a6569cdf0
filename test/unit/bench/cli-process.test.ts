import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBlindsight } from '../../../scripts/bench/cli-process';

// The CLI benchmark runs the CLI from a temporary folder, far from the repository's node_modules.
describe('runBlindsight (the CLI as its own process)', () => {
  let elsewhere: string;
  beforeAll(async () => {
    elsewhere = await mkdtemp(join(tmpdir(), 'cli-process-'));
  });
  afterAll(async () => {
    await rm(elsewhere, { recursive: true, force: true });
  });

  it('starts from a folder outside the repository', async () => {
    const run = await runBlindsight(['user', 'search', '--help'], {}, elsewhere);
    expect(run.stdout).toMatch(/^Usage: blindsight user search/m);
    expect(run.ms).toBeGreaterThan(0);
  });
});
