/**
 * The bundled candidate networks and their loaders. A feature is one layer's activations,
 * globally average-pooled by a mean over the feature map, so any input size works (the models'
 * own pooling windows are fixed to their native size). For the 'final' layer that is exactly
 * the vector the network's own classifier reads.
 */
import type { Tensor4D, Tf } from '../types';
import { freeGraphInputSize, memoryHandler, selectWeights, toArrayBuffer, truncateLayersTopology, weightLayer } from './artifacts';
import { mobileNetV1Features, readMobileNetV1Weights } from './mobilenet-v1';
import { packageVersion, readNsfwjsArtifacts } from './package-files';
import { BUNDLED_MODELS, bundledNetworkBase, globalAveragePool } from './specs';
import type { BundledModelId, FeatureLayer, FeatureNetwork } from './types';

export { BUNDLED_MODEL_IDS, BUNDLED_MODELS, globalAveragePool, isBundledModelId } from './specs';

/** Loads a bundled network at `inputSize` (default: its native size), reading the chosen layer. */
export async function loadBundledNetwork(
  tf: Tf,
  id: BundledModelId,
  inputSize?: number,
  layer: FeatureLayer = 'final',
): Promise<FeatureNetwork> {
  const spec = BUNDLED_MODELS[id];
  const base = bundledNetworkBase(spec, inputSize ?? spec.nativeInputSize, layer, packageVersion(spec.packageName));
  const feature = spec.featureNodes[layer];

  if (id === 'mobilenet_v2_mid') {
    const artifacts = readNsfwjsArtifacts(id);
    artifacts.modelTopology = freeGraphInputSize(artifacts.modelTopology) as typeof artifacts.modelTopology;
    const model = await tf.loadGraphModel(memoryHandler(artifacts));
    return {
      ...base,
      embed: (input) => tf.tidy(() => globalAveragePool(tf, model.execute(input, feature.node) as Tensor4D)),
      dispose: () => model.dispose(),
    };
  }

  if (id === 'mobilenet_v2' || id === 'inception_v3') {
    const artifacts = readNsfwjsArtifacts(id);
    const { topology, keptLayers } = truncateLayersTopology(artifacts.modelTopology, feature.node, base.inputSize);
    const weights = selectWeights(
      artifacts.weightSpecs ?? [],
      new Uint8Array(artifacts.weightData as ArrayBuffer),
      (name) => keptLayers.has(weightLayer(name)),
    );
    const model = await tf.loadLayersModel(
      memoryHandler({ modelTopology: topology, weightSpecs: weights.specs, weightData: toArrayBuffer(weights.data) }),
      { strict: true },
    );
    return {
      ...base,
      embed: (input) => tf.tidy(() => globalAveragePool(tf, model.predict(input) as Tensor4D)),
      dispose: () => model.dispose(),
    };
  }

  const weights = readMobileNetV1Weights(tf);
  const blocks = layer === 'final' ? 13 : 11;
  return {
    ...base,
    embed: (input) => tf.tidy(() => globalAveragePool(tf, mobileNetV1Features(tf, input, weights, blocks))),
    dispose: () => tf.dispose(Object.values(weights)),
  };
}
