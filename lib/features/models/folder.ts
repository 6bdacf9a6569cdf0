/**
 * A user's own TF.js model (graph or layers format) from a local folder: model.json plus the
 * weight shards its manifest lists. Shard paths must stay inside the folder, and the bytes must
 * match the manifest exactly, so a hostile model.json can neither read other files nor feed
 * mis-sized weights to the runtime.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { InvalidParametersError } from '../../core/errors';
import { InvalidModelError } from '../errors';
import type { Tensor2D, Tensor4D, Tf } from '../types';
import type { ModelArtifacts, WeightSpec } from './artifacts';
import {
  declaredInputSize,
  freeGraphInputSize,
  memoryHandler,
  selectWeights,
  toArrayBuffer,
  totalWeightBytes,
  truncateLayersTopology,
  weightLayer,
} from './artifacts';
import { globalAveragePool } from './bundled';
import { resolveNormalisation } from './normalisation';
import type { CustomModelSource, FeatureNetwork } from './types';

/** model.json larger than this is refused before parsing. */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Weights larger than this are refused (the largest bundled model is 23 MB). */
const MAX_WEIGHT_BYTES = 2 * 1024 * 1024 * 1024 - 1;

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: WeightSpec[] }[];
}

function readModelFolder(folder: string): { json: ModelJson; specs: WeightSpec[]; data: Uint8Array } {
  const root = resolve(folder);
  const jsonPath = join(root, 'model.json');
  if (!existsSync(jsonPath)) throw new InvalidModelError(`${root}: no model.json (expected a TF.js graph or layers model folder)`);
  if (statSync(jsonPath).size > MAX_MODEL_JSON_BYTES) throw new InvalidModelError(`${jsonPath}: larger than ${MAX_MODEL_JSON_BYTES} bytes`);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8')) as ModelJson;
  } catch (error) {
    throw new InvalidModelError(`${jsonPath}: not valid JSON`, { cause: error });
  }
  if (!json || typeof json.modelTopology !== 'object' || json.modelTopology === null) {
    throw new InvalidModelError(`${jsonPath}: no modelTopology`);
  }
  if (!Array.isArray(json.weightsManifest)) throw new InvalidModelError(`${jsonPath}: no weightsManifest`);
  const specs: WeightSpec[] = [];
  const shards: Buffer[] = [];
  let total = 0;
  for (const group of json.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) throw new InvalidModelError(`${jsonPath}: malformed weightsManifest group`);
    for (const p of group.paths) {
      const shardPath = resolve(root, String(p));
      const rel = relative(root, shardPath);
      if (rel.startsWith('..') || isAbsolute(rel)) throw new InvalidModelError(`${jsonPath}: weight path "${p}" points outside the model folder`);
      if (!existsSync(shardPath)) throw new InvalidModelError(`${jsonPath}: weight shard "${p}" is missing`);
      total += statSync(shardPath).size;
      if (total > MAX_WEIGHT_BYTES) throw new InvalidModelError(`${root}: weights exceed ${MAX_WEIGHT_BYTES} bytes`);
      shards.push(readFileSync(shardPath));
    }
    specs.push(...group.weights);
  }
  const data = Buffer.concat(shards);
  const expected = totalWeightBytes(specs);
  if (data.length !== expected) {
    throw new InvalidModelError(`${root}: weight shards hold ${data.length} bytes but model.json describes ${expected}`);
  }
  return { json, specs, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function isGraphModel(json: ModelJson): boolean {
  if (json.format === 'graph-model') return true;
  if (json.format === 'layers-model') return false;
  return Array.isArray((json.modelTopology as { node?: unknown }).node);
}

function graphNodeNames(topology: unknown): Set<string> {
  const nodes = (topology as { node?: { name: string }[] }).node ?? [];
  return new Set(nodes.map((n) => n.name));
}

/** Loads a user model folder as a feature network; one warm-up run fixes its output dimension. */
export async function loadFolderNetwork(tf: Tf, source: CustomModelSource): Promise<FeatureNetwork> {
  const { json, specs, data } = readModelFolder(source.folder);
  const normalisation = resolveNormalisation(source.normalisation);
  const declared = declaredInputSize(json.modelTopology);
  const inputSize = source.inputSize ?? declared;
  if (inputSize === undefined) {
    throw new InvalidParametersError(`${source.folder}: model.json does not fix a square input size; pass inputSize`);
  }
  if (!Number.isInteger(inputSize) || inputSize < 8 || inputSize > 1024) {
    throw new InvalidParametersError(`${source.folder}: input size ${inputSize} must be an integer in [8, 1024]`);
  }
  const id = `custom:${resolve(source.folder)}`;
  const version = `sha256:${createHash('sha256').update(JSON.stringify(json.modelTopology)).update(data).digest('hex').slice(0, 16)}`;

  let run: (input: Tensor4D) => Tensor2D | Tensor4D;
  let dispose: () => void;
  try {
    if (isGraphModel(json)) {
      const topology = inputSize !== declared ? freeGraphInputSize(json.modelTopology) : json.modelTopology;
      if (source.outputNode !== undefined && !graphNodeNames(topology).has(source.outputNode)) {
        throw new InvalidModelError(`${source.folder}: graph has no node named "${source.outputNode}"`);
      }
      const artifacts: ModelArtifacts = {
        modelTopology: topology as ModelArtifacts['modelTopology'],
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        weightSpecs: specs,
        weightData: toArrayBuffer(data),
      };
      const model = await tf.loadGraphModel(memoryHandler(artifacts));
      const node = source.outputNode;
      run = (input) => (node === undefined ? model.execute(input) : model.execute(input, node)) as Tensor4D;
      dispose = () => model.dispose();
    } else {
      let topology = json.modelTopology as Record<string, unknown>;
      let weights = { specs, data };
      if (source.outputNode !== undefined || inputSize !== declared) {
        const cut = truncateLayersTopology(topology, source.outputNode ?? lastLayerName(topology), inputSize);
        topology = cut.topology;
        weights = selectWeights(specs, data, (name) => cut.keptLayers.has(weightLayer(name)));
      }
      const model = await tf.loadLayersModel(
        memoryHandler({ modelTopology: topology, weightSpecs: weights.specs, weightData: toArrayBuffer(weights.data) }),
        { strict: true },
      );
      run = (input) => model.predict(input) as Tensor4D;
      dispose = () => model.dispose();
    }
  } catch (error) {
    if (error instanceof InvalidModelError || error instanceof InvalidParametersError) throw error;
    throw new InvalidModelError(`${source.folder}: TensorFlow.js cannot load this model (${(error as Error).message?.split('\n')[0]})`, { cause: error });
  }

  let dimension: number;
  try {
    const probe = tf.tidy(() => globalAveragePool(tf, run(tf.zeros([1, inputSize, inputSize, 3]) as Tensor4D)));
    dimension = probe.shape[1];
    probe.dispose();
  } catch (error) {
    dispose();
    throw new InvalidModelError(`${source.folder}: a ${inputSize}x${inputSize}x3 input does not run (${(error as Error).message?.split('\n')[0]})`, { cause: error });
  }
  return {
    id,
    version,
    inputSize,
    dimension,
    normalisation,
    powerNormalise: source.powerNormalise ?? false,
    embed: (input) => tf.tidy(() => globalAveragePool(tf, run(input))),
    dispose,
  };
}

function lastLayerName(topology: Record<string, unknown>): string {
  const modelConfig = (topology.model_config ?? topology) as { config?: unknown };
  const cfg = modelConfig.config as { layers?: { name?: string; config: { name?: string } }[] } | { name?: string; config: { name?: string } }[];
  const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
  const last = Array.isArray(layers) ? layers[layers.length - 1] : undefined;
  const name = last?.name ?? last?.config?.name;
  if (!name) throw new InvalidModelError('layers model: cannot find its last layer');
  return name;
}
