/**
 * Decoding a dropped image in the page, the way the CLI's decoder does (lib/features/decode.ts):
 * only JPEG, PNG and WebP recognised from their first bytes; EXIF orientation applied;
 * transparency flattened onto white; images larger than the model input (either way) shrunk to
 * exactly its square with Lanczos-3, smaller ones kept at their size so that TensorFlow.js
 * upscales them with the same bilinear resize as in the CLI. The browser's own decoder reads
 * the pixels; nothing leaves the page.
 */
import { CorruptImageError, ImageTooLargeError, UnsupportedImageError } from '../../lib/features/errors';
import { sniffImageFormat } from '../../lib/features/image-format';
import type { ImageLimits } from '../../lib/features/types';
import { lanczosResizeRgb } from './resize';

/** The same bounds as the CLI's (lib/features/decode.ts DEFAULT_IMAGE_LIMITS). */
export const PAGE_IMAGE_LIMITS: ImageLimits = { maxBytes: 50 * 1024 * 1024, maxPixels: 50_000_000 };

export interface PageDecodedImage {
  readonly width: number;
  readonly height: number;
  /** 8-bit RGB, row-major. */
  readonly pixels: Uint8Array;
}

export async function decodeInPage(bytes: Uint8Array, name: string, squareSide: number, limits: ImageLimits = PAGE_IMAGE_LIMITS): Promise<PageDecodedImage> {
  if (bytes.length === 0) throw new UnsupportedImageError(name, 'empty file, not an image');
  if (bytes.length > limits.maxBytes) throw new ImageTooLargeError(name, `${bytes.length} bytes exceeds the ${limits.maxBytes}-byte limit`);
  const format = sniffImageFormat(bytes);
  if (!format) throw new UnsupportedImageError(name, 'not a JPEG, PNG or WebP image');

  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: `image/${format}` }), {
      imageOrientation: 'from-image',
      premultiplyAlpha: 'none',
      colorSpaceConversion: 'default',
    });
  } catch (error) {
    throw new CorruptImageError(name, `corrupt or truncated ${format.toUpperCase()} (the browser cannot decode it)`, { cause: error });
  }
  try {
    const { width, height } = bitmap;
    if (!(width > 0 && height > 0)) throw new CorruptImageError(name, `${format.toUpperCase()} declares no dimensions`);
    if (width * height > limits.maxPixels) throw new ImageTooLargeError(name, `${width}x${height} pixels exceeds the ${limits.maxPixels}-pixel limit`);
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true, alpha: false });
    if (!context) throw new CorruptImageError(name, 'this browser cannot read image pixels (no 2D canvas)');
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0);
    const rgba = context.getImageData(0, 0, width, height).data;
    const rgb = new Uint8Array(width * height * 3);
    for (let i = 0, o = 0; i < rgba.length; i += 4, o += 3) {
      rgb[o] = rgba[i];
      rgb[o + 1] = rgba[i + 1];
      rgb[o + 2] = rgba[i + 2];
    }
    if (width > squareSide || height > squareSide) {
      // Like sharp's fit 'fill': both sides become the input side (a smaller side is enlarged by the same filter).
      return { width: squareSide, height: squareSide, pixels: lanczosResizeRgb(rgb, width, height, squareSide, squareSide) };
    }
    return { width, height, pixels: rgb };
  } finally {
    bitmap.close();
  }
}
