/**
 * Worker threads that run TypeScript modules. tsx's `--import tsx` hooks apply to the thread
 * that registered them only, so each worker first registers tsx's ESM loader itself, then
 * imports its entry module. Used for the local cloud's execution environments and its storage
 * emulators (no effect in AWS, where the handlers are bundled JavaScript).
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';

const TSX_API = import.meta.resolve('tsx/esm/api');

/** Starts `entryFile` (an absolute path to a .ts module) in a new worker thread. */
export function startTypeScriptWorker(entryFile: string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const entry = pathToFileURL(entryFile).href;
  // An eval worker is a CommonJS script; dynamic import() works there.
  const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
