/**
 * Pixels to the network's input tensor: upscale to the square input with bilinear resizing
 * (half-pixel centres, the convention of TF2 and libvips), replicate grey to RGB, then the
 * model's per-channel scale and offset. Decoded files and raw pixel batches share these
 * functions, so the same pixels always become the same tensor.
 */
import { InvalidInputError } from '../core/errors';
import type { DecodedImage } from './decode';
import type { Normalisation, PixelBatch, Tensor4D, Tf } from './types';

/** Checks a pixel batch's shape against its buffer. */
export function assertPixelBatch(batch: PixelBatch): void {
  const { n, height, width, channels, pixels } = batch;
  for (const [name, v] of [['n', n], ['height', height], ['width', width]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new InvalidInputError(`pixel batch ${name} must be a positive integer, got ${v}`);
  }
  if (channels !== 1 && channels !== 3) throw new InvalidInputError(`pixel batch channels must be 1 or 3, got ${channels}`);
  if (!(pixels instanceof Uint8Array) || pixels.length !== n * height * width * channels) {
    throw new InvalidInputError(`pixel batch buffer holds ${pixels?.length} bytes, expected n*height*width*channels = ${n * height * width * channels}`);
  }
}

/** [n, h, w, c] float pixels (0..255) to normalised [n, size, size, 3]. */
function toModelInput(tf: Tf, x: Tensor4D, size: number, normalisation: Normalisation): Tensor4D {
  return tf.tidy(() => {
    let y = x;
    if (y.shape[1] !== size || y.shape[2] !== size) y = tf.image.resizeBilinear(y, [size, size], false, true);
    if (y.shape[3] === 1) y = tf.tile(y, [1, 1, 1, 3]);
    const scale = tf.tensor1d(Float32Array.from(normalisation.scale));
    const offset = tf.tensor1d(Float32Array.from(normalisation.offset));
    return tf.add(tf.mul(y, scale), offset) as Tensor4D;
  });
}

/** Images [from, to) of a pixel batch as the network's input. */
export function pixelBatchToInput(tf: Tf, batch: PixelBatch, from: number, to: number, size: number, normalisation: Normalisation): Tensor4D {
  const { height, width, channels } = batch;
  const per = height * width * channels;
  return tf.tidy(() => {
    const raw = tf.tensor4d(Float32Array.from(batch.pixels.subarray(from * per, to * per)), [to - from, height, width, channels]);
    return toModelInput(tf, raw, size, normalisation);
  });
}

/** Decoded images (each of its own size) as one input batch. */
export function decodedToInput(tf: Tf, images: readonly Pick<DecodedImage, 'width' | 'height' | 'pixels'>[], size: number, normalisation: Normalisation): Tensor4D {
  return tf.tidy(() => {
    const resized = images.map((img) =>
      toModelInput(tf, tf.tensor4d(Float32Array.from(img.pixels), [1, img.height, img.width, 3]), size, normalisation),
    );
    return resized.length === 1 ? resized[0] : (tf.concat(resized, 0) as Tensor4D);
  });
}
