/**
 * The index-kind registry loads a kind's validator and summarizer lazily, once per process,
 * and only from the loaders it was given: a function that does not play a role fails loudly
 * instead of loading (and bundling) code it should not run.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { IndexKindRegistry } from '../../../lib/service/index-kinds/index-kind-registry';
import { INDEX_KIND_SUMMARIZERS } from '../../../lib/service/index-kinds/index-kind-summarizers';
import { INDEX_KIND_VALIDATORS } from '../../../lib/service/index-kinds/index-kind-validators';
import { INDEX_KINDS } from '../../../lib/service/index-kinds/index-kinds';
import type { IndexKindSpec, IndexKindSummarizer, IndexKindValidator } from '../../../lib/service/types';

const spec: IndexKindSpec = { kind: 'sei', parts: [{ name: 'skeleton', maxBytes: 10, description: 'test' }] };
const validator: IndexKindValidator = { validate: () => Promise.reject(new Error('not called')) };
const summarizer: IndexKindSummarizer = { summarize: () => ({ ok: true }) };

describe('index kind registry', () => {
  it('loads a role on first use, once, even under concurrent first uses', async () => {
    let loads = 0;
    const registry = new IndexKindRegistry([spec], {
      validators: {
        sei: async () => {
          loads++;
          return validator;
        },
      },
    });
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([registry.validator('sei'), registry.validator('sei')]);
    expect(a).toBe(validator);
    expect(b).toBe(validator);
    await registry.validator('sei');
    expect(loads).toBe(1);
  });

  it('retries a failed load on the next use', async () => {
    let attempts = 0;
    const registry = new IndexKindRegistry([spec], {
      summarizers: {
        sei: async () => {
          attempts++;
          if (attempts === 1) throw new Error('module failed to load');
          return summarizer;
        },
      },
    });
    await expect(registry.summarizer('sei')).rejects.toThrow('module failed to load');
    await expect(registry.summarizer('sei')).resolves.toBe(summarizer);
  });

  it('refuses a role this process was not given, and names unknown kinds', async () => {
    const registry = new IndexKindRegistry([spec], { summarizers: { sei: async () => summarizer } });
    expect(registry.get('sei')).toBe(spec);
    await expect(registry.validator('sei')).rejects.toThrow('index kind "sei": no validator is loaded in this function');
    expect(() => registry.get('faiss')).toThrow(InvalidInputError);
    expect(() => registry.get('faiss')).toThrow('index kind "faiss" is not supported by this service; use one of: "sei"');
  });

  it('a whole handler is its own validator and summarizer', async () => {
    const whole = { ...spec, ...validator, ...summarizer };
    const registry = new IndexKindRegistry([whole]);
    expect(await registry.validator('sei')).toBe(whole);
    expect(await registry.summarizer('sei')).toBe(whole);
  });

  it('every kind of the deployment has a validator and a summarizer', async () => {
    const registry = new IndexKindRegistry(INDEX_KINDS, { validators: INDEX_KIND_VALIDATORS, summarizers: INDEX_KIND_SUMMARIZERS });
    for (const kind of registry.kinds) {
      expect(typeof (await registry.validator(kind)).validate).toBe('function');
      expect(typeof (await registry.summarizer(kind)).summarize).toBe('function');
    }
  });
});
