/**
 * The MobileNetV1 backbone inside face-api's SSD face detector, run as a general feature
 * extractor. face-api does not export the backbone, so its forward pass is written here from
 * the architecture (Howard et al. 2017: a 3x3 stride-2 convolution, then 13 depthwise-separable
 * blocks, stride 2 at blocks 2, 4, 6 and 12) and fed the detector's own weight file.
 */
import { InvalidModelError } from '../errors';
import type { Tensor, Tensor4D, Tf } from '../types';
import { faceApiModelDirectory, readWeightsManifest } from './package-files';

const PREFIX = 'MobilenetV1/';
const MANIFEST = 'ssd_mobilenetv1_model-weights_manifest.json';
/** The exported graph's batch-norm epsilon (float32 of 1e-3). */
const BATCH_NORM_EPSILON = 0.0010000000474974513;
const STRIDE_TWO_BLOCKS = new Set([2, 4, 6, 12]);
const BLOCKS = 13;

export type MobileNetV1Weights = Record<string, Tensor>;

/** Decodes the backbone's weights (the detector's prediction head is left out). */
export function readMobileNetV1Weights(tf: Tf): MobileNetV1Weights {
  const { specs, data } = readWeightsManifest(faceApiModelDirectory(), MANIFEST);
  const all = tf.io.decodeWeights(data.slice().buffer, specs);
  const weights: MobileNetV1Weights = {};
  for (const [name, tensor] of Object.entries(all)) {
    if (name.startsWith(PREFIX)) weights[name.slice(PREFIX.length)] = tensor;
    else tensor.dispose();
  }
  const missing = requiredWeightNames().filter((n) => !(n in weights));
  if (missing.length > 0) {
    tf.dispose(Object.values(weights));
    throw new InvalidModelError(`face-api SSD weights lack ${missing.length} backbone tensors (e.g. ${missing[0]}); reinstall @vladmandic/face-api`);
  }
  return weights;
}

function requiredWeightNames(): string[] {
  const names = ['Conv2d_0_pointwise/weights', 'Conv2d_0_pointwise/convolution_bn_offset'];
  for (let i = 1; i <= BLOCKS; i++) {
    const dw = `Conv2d_${i}_depthwise/`;
    names.push(`${dw}depthwise_weights`, `${dw}BatchNorm/gamma`, `${dw}BatchNorm/beta`, `${dw}BatchNorm/moving_mean`, `${dw}BatchNorm/moving_variance`);
    names.push(`Conv2d_${i}_pointwise/weights`, `Conv2d_${i}_pointwise/convolution_bn_offset`);
  }
  return names;
}

/**
 * [n, s, s, 3] input in [-1, 1] to the activations after `blocks` separable blocks: 13 gives the
 * last block's [n, s/32, s/32, 1024], 11 the last stride-16 block's [n, s/16, s/16, 512].
 */
export function mobileNetV1Features(tf: Tf, input: Tensor4D, w: MobileNetV1Weights, blocks = BLOCKS): Tensor4D {
  return tf.tidy(() => {
    // Pointwise layers carry their batch norm folded into a bias ("convolution_bn_offset").
    const pointwise = (x: Tensor4D, name: string, stride: 1 | 2) =>
      tf.relu6(tf.add(tf.conv2d(x, w[`${name}/weights`] as Tensor4D, stride, 'same'), w[`${name}/convolution_bn_offset`])) as Tensor4D;
    let x = pointwise(input, 'Conv2d_0_pointwise', 2);
    for (let i = 1; i <= blocks; i++) {
      const dw = `Conv2d_${i}_depthwise`;
      const stride = STRIDE_TWO_BLOCKS.has(i) ? 2 : 1;
      x = tf.depthwiseConv2d(x, w[`${dw}/depthwise_weights`] as Tensor4D, stride, 'same');
      x = tf.batchNorm(
        x,
        w[`${dw}/BatchNorm/moving_mean`] as never,
        w[`${dw}/BatchNorm/moving_variance`] as never,
        w[`${dw}/BatchNorm/beta`] as never,
        w[`${dw}/BatchNorm/gamma`] as never,
        BATCH_NORM_EPSILON,
      );
      x = tf.relu6(x);
      x = pointwise(x, `Conv2d_${i}_pointwise`, 1);
    }
    return x;
  });
}
