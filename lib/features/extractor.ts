/**
 * The general image feature extractor: decode, resize, normalise, run the network in batches,
 * pool, L2-normalise. The chosen default (model and input size) comes from the measured
 * comparison in docs/features.md.
 *
 * Determinism: decoding, resizing and every network op are deterministic on a given backend,
 * and each image's activations do not depend on the other images in its batch, so the same
 * image always yields bit-for-bit the same vector on the same backend.
 */
import { join } from 'node:path';
import { InvalidParametersError } from '../core/errors';
import type { VectorSet } from '../linalg/vectors';
import { initTensorflow } from './backend';
import type { DecodedImage } from './decode';
import { loadImage, resolveLimits, sourceName } from './decode';
import { ImageInputError } from './errors';
import { listFolderFiles } from './folder';
import { stderrJsonLogger } from './log';
import { normaliseRows } from './normalise';
import { BUNDLED_MODELS, isBundledModelId, loadBundledNetwork } from './models/bundled';
import { loadFolderNetwork } from './models/folder';
import type { BundledModelId, CustomModelSource, FeatureLayer, FeatureNetwork } from './models/types';
import { assertPixelBatch, decodedToInput, pixelBatchToInput } from './preprocess';
import type {
  BackendName,
  ExtractFolderOptions,
  FeatureExtractor,
  FolderFeatures,
  ImageLimits,
  ImageSource,
  Logger,
  PixelBatch,
  SkippedFile,
  Tensor4D,
  Tf,
} from './types';

/**
 * Chosen by measured P@k on Fashion-MNIST (docs/features.md): MobileNetV2 (width 1.4), its
 * last stride-16 layer, 128-pixel input, had the best P@5/10/20 of every model, layer and size
 * tried, at 4x the speed of the native 224 input.
 */
export const DEFAULT_FEATURE_MODEL: BundledModelId = 'mobilenet_v2_mid';
export const DEFAULT_FEATURE_LAYER: FeatureLayer = 'mid';
/** Input side used when a bundled model is named without a size: each model's best measured size for the 'mid' layer. */
export const DEFAULT_INPUT_SIZES: Record<BundledModelId, number> = {
  mobilenet_v2: 128,
  mobilenet_v2_mid: 128,
  inception_v3: 160,
  faceapi_mobilenet_v1: 224,
};
export const DEFAULT_BATCH_SIZE = 32;

export interface FeatureExtractorOptions {
  /** A bundled model id or a user's model folder (default {@link DEFAULT_FEATURE_MODEL}). */
  readonly model?: BundledModelId | CustomModelSource;
  /** Layer of a bundled model to read (default {@link DEFAULT_FEATURE_LAYER}). */
  readonly layer?: FeatureLayer;
  /** Square input side; overrides the model's default. */
  readonly inputSize?: number;
  /** Images per network run (default 32): larger batches amortise per-op overhead, cost memory. */
  readonly batchSize?: number;
  readonly limits?: Partial<ImageLimits>;
  /** Forces a backend (otherwise BLINDSIGHT_TF_BACKEND or automatic). */
  readonly backend?: BackendName;
  readonly log?: Logger;
}

async function loadNetwork(tf: Tf, options: FeatureExtractorOptions): Promise<FeatureNetwork> {
  const model = options.model ?? DEFAULT_FEATURE_MODEL;
  if (typeof model === 'string') {
    if (!isBundledModelId(model)) {
      throw new InvalidParametersError(`unknown feature model "${model}": use one of ${Object.keys(BUNDLED_MODELS).join(', ')} or {folder}`);
    }
    return loadBundledNetwork(tf, model, options.inputSize ?? DEFAULT_INPUT_SIZES[model], options.layer ?? DEFAULT_FEATURE_LAYER);
  }
  return loadFolderNetwork(tf, { ...model, inputSize: options.inputSize ?? model.inputSize });
}

