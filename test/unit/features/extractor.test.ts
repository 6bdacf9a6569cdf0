/**
 * The general extractor on real images with the default model (loaded once for the file):
 * shape, determinism, near-duplicate ranking, hostile files in list and folder mode, and a
 * user's own layers model from a folder.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import { initTensorflow } from '../../../lib/features/backend';
import { CorruptImageError, InvalidModelError, UnsupportedImageError } from '../../../lib/features/errors';
import { createFeatureExtractor, DEFAULT_FEATURE_LAYER, DEFAULT_FEATURE_MODEL, DEFAULT_INPUT_SIZES } from '../../../lib/features/extractor';
import { silentLogger } from '../../support/logs';
import { BUNDLED_MODELS } from '../../../lib/features/models/bundled';
import type { ExtractionProgress, FeatureExtractor } from '../../../lib/features/types';

const FIXTURES = 'test/fixtures/images';
const HOSTILE = `${FIXTURES}/hostile`;
const fixture = (name: string) => join(FIXTURES, name);
const scratch = mkdtempSync(join(tmpdir(), 'blindsight-extract-'));

let extractor: FeatureExtractor;

beforeAll(async () => {
  extractor = await createFeatureExtractor({ batchSize: 4, log: silentLogger });
});
afterAll(() => {
  extractor?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

function distance(a: VectorSet, i: number, b: VectorSet, j: number): number {
  return Math.sqrt(squaredDistanceAt(a.data, i * a.d, b.data, j * b.d, a.d));
}

function rowBytes(set: VectorSet, i: number): Buffer {
  return Buffer.from(set.data.buffer, set.data.byteOffset + i * set.d * 8, set.d * 8);
}

describe('default extractor', () => {
  it('uses the measured default model, size and layer, on the selected backend', () => {
    expect(extractor.model).toBe(`${DEFAULT_FEATURE_MODEL}/${DEFAULT_FEATURE_LAYER}`);
    expect(extractor.inputSize).toBe(DEFAULT_INPUT_SIZES[DEFAULT_FEATURE_MODEL]);
    expect(extractor.dimension).toBe(BUNDLED_MODELS[DEFAULT_FEATURE_MODEL].featureNodes[DEFAULT_FEATURE_LAYER].dimension);
    expect(extractor.modelVersion).toMatch(/^nsfwjs@\d+\.\d+\.\d+$/);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(extractor.backend);
  });

  it('returns one finite unit vector per image, in input order', async () => {
    const files = ['scene.png', 'gradient.jpg', 'noise.webp', 'grey.png', 'alpha.png', 'cmyk.jpg', 'exif-rotated.jpg'].map(fixture);
    const set = await extractor.extract(files);
    expect(set.n).toBe(files.length);
    expect(set.d).toBe(extractor.dimension);
    expect(set.data.length).toBe(files.length * extractor.dimension);
    for (let i = 0; i < set.n; i++) {
      let norm = 0;
      for (let j = 0; j < set.d; j++) {
        expect(Number.isFinite(set.data[i * set.d + j])).toBe(true);
        norm += set.data[i * set.d + j] ** 2;
      }
      expect(norm).toBeCloseTo(1, 9);
    }
    // Different images give different vectors; order follows the input.
    const single = await extractor.extract([files[2]]);
    expect(rowBytes(single, 0).equals(rowBytes(set, 2))).toBe(true);
    expect(distance(set, 0, set, 1)).toBeGreaterThan(0.1);
  });

  it('is deterministic: the same bytes give bit-identical vectors, whatever the batch around them', async () => {
    const bytes = new Uint8Array(readFileSync(fixture('scene.png')));
    const alone = await extractor.extract([bytes]);
    const again = await extractor.extract([bytes]);
    // Batch size 4: the image lands at another position of another batch.
    const mixed = await extractor.extract([fixture('noise.webp'), fixture('gradient.jpg'), fixture('grey.png'), fixture('alpha.png'), fixture('cmyk.jpg'), bytes]);
    expect(rowBytes(alone, 0).equals(rowBytes(again, 0))).toBe(true);
    expect(rowBytes(alone, 0).equals(rowBytes(mixed, 5))).toBe(true);
  });

  it('a small PNG gives bit for bit the vector of its raw pixels (same TensorFlow upscaling)', async () => {
    const png = fixture('fashion-0-class9.png');
    const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(1);
    const fromPixels = await extractor.extractPixels({ n: 1, height: info.height, width: info.width, channels: 1, pixels: new Uint8Array(data) });
    const fromFile = await extractor.extract([png]);
    expect(rowBytes(fromPixels, 0).equals(rowBytes(fromFile, 0))).toBe(true);
    const raw = await extractor.embedPixels({ n: 1, height: info.height, width: info.width, channels: 1, pixels: new Uint8Array(data) });
    expect(rowBytes(extractor.normalise(raw, 1), 0).equals(rowBytes(fromFile, 0))).toBe(true);
  });

  it('ranks a resized, brightened, re-encoded copy above unrelated images', async () => {
    const others = ['gradient.jpg', 'noise.webp', 'grey.png', 'alpha.png', 'exif-rotated.jpg', 'fashion-0-class9.png', 'fashion-16-class1.png', 'fashion-23-class8.png'];
    const set = await extractor.extract([fixture('scene.png'), fixture('scene-near-duplicate.jpg'), ...others.map(fixture)]);
    const nearDuplicate = distance(set, 0, set, 1);
    for (let j = 2; j < set.n; j++) expect(nearDuplicate).toBeLessThan(distance(set, 0, set, j));
  });

  it('finds a Fashion-MNIST item from a shifted, brightness-changed copy among other items', async () => {
    const original = readFileSync(fixture('fashion-0-class9.png'));
    // Copy: enlarged to 40x40, shifted by 2 pixels (white border), darker by 15%, JPEG.
    const copy = await sharp(original)
      .resize(36, 36)
      .extend({ top: 2, left: 2, bottom: 2, right: 2, background: '#ffffff' })
      .linear(0.85, 0)
      .jpeg({ quality: 75 })
      .toBuffer();
    const names = ['fashion-0-class9.png', 'fashion-11-class9.png', 'fashion-16-class1.png', 'fashion-23-class8.png', 'scene.png', 'gradient.jpg'];
    const set = await extractor.extract([copy, ...names.map(fixture)]);
    const distances = names.map((_, j) => distance(set, 0, set, j + 1));
    const nearest = distances.indexOf(Math.min(...distances));
    expect(names[nearest]).toBe('fashion-0-class9.png');
    // Another ankle boot is closer than the trouser and the bag.
    expect(distances[1]).toBeLessThan(distances[2]);
    expect(distances[1]).toBeLessThan(distances[3]);
  });

  it('names the first unusable image with a typed error', async () => {
    await expect(extractor.extract([fixture('scene.png'), join(HOSTILE, 'truncated.jpg')])).rejects.toSatisfy(
      (e: unknown) => e instanceof CorruptImageError && e.file.endsWith('truncated.jpg') && e.code === 'INVALID_INPUT',
    );
    await expect(extractor.extract([new Uint8Array([1, 2, 3])])).rejects.toSatisfy(
      (e: unknown) => e instanceof UnsupportedImageError && e.message === 'image #0: not a JPEG, PNG or WebP image',
    );
  });

  it('returns an empty set for no images', async () => {
    const set = await extractor.extract([]);
    expect([set.n, set.d, set.data.length]).toEqual([0, extractor.dimension, 0]);
  });
});

describe('extractFolder', () => {
  const folder = join(scratch, 'gallery');

  beforeAll(() => {
    mkdirSync(join(folder, 'sub'), { recursive: true });
    for (const f of ['scene.png', 'gradient.jpg', 'noise.webp', 'fashion-16-class1.png']) copyFileSync(fixture(f), join(folder, f));
    for (const f of readdirSync(HOSTILE)) copyFileSync(join(HOSTILE, f), join(folder, `bad-${f}`));
    copyFileSync(fixture('grey.png'), join(folder, 'sub', 'grey.png'));
    writeFileSync(join(folder, '.hidden.png'), 'not read');
  });

  it('extracts the good images, skips and lists the bad ones, never failing the folder', async () => {
    const progress: ExtractionProgress[] = [];
    const result = await extractor.extractFolder(folder, { onProgress: (p) => progress.push(p) });
    expect(result.ids).toEqual(['fashion-16-class1.png', 'gradient.jpg', 'noise.webp', 'scene.png']);
    expect(result.skipped).toEqual([
      { file: 'bad-animation.gif', reason: 'not a JPEG, PNG or WebP image' },
      { file: 'bad-corrupt-data.png', reason: expect.stringMatching(/^unreadable PNG header|^corrupt or truncated PNG/) },
      { file: 'bad-empty.jpg', reason: 'empty file, not an image' },
      { file: 'bad-huge-dimensions.png', reason: '100000x100000 pixels exceeds the 50000000-pixel limit' },
      { file: 'bad-svg-named.png', reason: 'not a JPEG, PNG or WebP image' },
      { file: 'bad-text-named.jpg', reason: 'not a JPEG, PNG or WebP image' },
      { file: 'bad-truncated.jpg', reason: expect.stringMatching(/^corrupt or truncated JPEG/) },
    ]);
    expect(result.vectors.n).toBe(4);
    // Same vectors as extracting the good files directly.
    const direct = await extractor.extract(result.ids.map((id) => join(folder, id)));
    expect(Buffer.from(direct.data.buffer).equals(Buffer.from(result.vectors.data.buffer))).toBe(true);
    expect(progress.at(-1)).toEqual({ done: 11, total: 11, skipped: 7 });
    for (let i = 1; i < progress.length; i++) expect(progress[i].done).toBeGreaterThan(progress[i - 1].done);
  });

  it('descends into sub-folders when asked', async () => {
    const result = await extractor.extractFolder(folder, { recursive: true });
    expect(result.ids).toContain('sub/grey.png');
    expect(result.vectors.n).toBe(5);
  });

  it('a missing folder is an error', async () => {
    await expect(extractor.extractFolder(join(scratch, 'absent'))).rejects.toThrow(/cannot be read/);
  });
});

describe("a user's own model folder", () => {
  const modelDir = join(scratch, 'user-model');

  beforeAll(async () => {
    // A tiny layers model with seeded weights, saved in the TF.js layers format.
    const { tf } = await initTensorflow();
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 6, kernelSize: 3, strides: 2, activation: 'relu', name: 'conv_a', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.conv2d({ filters: 10, kernelSize: 3, activation: 'relu', name: 'conv_b', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        tf.layers.globalAveragePooling2d({ name: 'pool' }),
        tf.layers.dense({ units: 3, name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      ],
    });
    mkdirSync(modelDir, { recursive: true });
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        writeFileSync(join(modelDir, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
        const json = { format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] };
        writeFileSync(join(modelDir, 'model.json'), JSON.stringify(json));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    model.dispose();
  });

  it('loads it with its declared input size and reads its output or a named layer', async () => {
    const head = await createFeatureExtractor({ model: { folder: modelDir }, log: silentLogger });
    expect([head.inputSize, head.dimension]).toEqual([32, 3]);
    expect(head.model).toBe(`custom:${modelDir}`);
    expect(head.modelVersion).toMatch(/^sha256:[0-9a-f]{16}$/);
    const a = await head.extract([fixture('scene.png'), fixture('noise.webp')]);
    const b = await head.extract([fixture('scene.png')]);
    expect(rowBytes(a, 0).equals(rowBytes(b, 0))).toBe(true);
    head.dispose();

    // A rank-4 intermediate layer is average-pooled; another input size is accepted for a conv stack.
    const conv = await createFeatureExtractor({ model: { folder: modelDir, outputNode: 'conv_b', normalisation: 'minus_one_one' }, inputSize: 48, log: silentLogger });
    expect([conv.inputSize, conv.dimension]).toEqual([48, 10]);
    const c = await conv.extract([fixture('scene.png')]);
    expect(c.n).toBe(1);
    conv.dispose();
  });

  it('refuses hostile or broken model folders', async () => {
    const bad = join(scratch, 'bad-model');
    mkdirSync(bad, { recursive: true });
    await expect(createFeatureExtractor({ model: { folder: bad }, log: silentLogger })).rejects.toBeInstanceOf(InvalidModelError);

    const json = JSON.parse(readFileSync(join(modelDir, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../user-model/weights.bin'];
    writeFileSync(join(bad, 'model.json'), JSON.stringify(json));
    await expect(createFeatureExtractor({ model: { folder: bad }, log: silentLogger })).rejects.toThrow(/points outside the model folder/);

    json.weightsManifest[0].paths = ['weights.bin'];
    writeFileSync(join(bad, 'model.json'), JSON.stringify(json));
    writeFileSync(join(bad, 'weights.bin'), readFileSync(join(modelDir, 'weights.bin')).subarray(4));
    await expect(createFeatureExtractor({ model: { folder: bad }, log: silentLogger })).rejects.toThrow(/weight shards hold \d+ bytes but model.json describes/);

    writeFileSync(join(bad, 'weights.bin'), readFileSync(join(modelDir, 'weights.bin')));
    await expect(createFeatureExtractor({ model: { folder: bad, outputNode: 'nope' }, log: silentLogger })).rejects.toThrow(/no layer named "nope"/);
  });
});

describe('options', () => {
  it('rejects unknown models, bad sizes and batch sizes, and use after dispose', async () => {
    await expect(createFeatureExtractor({ model: 'resnet' as never, log: silentLogger })).rejects.toBeInstanceOf(InvalidParametersError);
    await expect(createFeatureExtractor({ inputSize: 16, log: silentLogger })).rejects.toThrow(/input size 16/);
    await expect(createFeatureExtractor({ batchSize: 0, log: silentLogger })).rejects.toThrow(/batchSize/);
    const small = await createFeatureExtractor({ model: 'faceapi_mobilenet_v1', inputSize: 32, log: silentLogger });
    small.dispose();
    await expect(small.extract([fixture('scene.png')])).rejects.toThrow(/disposed/);
  });
});
