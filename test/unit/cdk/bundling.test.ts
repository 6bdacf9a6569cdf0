/**
 * Lambda bundling with the local esbuild (no Docker, no network): the bundle of a handler that
 * needs node-seal (CommonJS, requires node builtins) and a typed error loads as ESM in plain
 * Node and runs, and the class name of the error survives minification.
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp } from './support';

const run = promisify(execFile);

describe('NodejsFunction bundling (local esbuild)', () => {
  let outdir: string;
  let assetDir: string;

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'cdk-bundle-'));
    const { app, cs2 } = buildTestApp({ bundle: ['Cs2Stack'], outdir, cloudFormationValidation: false });
    app.synth();
    const code = Object.values(Template.fromStack(cs2).findResources('AWS::Lambda::Function'))[0].Properties.Code as { S3Key: string };
    const hash = code.S3Key.replace(/\.zip$/, '');
    const dirs = (await readdir(outdir)).filter((d) => d.startsWith('asset.'));
    assetDir = join(outdir, dirs.find((d) => d.includes(hash)) ?? dirs[0]);
  });

  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  it('writes an ESM bundle with a source map', async () => {
    expect((await readdir(assetDir)).sort()).toEqual(['index.mjs', 'index.mjs.map']);
  });

  it('runs the bundle in plain Node: CommonJS dependencies load and error class names survive', async () => {
    const script = `const m = await import(${JSON.stringify(join(assetDir, 'index.mjs'))}); console.log(JSON.stringify(await m.handler({ keyId: 'k-1' })));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: tmpdir() });
    expect(JSON.parse(stdout)).toEqual({ values: ['k-1', 'object', 'DecryptionError'] });
  });

  it('skipped bundling for the other stack (no assets built for it)', async () => {
    const dirs = (await readdir(outdir)).filter((d) => d.startsWith('asset.'));
    expect(dirs).toHaveLength(1);
    await expect(access(join(outdir, 'Cs1Stack.template.json'))).resolves.toBeUndefined();
  });
});
