import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { MalformedDataError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import type { FashionMnist } from '../../../lib/data/fashion-mnist';
import type { CachedFeatures } from '../../../lib/features/feature-cache';
import { datasetDigest, decodeFeatureCache, encodeFeatureCache, findFeatureCacheFiles } from '../../../lib/features/feature-cache';
import { fashionMnistFeatures, fashionMnistPng, renderFashionMnist } from '../../../lib/features/fashion-mnist-features';
import { normaliseRows } from '../../../lib/features/normalise';
import type { FeatureExtractor, PixelBatch } from '../../../lib/features/types';

const scratch = mkdtempSync(join(tmpdir(), 'blindsight-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A synthetic 28x28 dataset (the real one is not needed to test caching). */
function syntheticFashion(n: number, seed: number): FashionMnist {
  const random = seededRandom(seed);
  const pixels = Uint8Array.from({ length: n * 784 }, () => random.int(256));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  return { n, rows: 28, cols: 28, pixels, labels };
}

/** A stand-in extractor: activation j of an image = mean of its pixels in row band j, counting calls. */
function fakeExtractor(): FeatureExtractor & { embedded: number; lastBatch?: PixelBatch } {
  const d = 7;
  const fake = {
    model: 'fake/mid',
    modelVersion: 'fake@1',
    inputSize: 28,
    dimension: d,
    backend: 'wasm' as const,
    embedded: 0,
    lastBatch: undefined as PixelBatch | undefined,
    async embedPixels(batch: PixelBatch) {
      fake.embedded += batch.n;
      fake.lastBatch = batch;
      const out = new Float32Array(batch.n * d);
      for (let i = 0; i < batch.n; i++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let p = j * 112; p < (j + 1) * 112; p++) s += batch.pixels[i * 784 + p];
          out[i * d + j] = s / 112;
        }
      }
      return out;
    },
    normalise: (raw: Float32Array, n: number) => normaliseRows(raw, n, d, true),
    extract: async () => {
      throw new Error('unused');
    },
    extractPixels: async () => {
      throw new Error('unused');
    },
    extractFolder: async () => {
      throw new Error('unused');
    },
    dispose: () => {},
  };
  return fake;
}

describe('feature cache format', () => {
  const entry: CachedFeatures = {
    key: { model: 'm/mid', inputSize: 96, weightsVersion: 'nsfwjs@4.4.0', pipelineVersion: 'p1' },
    n: 3,
    d: 2,
    backend: 'wasm',
    digest: new Uint8Array(32).fill(7),
    activations: Float32Array.from([0.5, 1.25, 0, 3, -2, 1e-7]),
  };

  it('round-trips exactly', () => {
    const decoded = decodeFeatureCache(encodeFeatureCache(entry));
    expect(decoded.key).toEqual(entry.key);
    expect([decoded.n, decoded.d, decoded.backend]).toEqual([3, 2, 'wasm']);
    expect(Array.from(decoded.digest)).toEqual(Array.from(entry.digest));
    expect(Array.from(decoded.activations)).toEqual(Array.from(entry.activations));
  });

  it('rejects truncated, oversized, wrong-magic, wrong-version and non-finite input', () => {
    const bytes = encodeFeatureCache(entry);
    expect(() => decodeFeatureCache(bytes.subarray(0, bytes.length - 1))).toThrow(MalformedDataError);
    expect(() => decodeFeatureCache(Uint8Array.from([...bytes, 0, 0, 0, 0]))).toThrow(/expected 3 x 2 float32/);
    const magic = bytes.slice();
    magic[0] = 0x58;
    expect(() => decodeFeatureCache(magic)).toThrow(/bad magic/);
    const version = bytes.slice();
    version[4] = 9;
    expect(() => decodeFeatureCache(version)).toThrow(/unsupported version/);
    const nan = encodeFeatureCache({ ...entry, activations: Float32Array.from([0, 0, Number.NaN, 0, 0, 0]) });
    expect(() => decodeFeatureCache(nan)).toThrow(/activation 2 is not a finite number/);
    expect(() => decodeFeatureCache(new Uint8Array(3))).toThrow(MalformedDataError);
  });
});

describe('fashionMnistFeatures', () => {
  const data = syntheticFashion(60, 3);

  it('extracts on a miss, then serves hits (also for a shorter prefix) bit for bit', async () => {
    const dir = join(scratch, 'a');
    const extractor = fakeExtractor();
    const miss = await fashionMnistFeatures({ extractor, n: 50, data, cacheDir: dir, invert: false });
    expect(miss.cache).toBe('miss');
    expect(extractor.embedded).toBe(50);
    expect(readdirSync(dir)).toEqual(['fake_mid-28-50.bin']);
    expect(Array.from(miss.labels)).toEqual(Array.from(data.labels.subarray(0, 50)));

    const hit = await fashionMnistFeatures({ extractor, n: 50, data, cacheDir: dir, invert: false });
    expect(hit.cache).toBe('hit');
    expect(extractor.embedded).toBe(50);
    expect(Buffer.from(hit.vectors.data.buffer).equals(Buffer.from(miss.vectors.data.buffer))).toBe(true);

    const prefix = await fashionMnistFeatures({ extractor, n: 20, data, cacheDir: dir, invert: false });
    expect(prefix.cache).toBe('hit');
    expect(prefix.vectors.n).toBe(20);
    expect(Array.from(prefix.vectors.data)).toEqual(Array.from(miss.vectors.data.subarray(0, 20 * 7)));

    // More images than cached: extract again.
    const more = await fashionMnistFeatures({ extractor, n: 55, data, cacheDir: dir, invert: false });
    expect(more.cache).toBe('miss');
    expect(findFeatureCacheFiles(dir, { model: 'fake/mid', inputSize: 28, weightsVersion: '', pipelineVersion: '' }, 51)).toHaveLength(1);
  });

  it('keeps inverted and plain renderings apart, and inverts as 255 - pixel', async () => {
    const dir = join(scratch, 'b');
    const extractor = fakeExtractor();
    const plain = await fashionMnistFeatures({ extractor, n: 10, data, cacheDir: dir, invert: false });
    const inverted = await fashionMnistFeatures({ extractor, n: 10, data, cacheDir: dir, invert: true });
    expect(inverted.cache).toBe('miss');
    expect(extractor.lastBatch?.pixels[5]).toBe(255 - data.pixels[5]);
    expect(plain.vectors.data[0]).not.toBe(inverted.vectors.data[0]);
    expect(readdirSync(dir).sort()).toEqual(['fake_mid-28-10.bin', 'fake_mid_inverted-28-10.bin']);
  });

  it('refuses a cache made from other images', async () => {
    const dir = join(scratch, 'c');
    const extractor = fakeExtractor();
    await fashionMnistFeatures({ extractor, n: 10, data, cacheDir: dir, invert: false });
    const other = syntheticFashion(60, 4);
    await expect(fashionMnistFeatures({ extractor, n: 10, data: other, cacheDir: dir, invert: false })).rejects.toThrow(/different images/);
    // A corrupted file is a MalformedDataError, never silently wrong features.
    const file = join(dir, readdirSync(dir)[0]);
    writeFileSync(file, readFileSync(file).subarray(0, 100));
    await expect(fashionMnistFeatures({ extractor, n: 10, data, cacheDir: dir, invert: false })).rejects.toBeInstanceOf(MalformedDataError);
    // rebuild ignores (and replaces) it.
    const rebuilt = await fashionMnistFeatures({ extractor, n: 10, data, cacheDir: dir, invert: false, rebuild: true });
    expect(rebuilt.cache).toBe('miss');
  });

  it('can run without a cache and validates n', async () => {
    const extractor = fakeExtractor();
    const off = await fashionMnistFeatures({ extractor, n: 5, data, cacheDir: null });
    expect(off.cache).toBe('off');
    await expect(fashionMnistFeatures({ extractor, n: 61, data, cacheDir: null })).rejects.toThrow(/n must be an integer in \[1, 60\]/);
  });

  it('renders PNGs with the same pixels the extractor sees', async () => {
    const png = await fashionMnistPng(data, 4, true);
    const { data: decoded } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(decoded)).toEqual(Array.from(renderFashionMnist(data, 4, 5, true)));
    expect(datasetDigest(data.pixels, data.labels, 10, 784)).not.toEqual(datasetDigest(data.pixels, data.labels, 11, 784));
  });
});