/** Loads the model once; the extractor is then reused for any number of images. */
export async function createFeatureExtractor(options: FeatureExtractorOptions = {}): Promise<FeatureExtractor> {
  const log = options.log ?? stderrJsonLogger;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1024) {
    throw new InvalidParametersError(`batchSize must be an integer in [1, 1024], got ${batchSize}`);
  }
  const limits = resolveLimits(options.limits);
  const { tf, name: backend } = await initTensorflow({ prefer: options.backend, log });
  const started = Date.now();
  const network = await loadNetwork(tf, options);
  log({ level: 'info', event: 'feature-model', model: network.id, inputSize: network.inputSize, dimension: network.dimension, backend, loadMs: Date.now() - started });
  const { inputSize, dimension, normalisation } = network;
  let disposed = false;

  const normalise = (raw: Float32Array, n: number): VectorSet => normaliseRows(raw, n, dimension, network.powerNormalise);

  const checkLive = () => {
    if (disposed) throw new InvalidParametersError('this feature extractor has been disposed');
  };

  /** Runs one input batch; its pooled activations go to `raw` at row `row` (float32, unnormalised). */
  const embedInto = async (input: Tensor4D, raw: Float32Array, row: number): Promise<void> => {
    const features = network.embed(input);
    input.dispose();
    try {
      raw.set((await features.data()) as Float32Array, row * dimension);
    } finally {
      features.dispose();
    }
  };

  const decodeOne = (source: ImageSource, name: string) => loadImage(source, name, { squareSide: inputSize }, limits);

  const extract = async (images: readonly ImageSource[]): Promise<VectorSet> => {
    checkLive();
    const raw = new Float32Array(images.length * dimension);
    // Decoding runs in libuv's pool while the network runs on this thread: prefetch one batch.
    const decodeBatch = (from: number) =>
      Promise.all(images.slice(from, from + batchSize).map((src, k) => decodeOne(src, sourceName(src, from + k))));
    let next = images.length > 0 ? decodeBatch(0) : undefined;
    for (let from = 0; from < images.length; from += batchSize) {
      const decoded = await next!;
      next = from + batchSize < images.length ? decodeBatch(from + batchSize) : undefined;
      // A failing prefetch is reported when awaited; keep Node from flagging it meanwhile.
      next?.catch(() => {});
      await embedInto(decodedToInput(tf, decoded, inputSize, normalisation), raw, from);
    }
    return normalise(raw, images.length);
  };

  const embedPixels = async (batch: PixelBatch): Promise<Float32Array> => {
    checkLive();
    assertPixelBatch(batch);
    const raw = new Float32Array(batch.n * dimension);
    for (let from = 0; from < batch.n; from += batchSize) {
      const to = Math.min(batch.n, from + batchSize);
      await embedInto(pixelBatchToInput(tf, batch, from, to, inputSize, normalisation), raw, from);
    }
    return raw;
  };

  const extractPixels = async (batch: PixelBatch): Promise<VectorSet> => normalise(await embedPixels(batch), batch.n);

  const extractFolder = async (dir: string, folderOptions: ExtractFolderOptions = {}): Promise<FolderFeatures> => {
    checkLive();
    const { files, unreadable } = await listFolderFiles(dir, folderOptions.recursive ?? false);
    const skipped: SkippedFile[] = [...unreadable];
    const ids: string[] = [];
    const rows: Float32Array[] = [];
    const total = files.length;
    const tryDecode = async (file: string): Promise<DecodedImage | SkippedFile> => {
      try {
        return await decodeOne(join(dir, file), file);
      } catch (error) {
        if (error instanceof ImageInputError) return { file, reason: error.problem };
        throw error;
      }
    };
    const decodeBatch = (from: number) => Promise.all(files.slice(from, from + batchSize).map(tryDecode));
    let next = total > 0 ? decodeBatch(0) : undefined;
    for (let from = 0; from < total; from += batchSize) {
      const results = await next!;
      next = from + batchSize < total ? decodeBatch(from + batchSize) : undefined;
      next?.catch(() => {});
      const good: DecodedImage[] = [];
      results.forEach((r, k) => {
        if ('pixels' in r) {
          good.push(r);
          ids.push(files[from + k]);
        } else {
          skipped.push(r);
        }
      });
      if (good.length > 0) {
        const part = new Float32Array(good.length * dimension);
        await embedInto(decodedToInput(tf, good, inputSize, normalisation), part, 0);
        rows.push(part);
      }
      folderOptions.onProgress?.({ done: Math.min(total, from + batchSize), total, skipped: skipped.length });
    }
    const raw = new Float32Array(ids.length * dimension);
    let at = 0;
    for (const part of rows) {
      raw.set(part, at);
      at += part.length;
    }
    if (skipped.length > 0) log({ level: 'warn', event: 'images-skipped', folder: dir, skipped: skipped.length, extracted: ids.length });
    return { ids, vectors: normalise(raw, ids.length), skipped };
  };

  return {
    model: network.id,
    modelVersion: network.version,
    inputSize,
    dimension,
    backend,
    extract,
    extractPixels,
    embedPixels,
    normalise,
    extractFolder,
    dispose: () => {
      if (!disposed) network.dispose();
      disposed = true;
    },
  };
}
