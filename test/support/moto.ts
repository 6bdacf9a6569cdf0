/**
 * A moto server (the `moto_server` Python tool: AWS's APIs, CloudFormation included, in one
 * process) on a free loopback port, and AWS SDK clients that act in a chosen account: moto
 * takes the account of a request from its `x-moto-account-id` header.
 *
 *   const moto = await startMoto();
 *   const cfn = moto.client(CloudFormationClient, '111111111111');
 *   await moto.stop();
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { scaledTimeout } from '../../lib/core/timeout-scale';

/** The fixed credentials moto accepts (any would do). */
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
/** Only catches a server that never answers: stretched by the timeout scale on a loaded machine. */
const START_TIMEOUT_MS = scaledTimeout(30_000);

export interface Moto {
  readonly endpoint: string;
  readonly region: string;
  /** An SDK client acting in `account`. */
  client<C extends { middlewareStack: { add: (...args: never[]) => void } }>(Client: new (config: object) => C, account: string): C;
  stop(): Promise<void>;
}

/** A free loopback port (the OS picks it; moto binds it right after). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Fails with a message naming the tool when moto_server is not installed. */
export class MissingToolError extends Error {}

export async function startMoto(region = 'us-east-1'): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  try {
    child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new MissingToolError(`moto_server could not be started (${String(error)}): install it with "pip install 'moto[server]'"`);
  }
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 50) stderr.shift();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_resolve, reject) =>
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new MissingToolError('moto_server is not installed (it is the Python package moto 5 with the server extra): pip install "moto[server]==5.2.1"')
          : error,
      ),
    ),
  );
  // Ready when its HTTP endpoint answers; waits on the process, not on the clock.
  const ready = (async () => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(5_000) });
        await response.arrayBuffer();
        return;
      } catch {
        if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}: ${stderr.join('').slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`moto_server did not answer within ${START_TIMEOUT_MS} ms: ${stderr.join('').slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  })();
  try {
    await Promise.race([ready, spawnError]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    endpoint,
    region,
    client: (Client, account) => {
      const client = new Client({ endpoint, region, credentials: CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
      (client.middlewareStack as unknown as { add: (mw: unknown, options: unknown) => void }).add(
        (next: (args: { request: { headers: Record<string, string> } }) => unknown) => (args: { request: { headers: Record<string, string> } }) => {
          args.request.headers['x-moto-account-id'] = account;
          return next(args);
        },
        { step: 'build', name: 'motoAccount' },
      );
      return client;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
