/**
 * `cdk synth` of both stacks with the real CLI and the real handlers (local esbuild bundling,
 * no Docker, no network), as an operator runs it before a deploy: every handler module bundles
 * and both templates come out.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CS1_ROUTES } from '../../../functions/routes';

const run = promisify(execFile);
const outdirs: string[] = [];

afterAll(async () => {
  await Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('cdk synth (CLI)', () => {
  it('synthesizes Cs1Stack and Cs2Stack with every real handler bundled', async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'cdk-synth-'));
    outdirs.push(outdir);
    const context = ['-c', 'cs1Account=111111111111', '-c', 'cs2Account=222222222222', '-c', 'region=us-east-1'];
    await run(process.execPath, ['node_modules/aws-cdk/bin/cdk', 'synth', '--quiet', '--no-notices', '--output', outdir, ...context], {
      cwd: process.cwd(),
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true' },
    });
    const files = await readdir(outdir);
    const templates = files.filter((f) => f.endsWith('.template.json')).sort();
    expect(templates).toEqual(['Cs1Stack.template.json', 'Cs2Stack.template.json']);
    const cs1 = JSON.parse(await readFile(join(outdir, 'Cs1Stack.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const functions = Object.values(cs1.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    // One function per handler module of the route table, plus the authorizer.
    const modules = new Set(CS1_ROUTES.map((r) => r.handler));
    expect(functions.length).toBeGreaterThanOrEqual(modules.size + 1);
    expect(files.filter((f) => f.startsWith('asset.')).length).toBeGreaterThanOrEqual(modules.size + 2);
  });
});
