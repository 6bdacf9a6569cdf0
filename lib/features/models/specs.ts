/**
 * The bundled candidate networks as data (which package holds the weights, which node is the
 * feature, the input scaling) and the pooling every feature goes through. No Node built-ins:
 * the web page loads the same networks with the same specs.
 */
import { InvalidParametersError } from '../../core/errors';
import type { Tensor2D, Tensor4D, Tf } from '../types';
import { MINUS_ONE_ONE, ZERO_ONE } from './normalisation';
import type { BundledModelId, BundledModelSpec, FeatureLayer, FeatureNetwork } from './types';

const MID_PREFIX = 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/MobilenetV2';

export const BUNDLED_MODELS: Record<BundledModelId, BundledModelSpec> = {
  mobilenet_v2: {
    id: 'mobilenet_v2',
    description: 'nsfwjs "MobileNetV2": Keras MobileNetV2 (width 1.0), layers model fine-tuned by nsfwjs',
    packageName: 'nsfwjs',
    nativeInputSize: 224,
    minInputSize: 32,
    featureNodes: {
      final: { node: 'out_relu', dimension: 1280 },
      mid: { node: 'block_13_expand_relu', dimension: 576 },
    },
    normalisation: ZERO_ONE,
  },
  mobilenet_v2_mid: {
    id: 'mobilenet_v2_mid',
    description: 'nsfwjs "MobileNetV2Mid": TF-Hub MobileNetV2 (width 1.4) graph model; final = its feature_vector',
    packageName: 'nsfwjs',
    nativeInputSize: 224,
    minInputSize: 32,
    featureNodes: {
      final: { node: `${MID_PREFIX}/Conv_1/Relu6`, dimension: 1792 },
      mid: { node: `${MID_PREFIX}/expanded_conv_13/expand/Relu6`, dimension: 816 },
    },
    normalisation: ZERO_ONE,
  },
  inception_v3: {
    id: 'inception_v3',
    description: 'nsfwjs "InceptionV3": Keras InceptionV3, layers model fine-tuned by nsfwjs',
    packageName: 'nsfwjs',
    nativeInputSize: 299,
    // Valid-padded stem and reduction blocks need at least 75 pixels (Keras' documented minimum).
    minInputSize: 75,
    featureNodes: {
      final: { node: 'mixed10', dimension: 2048 },
      mid: { node: 'mixed7', dimension: 768 },
    },
    normalisation: ZERO_ONE,
  },
  faceapi_mobilenet_v1: {
    id: 'faceapi_mobilenet_v1',
    description: "MobileNetV1 backbone of face-api's SSD face detector (trained on faces)",
    packageName: '@vladmandic/face-api',
    nativeInputSize: 512,
    minInputSize: 32,
    featureNodes: {
      final: { node: 'Conv2d_13_pointwise', dimension: 1024 },
      mid: { node: 'Conv2d_11_pointwise', dimension: 512 },
    },
    normalisation: MINUS_ONE_ONE,
  },
};

export const BUNDLED_MODEL_IDS = Object.keys(BUNDLED_MODELS) as BundledModelId[];

export function isBundledModelId(value: string): value is BundledModelId {
  return Object.prototype.hasOwnProperty.call(BUNDLED_MODELS, value);
}

/** Global average pooling of a [n, h, w, c] map; [n, c] passes through. */
export function globalAveragePool(tf: Tf, output: Tensor2D | Tensor4D): Tensor2D {
  if (output.rank === 2) return output as Tensor2D;
  if (output.rank === 4) return tf.mean(output, [1, 2]) as Tensor2D;
  throw new InvalidParametersError(`feature node output has rank ${output.rank}; expected 2 ([n, d]) or 4 ([n, h, w, c])`);
}

/**
 * What every loader of a bundled network shares: checked input size and layer, ids, dimension,
 * input scaling and post-processing. `packageVersion` is the installed version of the package
 * holding the weights (read from node_modules, or recorded when the web page was built).
 */
export function bundledNetworkBase(
  spec: BundledModelSpec,
  inputSize: number,
  layer: FeatureLayer,
  packageVersion: string,
): Omit<FeatureNetwork, 'embed' | 'dispose'> {
  if (!Number.isInteger(inputSize) || inputSize < spec.minInputSize || inputSize > 1024) {
    throw new InvalidParametersError(`${spec.id}: input size ${inputSize} must be an integer in [${spec.minInputSize}, 1024]`);
  }
  const feature = spec.featureNodes[layer];
  if (!feature) throw new InvalidParametersError(`feature layer must be 'final' or 'mid', got "${layer}"`);
  return {
    id: `${spec.id}/${layer}`,
    version: `${spec.packageName}@${packageVersion}`,
    inputSize,
    dimension: feature.dimension,
    normalisation: spec.normalisation,
    // Every bundled feature node follows a ReLU, so the square root is defined and damps bursts.
    powerNormalise: true,
  };
}
