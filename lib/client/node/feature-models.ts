/**
 * The feature models on Node: TensorFlow.js with the weights from node_modules, loaded on first
 * use and shared by every workflow of one process (the demo and the tests run many commands in
 * one process; loading a model takes seconds). The feature layer's JSON log events become
 * workflow events (a few human lines).
 */
import { InvalidInputError } from '../../core/errors';
import { createFeatureExtractor, DEFAULT_FEATURE_LAYER, DEFAULT_FEATURE_MODEL, DEFAULT_INPUT_SIZES } from '../../features/extractor';
import { createFaceEmbedder } from '../../features/face';
import type { FaceEmbedder } from '../../features/face';
import { BUNDLED_MODELS, isBundledModelId } from '../../features/models/bundled';
import type { FeatureExtractor, LogEvent, Logger } from '../../features/types';
import type { WorkflowListener } from '../events';
import type { FeatureModels, ModelChoice } from '../features';

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

/** Models of one process; dispose() frees them. */
export interface NodeFeatureModels extends FeatureModels {
  extractor(choice: ModelChoice): Promise<FeatureExtractor>;
  faceEmbedder(): Promise<FaceEmbedder>;
  dispose(): void;
}

/** The feature layer's log events as workflow events. */
function featureLogToEvents(listener: () => WorkflowListener): Logger {
  return (event: LogEvent) => {
    const emit = (message: string) => listener()({ type: 'info', message });
    switch (event.event) {
      case 'tf-backend':
        emit(`TensorFlow.js backend: ${String(event.backend)}${event.simd === true ? ' (SIMD)' : ''}`);
        return;
      case 'feature-model':
        emit(`feature model ${String(event.model)}: ${String(event.dimension)}-d features from ${String(event.inputSize)} px input, loaded in ${String(event.loadMs)} ms`);
        return;
      case 'face-model':
        emit(`face model: ${String(event.descriptor)}, detector ${String(event.detector)}`);
        return;
      case 'images-skipped':
        // Workflows list skipped files themselves.
        return;
      default:
        if (event.level === 'warn' || event.level === 'error') {
          listener()({ type: 'warning', message: String(event.message ?? event.event ?? 'feature extraction problem') });
        }
    }
  };
}

/**
 * Models loaded once per process. `listener` is asked for the current listener whenever the
 * feature layer logs, so models shared across commands report to the command that runs.
 */
export function createFeatureModels(listener: () => WorkflowListener): NodeFeatureModels {
  const log = featureLogToEvents(listener);
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
