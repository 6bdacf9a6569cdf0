/**
 * Shared types of the feature-extraction family: TensorFlow.js backends, image sources, the
 * general image extractor and the folder/progress reporting it does.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { VectorSet } from '../linalg/vectors';

/** The TensorFlow.js namespace; @tensorflow/tfjs-node re-exports the same API. */
export type Tf = typeof TfModule;
export type Tensor = TfModule.Tensor;
export type Tensor2D = TfModule.Tensor2D;
export type Tensor3D = TfModule.Tensor3D;
export type Tensor4D = TfModule.Tensor4D;

/** 'tensorflow' = native libtensorflow via @tensorflow/tfjs-node; 'wasm' = XNNPACK in WebAssembly; 'cpu' = plain JS. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface TfBackend {
  readonly name: BackendName;
  readonly tf: Tf;
}

/** One structured log event; the default logger writes it as one JSON line to stderr. */
export type LogEvent = Record<string, string | number | boolean | null>;
export type Logger = (event: LogEvent) => void;

/** Upper bounds checked before any pixel is decoded. */
export interface ImageLimits {
  /** Largest accepted file (or byte array) in bytes. */
  readonly maxBytes: number;
  /** Largest accepted width x height, read from the header before decoding. */
  readonly maxPixels: number;
}

export type ImageFormat = 'jpeg' | 'png' | 'webp';

/** An encoded image: its bytes, or the path of a file holding them. */
export type ImageSource = Uint8Array | string;

/**
 * How the model wants its float input: value = pixel(0..255) * scale + offset per channel
 * (e.g. [0, 1]: scale 1/255, offset 0; [-1, 1]: scale 1/127.5, offset -1).
 */
export interface Normalisation {
  readonly scale: readonly [number, number, number];
  readonly offset: readonly [number, number, number];
}

/** Raw 8-bit pixels of n equally sized images (1 = grey, 3 = RGB), row-major, image after image. */
export interface PixelBatch {
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
  readonly pixels: Uint8Array;
}

export interface SkippedFile {
  /** Path relative to the folder, '/'-separated. */
  readonly file: string;
  /** Why it was skipped (format, size, corruption, permissions...). */
  readonly reason: string;
}

export interface FolderFeatures {
  /** Relative paths of the images that produced a vector, in the order of the vectors. */
  readonly ids: string[];
  readonly vectors: VectorSet;
  readonly skipped: SkippedFile[];
}

export interface ExtractionProgress {
  /** Files handled so far (extracted or skipped). */
  readonly done: number;
  readonly total: number;
  readonly skipped: number;
}

export type ProgressCallback = (progress: ExtractionProgress) => void;

export interface ExtractFolderOptions {
  /** Descend into sub-folders (default false). Hidden entries (".name") are never read. */
  readonly recursive?: boolean;
  readonly onProgress?: ProgressCallback;
}

export interface FeatureExtractor {
  /** Model id ('mobilenet_v2_mid', ...) or 'custom:<folder>'. */
  readonly model: string;
  /** Identifies the weights ('nsfwjs@4.4.0', or a digest for a user's model). */
  readonly modelVersion: string;
  /** Side of the square model input in pixels. */
  readonly inputSize: number;
  /** Length of every feature vector. */
  readonly dimension: number;
  readonly backend: BackendName;
  /**
   * L2-normalised features, one row per image, in input order.
   * @throws ImageInputError (code INVALID_INPUT) naming the first image that cannot be used.
   */
  extract(images: readonly ImageSource[]): Promise<VectorSet>;
  /** Features of already decoded pixels of any size (e.g. 28x28 Fashion-MNIST), resized to the model input. */
  extractPixels(batch: PixelBatch): Promise<VectorSet>;
  /**
   * The pooled activations behind {@link extractPixels}, before L2 normalisation (n * dimension
   * float32): what feature caches store. {@link normalise} turns them into extractPixels' result
   * bit for bit.
   */
  embedPixels(batch: PixelBatch): Promise<Float32Array>;
  /** The final step of every extraction: n x dimension activations to unit-length feature rows. */
  normalise(activations: Float32Array, n: number): VectorSet;
  /** Every image in a folder; unusable files are skipped and listed, never fatal. */
  extractFolder(dir: string, options?: ExtractFolderOptions): Promise<FolderFeatures>;
  /** Frees the model's tensors; the extractor cannot be used afterwards. */
  dispose(): void;
}
