/**
 * CS1's storage emulators, dynalite (DynamoDB) and s3rver (S3), on their own thread of the CS1
 * account process: they serve the handlers over loopback HTTP as before, but no longer share an
 * event loop (and a core) with the gateway. They stay inside the account process, so the
 * account still starts, stops and dies (even by SIGKILL) as one unit.
 *
 *   const storage = await startStorageThread({ dynamodbDir, s3Dir, host, dynamodbPort, s3Port, bucket });
 *   storage.dynamodbEndpoint; storage.s3Endpoint;
 *   await storage.stop();
 */
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { REPO_ROOT } from './layout';
import { startTypeScriptWorker } from './typescript-worker';

export interface StorageThreadConfig {
  readonly dynamodbDir: string;
  readonly s3Dir: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly dynamodbPort: number;
  readonly s3Port: number;
  /** Buckets s3rver creates at start. */
  readonly buckets: readonly string[];
  /** Page origins allowed to use presigned URLs (the buckets' CORS). */
  readonly corsOrigins: readonly string[];
}

export interface StorageThread {
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  stop(): Promise<void>;
}

/** Messages of the storage thread to the account's main thread. */
export type StorageThreadMessage =
  | { readonly type: 'ready'; readonly dynamodbEndpoint: string; readonly s3Endpoint: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stopped' };

const ENTRY = join(REPO_ROOT, 'scripts', 'local-cloud', 'storage-thread-main.ts');
const STOP_DEADLINE_MS = 10_000;

export async function startStorageThread(config: StorageThreadConfig): Promise<StorageThread> {
  const worker = startTypeScriptWorker(ENTRY, { workerData: config });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const ready = await new Promise<Extract<StorageThreadMessage, { type: 'ready' }>>((resolve, reject) => {
    const onMessage = (message: StorageThreadMessage) => {
      if (message.type === 'ready') done(() => resolve(message));
      else if (message.type === 'failed') done(() => reject(new Error(`the storage emulators could not start: ${message.message}`)));
    };
    const onError = (error: Error) => done(() => reject(new Error(`the storage emulators could not start: ${error.message}`)));
    const onExit = (code: number) => done(() => reject(new Error(`the storage thread exited with code ${code} before it was ready`)));
    const done = (settle: () => void) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      settle();
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });

  // After the start, a failure of the emulators is fatal for the account: nothing it serves
  // would work. The account process reports it and exits.
  worker.on('error', (error) => {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'storage emulators failed', errorType: error.name, errorMessage: error.message })}\n`);
    process.exit(1);
  });

  return {
    dynamodbEndpoint: ready.dynamodbEndpoint,
    s3Endpoint: ready.s3Endpoint,
    stop: () => stopWorker(worker, exited),
  };
}

/** Asks the thread to close the emulators (LevelDB is flushed and unlocked), then ends it. */
async function stopWorker(worker: Worker, exited: Promise<number>): Promise<void> {
  const stopped = new Promise<void>((resolve) => {
    worker.on('message', (message: StorageThreadMessage) => {
      if (message.type === 'stopped') resolve();
    });
    void exited.then(() => resolve());
  });
  worker.postMessage({ type: 'stop' });
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, STOP_DEADLINE_MS).unref());
  await Promise.race([stopped, deadline]);
  await worker.terminate();
}
