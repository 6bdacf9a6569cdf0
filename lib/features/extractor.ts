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

/** What an extractor's operations share once its network is loaded. */
interface LoadedNetwork {
  readonly tf: Tf;
  readonly network: FeatureNetwork;
  readonly batchSize: number;
  readonly limits: ImageLimits;
  readonly log: Logger;
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
  const loaded: LoadedNetwork = { tf, network, batchSize, limits, log };
  let disposed = false;
  /** Every operation first checks that the network is still there (a disposed one rejects). */
  const live =
    <A extends unknown[], R>(operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (disposed) throw new InvalidParametersError('this feature extractor has been disposed');
      return operation(...args);
    };
  const normalise = (raw: Float32Array, n: number): VectorSet => normaliseRows(raw, n, network.dimension, network.powerNormalise);
  return {
    model: network.id,
    modelVersion: network.version,
    inputSize: network.inputSize,
    dimension: network.dimension,
    backend,
    extract: live(async (images: readonly ImageSource[]) => normalise(await embedSources(loaded, images), images.length)),
    extractPixels: live(async (batch: PixelBatch) => normalise(await embedPixelBatch(loaded, batch), batch.n)),
    embedPixels: live((batch: PixelBatch) => embedPixelBatch(loaded, batch)),
    normalise,
    extractFolder: live(async (dir: string, folderOptions: ExtractFolderOptions = {}) => {
      const { ids, raw, skipped } = await embedFolder(loaded, dir, folderOptions);
      return { ids, vectors: normalise(raw, ids.length), skipped };
    }),
    dispose: () => {
      if (!disposed) network.dispose();
      disposed = true;
    },
  };
}

/** Runs one input batch; its pooled activations go to `raw` at row `row` (float32, unnormalised). */
async function embedInto({ network }: LoadedNetwork, input: Tensor4D, raw: Float32Array, row: number): Promise<void> {
  const features = network.embed(input);
  input.dispose();
  try {
    raw.set((await features.data()) as Float32Array, row * network.dimension);
  } finally {
    features.dispose();
  }
}

function decodeOne({ network, limits }: LoadedNetwork, source: ImageSource, name: string): Promise<DecodedImage> {
  return loadImage(source, name, { squareSide: network.inputSize }, limits);
}

/**
 * Walks `total` items in batches: `decode` of the next batch runs (in libuv's pool) while `embed`
 * runs the network on this one on this thread.
 */
async function withPrefetch<T>(
  total: number,
  batchSize: number,
  decode: (from: number) => Promise<T[]>,
  embed: (decoded: T[], from: number) => Promise<void>,
): Promise<void> {
  let next = total > 0 ? decode(0) : undefined;
  for (let from = 0; from < total; from += batchSize) {
    const decoded = await next!;
    next = from + batchSize < total ? decode(from + batchSize) : undefined;
    // A failing prefetch is reported when awaited; keep Node from flagging it meanwhile.
    next?.catch(() => {});
    await embed(decoded, from);
  }
}

/** Pooled activations of every image, in order; the first unusable image throws. */
async function embedSources(loaded: LoadedNetwork, images: readonly ImageSource[]): Promise<Float32Array> {
  const { tf, network, batchSize } = loaded;
  const raw = new Float32Array(images.length * network.dimension);
  await withPrefetch(
    images.length,
    batchSize,
    (from) => Promise.all(images.slice(from, from + batchSize).map((src, k) => decodeOne(loaded, src, sourceName(src, from + k)))),
    (decoded, from) => embedInto(loaded, decodedToInput(tf, decoded, network.inputSize, network.normalisation), raw, from),
  );
  return raw;
}

/** Pooled activations of already decoded pixels, resized to the model input. */
async function embedPixelBatch(loaded: LoadedNetwork, batch: PixelBatch): Promise<Float32Array> {
  const { tf, network, batchSize } = loaded;
  assertPixelBatch(batch);
  const raw = new Float32Array(batch.n * network.dimension);
  for (let from = 0; from < batch.n; from += batchSize) {
    const to = Math.min(batch.n, from + batchSize);
    await embedInto(loaded, pixelBatchToInput(tf, batch, from, to, network.inputSize, network.normalisation), raw, from);
  }
  return raw;
}

/** Pooled activations of every usable image of a folder; unusable files are skipped with the decoder's reason. */
async function embedFolder(loaded: LoadedNetwork, dir: string, options: ExtractFolderOptions): Promise<{ ids: string[]; raw: Float32Array; skipped: SkippedFile[] }> {
  const { tf, network, batchSize } = loaded;
  const { files, unreadable } = await listFolderFiles(dir, options.recursive ?? false);
  const skipped: SkippedFile[] = [...unreadable];
  const ids: string[] = [];
  const rows: Float32Array[] = [];
  const total = files.length;
  const tryDecode = async (file: string): Promise<DecodedImage | SkippedFile> => {
    try {
      return await decodeOne(loaded, join(dir, file), file);
    } catch (error) {
      if (error instanceof ImageInputError) return { file, reason: error.problem };
      throw error;
    }
  };
  await withPrefetch(
    total,
    batchSize,
    (from) => Promise.all(files.slice(from, from + batchSize).map(tryDecode)),
    async (results, from) => {
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
        const part = new Float32Array(good.length * network.dimension);
        await embedInto(loaded, decodedToInput(tf, good, network.inputSize, network.normalisation), part, 0);
        rows.push(part);
      }
      options.onProgress?.({ done: Math.min(total, from + batchSize), total, skipped: skipped.length });
    },
  );
  const raw = new Float32Array(ids.length * network.dimension);
  let at = 0;
  for (const part of rows) {
    raw.set(part, at);
    at += part.length;
  }
  if (skipped.length > 0) loaded.log({ level: 'warn', event: 'images-skipped', folder: dir, skipped: skipped.length, extracted: ids.length });
  return { ids, raw, skipped };
}
