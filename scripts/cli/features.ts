/**
 * Feature extraction for the CLI: the CNN extractor and the face embedder, loaded on first use
 * and shared by every command of one process (the demo and the tests run many commands in one
 * process; loading a model takes seconds), plus the projection every vector goes through before
 * it meets the SEI key: PCA to c <= d components, then zeros up to d.
 *
 * Why the zero padding: the owner secret is generated at `owner init` for a dimension d chosen
 * up front (default 128), but PCA on n images has at most n - 1 meaningful components. Padding
 * with zeros keeps Euclidean distances exactly, so a small first gallery and a later, larger
 * one use the same owner secret and the same user keys.
 */
import { InvalidInputError, InvalidParametersError } from '../../lib/core/errors';
import { createFeatureExtractor, DEFAULT_FEATURE_LAYER, DEFAULT_FEATURE_MODEL, DEFAULT_INPUT_SIZES } from '../../lib/features/extractor';
import { createFaceEmbedder } from '../../lib/features/face';
import type { FaceEmbedder } from '../../lib/features/face';
import { BUNDLED_MODELS, isBundledModelId } from '../../lib/features/models/bundled';
import type { BundledModelId, FeatureLayer } from '../../lib/features/models/types';
import type { FeatureExtractor, LogEvent, Logger } from '../../lib/features/types';
import type { VectorSet } from '../../lib/linalg/vectors';
import { transformPca } from '../../lib/ml/pca';
import type { PcaModel } from '../../lib/ml/types';
import type { FeatureSpec } from './formats';
import type { Reporter } from './io';

export interface ModelChoice {
  readonly model: BundledModelId;
  readonly layer: FeatureLayer;
  readonly inputSize: number;
}

export const DEFAULT_MODEL_CHOICE: ModelChoice = {
  model: DEFAULT_FEATURE_MODEL,
  layer: DEFAULT_FEATURE_LAYER,
  inputSize: DEFAULT_INPUT_SIZES[DEFAULT_FEATURE_MODEL],
};

export function parseModelChoice(value: string): ModelChoice {
  if (!isBundledModelId(value)) {
    throw new InvalidInputError(`unknown feature model "${value}": use one of ${Object.keys(BUNDLED_MODELS).join(', ')}`);
  }
  return { model: value, layer: DEFAULT_FEATURE_LAYER, inputSize: DEFAULT_INPUT_SIZES[value] };
}

export function featureSpecOf(choice: ModelChoice, extractor: FeatureExtractor): FeatureSpec {
  return {
    model: choice.model,
    layer: choice.layer,
    inputSize: choice.inputSize,
    modelId: extractor.model,
    modelVersion: extractor.modelVersion,
    dimension: extractor.dimension,
  };
}

/** Loads models once per process. */
export interface FeatureProvider {
  extractor(choice: ModelChoice): Promise<FeatureExtractor>;
  faceEmbedder(): Promise<FaceEmbedder>;
  dispose(): void;
}

/** The feature layer's JSON log events, as a few human lines. */
export function humanFeatureLogger(reporter: Reporter): Logger {
  return (event: LogEvent) => {
    switch (event.event) {
      case 'tf-backend':
        reporter.info(`TensorFlow.js backend: ${String(event.backend)}${event.simd === true ? ' (SIMD)' : ''}`);
        return;
      case 'feature-model':
        reporter.info(`feature model ${String(event.model)}: ${String(event.dimension)}-d features from ${String(event.inputSize)} px input, loaded in ${String(event.loadMs)} ms`);
        return;
      case 'face-model':
        reporter.info(`face model: ${String(event.descriptor)}, detector ${String(event.detector)}`);
        return;
      case 'images-skipped':
        // Commands list skipped files themselves.
        return;
      default:
        if (event.level === 'warn' || event.level === 'error') reporter.warn(String(event.message ?? event.event ?? 'feature extraction problem'));
    }
  };
}

export function createFeatureProvider(reporter: Reporter): FeatureProvider {
  const log = humanFeatureLogger(reporter);
  const extractors = new Map<string, Promise<FeatureExtractor>>();
  let face: Promise<FaceEmbedder> | undefined;
  return {
    extractor: (choice) => {
      const key = `${choice.model}/${choice.layer}@${choice.inputSize}`;
      let pending = extractors.get(key);
      if (pending === undefined) {
        pending = createFeatureExtractor({ model: choice.model, layer: choice.layer, inputSize: choice.inputSize, log });
        extractors.set(key, pending);
        pending.catch(() => extractors.delete(key));
      }
      return pending;
    },
    faceEmbedder: () => {
      face ??= createFaceEmbedder({ log });
      face.catch(() => {
        face = undefined;
      });
      return face;
    },
    dispose: () => {
      for (const pending of extractors.values()) void pending.then((e) => e.dispose(), () => {});
      extractors.clear();
      void face?.then((f) => f.dispose(), () => {});
      face = undefined;
    },
  };
}

/** Checks the loaded extractor is the network the index was built with. */
export function assertSameModel(spec: FeatureSpec, extractor: FeatureExtractor): void {
  if (extractor.model !== spec.modelId || extractor.dimension !== spec.dimension) {
    throw new InvalidParametersError(
      `the index was built with feature model ${spec.modelId} (${spec.dimension}-d), but ${extractor.model} (${extractor.dimension}-d) was loaded`,
    );
  }
  if (extractor.modelVersion !== spec.modelVersion) {
    throw new InvalidParametersError(
      `the index was built with weights ${spec.modelVersion}, this installation has ${extractor.modelVersion}: install the same version or re-index`,
    );
  }
}

/** PCA to the model's components, then zero columns up to d (see the module comment). */
export function projectFeatures(pca: PcaModel, features: VectorSet, d: number): VectorSet {
  if (pca.components > d) throw new InvalidParametersError(`PCA has ${pca.components} components, more than the index dimension ${d}`);
  const projected = transformPca(pca, features);
  if (pca.components === d) return projected;
  const out = new Float64Array(features.n * d);
  for (let i = 0; i < features.n; i++) out.set(projected.data.subarray(i * pca.components, (i + 1) * pca.components), i * d);
  return { n: features.n, d, data: out };
}

/** Rows scaled to unit length (zero rows stay zero): identification embeddings then lie in [-1, 1]. */
export function unitRows(set: VectorSet): VectorSet {
  const { n, d } = set;
  const data = Float64Array.from(set.data);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += data[i * d + j] ** 2;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let j = 0; j < d; j++) data[i * d + j] /= norm;
  }
  return { n, d, data };
}

/** PCA'd (no padding) unit-length rows: the 'cnn-pca' identification embedding. */
export function identificationEmbeddings(pca: PcaModel, features: VectorSet): VectorSet {
  return unitRows(transformPca(pca, features));
}

/** round(x * 10^decimals), clamped to [-maxAbs, maxAbs]: the integers the HE schemes encrypt. */
export function quantizeEmbeddings(set: VectorSet, decimals: number, maxAbs: number): VectorSet {
  const scale = 10 ** decimals;
  const data = new Float64Array(set.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = set.data[i];
    if (!Number.isFinite(v)) throw new InvalidInputError('an embedding holds a non-finite number');
    data[i] = Math.max(-maxAbs, Math.min(maxAbs, Math.round(v * scale))) + 0;
  }
  return { n: set.n, d: set.d, data };
}
