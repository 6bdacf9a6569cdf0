/**
 * Feature extraction in the page: TensorFlow.js on its WebAssembly backend, the CLI's network
 * and weights (served with the page, built from the same npm package), the CLI's input scaling,
 * pooling and normalisation (the same modules from lib/features). Only the pixels' decoding is
 * the browser's (./image-decode.ts), made to match the CLI's.
 *
 * The weights are fetched once from the page's own origin (never from a hub) and checked
 * against their manifest before use.
 */
import * as tfconv from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { InvalidInputError, UnavailableError } from '../../lib/core/errors';
import type { ImageFeatureExtractor, ModelChoice } from '../../lib/client/features';
import { ImageInputError, InvalidModelError } from '../../lib/features/errors';
import { freeGraphInputSize, memoryHandler, totalWeightBytes } from '../../lib/features/models/artifacts';
import type { ModelArtifacts, WeightSpec } from '../../lib/features/models/artifacts';
import { BUNDLED_MODELS, bundledNetworkBase, globalAveragePool } from '../../lib/features/models/specs';
import { normaliseRows } from '../../lib/features/normalise';
import { decodedToInput } from '../../lib/features/preprocess';
import type { ImageSource, Tensor4D, Tf } from '../../lib/features/types';
import type { VectorSet } from '../../lib/linalg/vectors';
import { decodeInPage } from './image-decode';

/** The networks this page serves (vite.config.ts emits their files); each maps to its weights package version. */
export const SERVED_MODELS: Readonly<Record<string, string>> = __BLINDSIGHT_SERVED_MODELS__;

export interface LoadProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

export interface PageExtractor extends ImageFeatureExtractor {
  readonly inputSize: number;
  /** Frees the network's tensors. */
  dispose(): void;
}

let backendReady: Promise<string> | undefined;

/** The WASM backend, once per page; its binaries come from the page's own origin. */
function initBackend(): Promise<string> {
  backendReady ??= (async () => {
    setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlainUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
    });
    if (!(await tf.setBackend('wasm'))) throw new UnavailableError('this browser cannot run TensorFlow.js on WebAssembly');
    await tf.ready();
    return tf.getBackend();
  })();
  backendReady.catch(() => (backendReady = undefined));
  return backendReady;
}

async function fetchChecked(url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (error) {
    throw new UnavailableError(`could not download ${what} from this site (network error): reload the page`, { cause: error });
  }
  if (!response.ok) throw new UnavailableError(`could not download ${what} from this site (HTTP ${response.status}): reload the page`);
  return response;
}

/** Reads a response body, reporting bytes as they arrive. */
async function readWithProgress(response: Response, onProgress: (loaded: number) => void): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    onProgress(loaded);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface ServedModelJson {
  readonly modelTopology: unknown;
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string;
  readonly weightsManifest: readonly { readonly paths: readonly string[]; readonly weights: WeightSpec[] }[];
}

/**
 * Loads the network an index was built with. Only networks this page serves can be loaded; any
 * other is a clear error (the CLI can still search such an index).
 */
export async function createPageExtractor(choice: ModelChoice, onProgress: (progress: LoadProgress) => void = () => {}, baseUrl = import.meta.env.BASE_URL): Promise<PageExtractor> {
  const version = SERVED_MODELS[choice.model];
  const spec = BUNDLED_MODELS[choice.model];
  if (version === undefined || spec === undefined) {
    throw new InvalidInputError(
      `the index was built with the feature model "${choice.model}", which this page does not serve (it serves ${Object.keys(SERVED_MODELS).join(', ')}): search this index with the CLI`,
    );
  }
  const base = bundledNetworkBase(spec, choice.inputSize, choice.layer, version);
  const feature = spec.featureNodes[choice.layer];
  const backend = await initBackend();

  const dir = `${baseUrl}models/${choice.model}/${version}/`;
  const json = (await (await fetchChecked(`${dir}model.json`, 'the feature model')).json()) as ServedModelJson;
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const paths = json.weightsManifest.flatMap((group) => group.paths);
  const totalBytes = totalWeightBytes(specs);
  const shards: Uint8Array[] = [];
  let before = 0;
  for (const path of paths) {
    const shard = await readWithProgress(await fetchChecked(`${dir}${path}`, 'the feature model weights'), (loaded) => onProgress({ loadedBytes: before + loaded, totalBytes }));
    shards.push(shard);
    before += shard.length;
  }
  if (before !== totalBytes) throw new InvalidModelError(`the feature model weights hold ${before} bytes, their manifest describes ${totalBytes}: reload the page`);
  const weightData = new Uint8Array(totalBytes);
  let at = 0;
  for (const shard of shards) {
    weightData.set(shard, at);
    at += shard.length;
  }
  const artifacts: ModelArtifacts = {
    modelTopology: freeGraphInputSize(json.modelTopology) as ModelArtifacts['modelTopology'],
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs: specs,
    weightData: weightData.buffer,
  };
  const model = await tfconv.loadGraphModel(memoryHandler(artifacts) as Parameters<typeof tfconv.loadGraphModel>[0]);
  // tfjs-core holds the ops preprocess.ts uses; the full tfjs namespace type is what it is written against.
  const ops = tf as unknown as Tf;
  let disposed = false;

  const embedOne = async (bytes: Uint8Array, name: string): Promise<Float32Array> => {
    const decoded = await decodeInPage(bytes, name, base.inputSize);
    const input = decodedToInput(ops, [decoded], base.inputSize, base.normalisation);
    const features = tf.tidy(() => globalAveragePool(ops, model.execute(input, feature.node) as Tensor4D));
    input.dispose();
    try {
      return (await features.data()) as Float32Array;
    } finally {
      features.dispose();
    }
  };

  const extract = async (images: readonly ImageSource[]): Promise<VectorSet> => {
    if (disposed) throw new InvalidInputError('the feature model has been unloaded: reload the page');
    const raw = new Float32Array(images.length * base.dimension);
    for (let i = 0; i < images.length; i++) {
      const source = images[i];
      if (typeof source === 'string') throw new ImageInputError(source, 'a page reads image bytes, not file paths');
      raw.set(await embedOne(source, `image #${i}`), i * base.dimension);
    }
    return normaliseRows(raw, images.length, base.dimension, base.powerNormalise);
  };

  return {
    model: base.id,
    modelVersion: base.version,
    dimension: base.dimension,
    inputSize: base.inputSize,
    backend: backend as 'wasm',
    extract,
    dispose: () => {
      if (!disposed) model.dispose();
      disposed = true;
    },
  };
}
