/**
 * Model artifacts in memory: an IOHandler serving them to tf.loadGraphModel / tf.loadLayersModel
 * (so no URL or file:// handler is involved), and the surgery that lets a fixed-size classifier
 * act as a feature extractor at another input size: cut a layers model after its feature layer
 * (keeping only the weights that remain) and free a graph model's input placeholder.
 */
import type { io } from '@tensorflow/tfjs';
import { InvalidModelError } from '../errors';

export type ModelArtifacts = io.ModelArtifacts;
export type WeightSpec = io.WeightsManifestEntry;

/** An IOHandler that hands over artifacts already in memory. */
export function memoryHandler(artifacts: ModelArtifacts): io.IOHandler {
  return { load: async () => artifacts };
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Bytes one weight occupies in the concatenated weight buffer (quantised weights store their quantised type). */
export function weightByteLength(spec: WeightSpec): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const stored = spec.quantization?.dtype ?? spec.dtype;
  const bytes = DTYPE_BYTES[stored];
  if (bytes === undefined) throw new InvalidModelError(`weight ${spec.name}: unsupported stored dtype ${stored}`);
  return count * bytes;
}

/** Total bytes the specs describe; a weight buffer of any other length belongs to another model. */
export function totalWeightBytes(specs: readonly WeightSpec[]): number {
  return specs.reduce((sum, spec) => sum + weightByteLength(spec), 0);
}

/** Keeps the weights whose name passes `keep`, with their bytes, in the original order. */
export function selectWeights(
  specs: readonly WeightSpec[],
  data: Uint8Array,
  keep: (name: string) => boolean,
): { specs: WeightSpec[]; data: Uint8Array } {
  const kept: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const length = weightByteLength(spec);
    if (keep(spec.name)) {
      kept.push(spec);
      parts.push(data.subarray(offset, offset + length));
    }
    offset += length;
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { specs: kept, data: out };
}

/** A fresh ArrayBuffer holding exactly the bytes (tfjs wants an ArrayBuffer, not a view). */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

interface KerasLayerConfig {
  name?: string;
  class_name?: string;
  config: { name?: string; batch_input_shape?: (number | null)[]; [key: string]: unknown };
  [key: string]: unknown;
}

interface KerasModelConfig {
  class_name: string;
  config: { layers?: KerasLayerConfig[]; output_layers?: unknown[]; [key: string]: unknown } | KerasLayerConfig[];
}

function layerName(layer: KerasLayerConfig): string | undefined {
  return layer.name ?? layer.config.name;
}

/**
 * Returns a copy of a Keras layers-model topology that ends at `featureLayer` and takes
 * [batch, inputSize, inputSize, channels] input, plus the set of layer names kept (for weight
 * selection). Layers listed after the feature layer (pooling with a fixed window, classifier
 * heads) are dropped: Keras lists functional layers in topological order, so nothing the
 * feature layer depends on comes after it.
 */
export function truncateLayersTopology(
  topology: unknown,
  featureLayer: string,
  inputSize: number | undefined,
): { topology: Record<string, unknown>; keptLayers: Set<string> } {
  const copy = structuredClone(topology) as Record<string, unknown>;
  const modelConfig = (copy.model_config ?? copy) as KerasModelConfig;
  const cfg = modelConfig.config;
  const layers = Array.isArray(cfg) ? cfg : cfg.layers;
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new InvalidModelError('layers model: model.json has no layer list in modelTopology');
  }
  const index = layers.findIndex((l) => layerName(l) === featureLayer);
  if (index < 0) {
    const names = layers.slice(-8).map(layerName).join(', ');
    throw new InvalidModelError(`layers model has no layer named "${featureLayer}" (last layers: ${names})`);
  }
  const kept = layers.slice(0, index + 1);
  if (Array.isArray(cfg)) {
    modelConfig.config = kept;
  } else {
    cfg.layers = kept;
    if (modelConfig.class_name !== 'Sequential') cfg.output_layers = [[featureLayer, 0, 0]];
  }
  if (inputSize !== undefined) {
    const first = kept[0].config;
    const shape = first.batch_input_shape;
    if (!Array.isArray(shape) || shape.length !== 4) {
      throw new InvalidModelError('layers model: the first layer does not declare a 4-D batch_input_shape');
    }
    first.batch_input_shape = [null, inputSize, inputSize, shape[3]];
  }
  return { topology: copy, keptLayers: new Set(kept.map((l) => layerName(l) ?? '')) };
}

/** The layer a layers-model weight belongs to: names look like "layer/kernel" or "layer/sub/kernel". */
export function weightLayer(weightName: string): string {
  const slash = weightName.indexOf('/');
  return slash < 0 ? weightName : weightName.slice(0, slash);
}

interface GraphNode {
  name: string;
  op: string;
  attr?: { shape?: { shape?: { dim?: { size: string }[]; unknownRank?: boolean } } };
}

/**
 * Copy of a graph-model topology whose input placeholders accept any height and width, so the
 * convolutional part runs at the requested input size (global pooling is done by the caller).
 */
export function freeGraphInputSize(topology: unknown): Record<string, unknown> {
  const copy = structuredClone(topology) as { node?: GraphNode[] };
  if (!Array.isArray(copy.node)) throw new InvalidModelError('graph model: model.json has no node list in modelTopology');
  for (const node of copy.node) {
    const dims = node.op === 'Placeholder' ? node.attr?.shape?.shape?.dim : undefined;
    if (dims && dims.length === 4) {
      dims[0] = { size: '-1' };
      dims[1] = { size: '-1' };
      dims[2] = { size: '-1' };
    }
  }
  return copy as Record<string, unknown>;
}

/** The fixed square input side a graph or layers topology declares, if any. */
export function declaredInputSize(topology: unknown): number | undefined {
  const t = topology as { node?: GraphNode[]; model_config?: KerasModelConfig; config?: unknown };
  if (Array.isArray(t.node)) {
    const dims = t.node.find((n) => n.op === 'Placeholder')?.attr?.shape?.shape?.dim;
    const h = Number(dims?.[1]?.size);
    const w = Number(dims?.[2]?.size);
    return dims?.length === 4 && h > 0 && h === w ? h : undefined;
  }
  const modelConfig = (t.model_config ?? t) as KerasModelConfig;
  const cfg = modelConfig.config;
  const layers = Array.isArray(cfg) ? cfg : cfg?.layers;
  const shape = Array.isArray(layers) ? layers[0]?.config.batch_input_shape : undefined;
  if (!Array.isArray(shape) || shape.length !== 4) return undefined;
  const [, h, w] = shape;
  return typeof h === 'number' && h > 0 && h === w ? h : undefined;
}
