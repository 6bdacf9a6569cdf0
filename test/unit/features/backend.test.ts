import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { InvalidParametersError, UnavailableError } from '../../../lib/core/errors';
import type { BackendLoaders } from '../../../lib/features/backend';
import { SETTINGS } from '../../../lib/config/settings';
import { initTensorflow, requestedBackend, selectBackend } from '../../../lib/features/backend';
import type { LogEvent, Tf } from '../../../lib/features/types';

const BACKEND_ENV = SETTINGS.tfBackend.name;

const fakeTf = { version_core: '0.0.0-test' } as unknown as Tf;

function loaders(available: { tensorflow?: boolean; wasm?: boolean; cpu?: boolean }, calls: string[] = []): BackendLoaders {
  const attempt = async (name: 'tensorflow' | 'wasm' | 'cpu') => {
    calls.push(name);
    if (!available[name]) throw new Error(`Cannot find package '@tensorflow/${name}'\nsecond line`);
  };
  return {
    tensorflow: async () => (await attempt('tensorflow'), fakeTf),
    wasm: async () => (await attempt('wasm'), { tf: fakeTf, simd: true, threads: false }),
    cpu: async () => (await attempt('cpu'), fakeTf),
  };
}

describe('selectBackend', () => {
  it('prefers native TensorFlow when it loads', async () => {
    const events: LogEvent[] = [];
    const calls: string[] = [];
    const backend = await selectBackend(undefined, loaders({ tensorflow: true, wasm: true }, calls), (e) => events.push(e));
    expect(backend.name).toBe('tensorflow');
    expect(calls).toEqual(['tensorflow']);
    expect(events).toEqual([expect.objectContaining({ event: 'tf-backend', backend: 'tensorflow', forced: false })]);
  });

  it('falls back to WASM when @tensorflow/tfjs-node is missing, and says why', async () => {
    const events: LogEvent[] = [];
    const calls: string[] = [];
    const backend = await selectBackend(undefined, loaders({ wasm: true }, calls), (e) => events.push(e));
    expect(backend.name).toBe('wasm');
    expect(calls).toEqual(['tensorflow', 'wasm']);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ backend: 'wasm', simd: true, multithread: false });
    expect(events[0].fallbackFrom).toBe("tensorflow: Cannot find package '@tensorflow/tensorflow'");
  });

  it('falls back to the CPU backend last, with a warning', async () => {
    const events: LogEvent[] = [];
    const backend = await selectBackend(undefined, loaders({ cpu: true }), (e) => events.push(e));
    expect(backend.name).toBe('cpu');
    expect(events[0]).toMatchObject({ level: 'warn', backend: 'cpu' });
    expect(String(events[0].fallbackFrom)).toContain('wasm:');
  });

  it('a forced backend that cannot start is an error, not a silent fallback', async () => {
    const calls: string[] = [];
    await expect(selectBackend('tensorflow', loaders({ wasm: true }, calls), () => {})).rejects.toBeInstanceOf(UnavailableError);
    expect(calls).toEqual(['tensorflow']);
    const forced = await selectBackend('cpu', loaders({ tensorflow: true, cpu: true }), () => {});
    expect(forced.name).toBe('cpu');
  });

  it('fails when nothing starts', async () => {
    await expect(selectBackend(undefined, loaders({}), () => {})).rejects.toThrow(/no TensorFlow.js backend could start/);
  });
});

describe('requestedBackend', () => {
  it('reads BLINDSIGHT_TF_BACKEND', () => {
    expect(requestedBackend({})).toBeUndefined();
    expect(requestedBackend({ [BACKEND_ENV]: '' })).toBeUndefined();
    expect(requestedBackend({ [BACKEND_ENV]: ' WASM ' })).toBe('wasm');
    expect(requestedBackend({ [BACKEND_ENV]: 'tensorflow' })).toBe('tensorflow');
    expect(() => requestedBackend({ [BACKEND_ENV]: 'gpu' })).toThrow(InvalidParametersError);
  });
});

describe('initTensorflow (this machine)', () => {
  it('runs native TensorFlow when @tensorflow/tfjs-node is installed, else WASM, and logs it', async () => {
    let nodeInstalled = true;
    try {
      createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    } catch {
      nodeInstalled = false;
    }
    const forced = requestedBackend();
    const events: LogEvent[] = [];
    const backend = await initTensorflow({ log: (e) => events.push(e) });
    const expected = forced ?? (nodeInstalled ? 'tensorflow' : 'wasm');
    expect(backend.name).toBe(expected);
    expect(backend.tf.getBackend()).toBe(expected);
    expect(events).toEqual([expect.objectContaining({ event: 'tf-backend', backend: expected })]);
    if (!nodeInstalled && !forced) expect(String(events[0].fallbackFrom)).toContain('@tensorflow/tfjs-node');
    // One initialisation per process: later calls share it, and switching is refused.
    expect(await initTensorflow()).toBe(backend);
    await expect(initTensorflow({ prefer: expected === 'cpu' ? 'wasm' : 'cpu' })).rejects.toBeInstanceOf(InvalidParametersError);
    // A small op really runs on it.
    const sum = backend.tf.tidy(() => backend.tf.add(backend.tf.tensor1d([1, 2]), 1).dataSync());
    expect(Array.from(sum)).toEqual([2, 3]);
  });
});
