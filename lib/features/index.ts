/**
 * Public surface of feature extraction: general image features (CNN, TensorFlow.js), face
 * descriptors, and the Fashion-MNIST feature cache for the evaluation.
 */
export { BACKEND_ENV, initTensorflow, requestedBackend } from './backend';
export { DEFAULT_IMAGE_LIMITS, sniffImageFormat } from './decode';
export {
  CorruptImageError,
  ImageInputError,
  ImageTooLargeError,
  InvalidModelError,
  NoFaceFoundError,
  UnreadableImageError,
  UnsupportedImageError,
} from './errors';
export type { FeatureExtractorOptions } from './extractor';
export { createFeatureExtractor, DEFAULT_BATCH_SIZE, DEFAULT_FEATURE_LAYER, DEFAULT_FEATURE_MODEL, DEFAULT_INPUT_SIZES } from './extractor';
export type { FaceBox, FaceDescription, FaceDetectorName, FaceEmbedder, FaceEmbedderOptions } from './face';
export { createFaceEmbedder, FACE_DESCRIPTOR_DIMENSION } from './face';
export type { FashionMnistFeatureOptions, FashionMnistFeatures } from './fashion-mnist-features';
export { DEFAULT_FASHION_MNIST_INVERT, DEFAULT_FEATURE_CACHE_DIR, fashionMnistFeatures, fashionMnistPng } from './fashion-mnist-features';
export { leaveOneOutPrecision } from './evaluation';
export { silentLogger, stderrJsonLogger } from './log';
export { BUNDLED_MODEL_IDS, BUNDLED_MODELS } from './models/bundled';
export type { BundledModelId, CustomModelSource, FeatureLayer, NormalisationName } from './models/types';
export { cliProgress } from './progress';
export type {
  BackendName,
  ExtractFolderOptions,
  ExtractionProgress,
  FeatureExtractor,
  FolderFeatures,
  ImageLimits,
  ImageSource,
  LogEvent,
  Logger,
  PixelBatch,
  ProgressCallback,
  SkippedFile,
} from './types';
