/**
 * Chooses the TensorFlow.js backend once per process: native libtensorflow through the optional
 * dependency @tensorflow/tfjs-node when it installed, otherwise @tensorflow/tfjs on the
 * WebAssembly backend (XNNPACK, SIMD when the runtime has it), and the plain-JS CPU backend only
 * as a last resort. BLINDSIGHT_TF_BACKEND=tensorflow|wasm|cpu forces one (and fails if it is
 * unavailable rather than silently running something slower).
 */
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { EnvironmentConfig } from '../config/environment';
import { SETTINGS } from '../config/settings';
import type { Environment } from '../config/types';
import { InvalidParametersError, UnavailableError } from '../core/errors';
import { stderrJsonLogger } from './log';
import type { BackendName, Logger, Tf, TfBackend } from './types';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** Ways to obtain each backend; injectable so the fallback order can be tested without reinstalling packages. */
export interface BackendLoaders {
  /** Imports @tensorflow/tfjs-node (throws when it is not installed or libtensorflow is missing). */
  tensorflow(): Promise<Tf>;
  /** Imports @tensorflow/tfjs and prepares the WASM backend; returns what the runtime supports. */
  wasm(): Promise<{ tf: Tf; simd: boolean; threads: boolean }>;
  /** Imports @tensorflow/tfjs (its CPU backend needs no setup). */
  cpu(): Promise<Tf>;
}

export interface BackendOptions {
  /** Overrides BLINDSIGHT_TF_BACKEND. */
  readonly prefer?: BackendName;
  readonly log?: Logger;
}

const requireHere = createRequire(import.meta.url);

/** Directory (with trailing separator) holding the .wasm binaries inside node_modules. */
export function wasmBinaryDirectory(): string {
  return join(dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + sep;
}

// A variable specifier keeps bundlers and tsc from resolving the optional package at build time.
const TFJS_NODE = '@tensorflow/tfjs-node';

export const defaultLoaders: BackendLoaders = {
  async tensorflow() {
    const tf = (await import(/* @vite-ignore */ TFJS_NODE)) as Tf;
    await tf.setBackend('tensorflow');
    await tf.ready();
    return tf;
  },
  async wasm() {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Load the binaries from the package's own files: nothing is fetched from a CDN.
    wasm.setWasmPaths(wasmBinaryDirectory());
    if (!(await tf.setBackend('wasm'))) throw new Error('the WASM backend failed to initialise');
    await tf.ready();
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    // tfjs only runs XNNPACK's thread pool in browsers with cross-origin isolation; in Node it is single-threaded.
    const threads = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    return { tf, simd, threads };
  },
  async cpu() {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await tf.ready();
    return tf;
  },
};

/** BLINDSIGHT_TF_BACKEND (undefined when unset or empty); a client-side setting, so a bad value is the caller's. */
export function requestedBackend(env?: Environment): BackendName | undefined {
  return new EnvironmentConfig(env, { misconfigured: (message) => new InvalidParametersError(message) }).get('tfBackend');
}

function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split('\n')[0];
  return firstLine.length > 200 ? `${firstLine.slice(0, 200)}...` : firstLine;
}

/**
 * Tries the backends in order (only `requested` when given) and logs the one that runs, with
 * the reason each faster one was passed over.
 * @throws UnavailableError when a requested backend cannot start.
 */
export async function selectBackend(
  requested: BackendName | undefined,
  loaders: BackendLoaders,
  log: Logger,
): Promise<TfBackend> {
  const order: BackendName[] = requested ? [requested] : [...BACKEND_NAMES];
  const passedOver: string[] = [];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        const tf = await loaders.tensorflow();
        log({ level: 'info', event: 'tf-backend', backend: name, forced: Boolean(requested), version: tf.version_core });
        return { name, tf };
      }
      if (name === 'wasm') {
        const { tf, simd, threads } = await loaders.wasm();
        log({
          level: 'info',
          event: 'tf-backend',
          backend: name,
          forced: Boolean(requested),
          simd,
          multithread: threads,
          version: tf.version_core,
          ...(passedOver.length > 0 ? { fallbackFrom: passedOver.join('; ') } : {}),
        });
        return { name, tf };
      }
      const tf = await loaders.cpu();
      log({
        level: 'warn',
        event: 'tf-backend',
        backend: name,
        forced: Boolean(requested),
        version: tf.version_core,
        note: 'plain JavaScript backend: expect extraction to be one to two orders of magnitude slower',
        ...(passedOver.length > 0 ? { fallbackFrom: passedOver.join('; ') } : {}),
      });
      return { name, tf };
    } catch (error) {
      if (requested) {
        throw new UnavailableError(
          `${SETTINGS.tfBackend.name}=${name} was requested but that backend cannot start (${reason(error)}); ` +
            `unset ${SETTINGS.tfBackend.name} to fall back automatically`,
          { cause: error },
        );
      }
      passedOver.push(`${name}: ${reason(error)}`);
    }
  }
  throw new UnavailableError(`no TensorFlow.js backend could start (${passedOver.join('; ')})`);
}

let initialised: Promise<TfBackend> | undefined;

/**
 * The process-wide backend, initialised on first call (later calls return the same one). A later
 * call explicitly asking for a different backend is an error: TensorFlow.js holds one engine
 * per process and tensors cannot cross backends.
 */
export function initTensorflow(options: BackendOptions = {}): Promise<TfBackend> {
  if (!initialised) {
    const pending = selectBackend(options.prefer ?? requestedBackend(), defaultLoaders, options.log ?? stderrJsonLogger);
    initialised = pending;
    // A failed start must not poison the process: the next call tries again.
    pending.catch(() => {
      if (initialised === pending) initialised = undefined;
    });
    return pending;
  }
  const { prefer } = options;
  if (!prefer) return initialised;
  return initialised.then((backend) => {
    if (backend.name !== prefer) {
      throw new InvalidParametersError(
        `TensorFlow.js already runs on the ${backend.name} backend in this process; cannot switch to ${prefer}`,
      );
    }
    return backend;
  });
}
