/**
 * Reading and decoding untrusted image files with sharp (libvips). Defences, in order: the file
 * size is checked before the file is read; the format is recognised from its magic bytes (only
 * JPEG, PNG and WebP reach the decoder, so SVG/TIFF/HEIF parsers are never exposed); the pixel
 * count the header declares is checked before any pixel is decoded (sharp's limitInputPixels
 * enforces it again inside libvips); decoder warnings such as a truncated JPEG are errors.
 * Every failure is an ImageInputError subclass naming the file.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { InvalidParametersError } from '../core/errors';
import { CorruptImageError, ImageTooLargeError, UnreadableImageError, UnsupportedImageError } from './errors';
import { sniffImageFormat } from './image-format';
import type { ImageFormat, ImageLimits, ImageSource } from './types';

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxBytes: 50 * 1024 * 1024,
  maxPixels: 50_000_000,
};

/** Checks and completes caller-supplied limits. */
export function resolveLimits(limits: Partial<ImageLimits> = {}): ImageLimits {
  const out = { ...DEFAULT_IMAGE_LIMITS, ...limits };
  for (const [name, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidParametersError(`image limit ${name} must be a positive integer, got ${value}`);
  }
  return out;
}

/** The name used in messages for the i-th source. */
export function sourceName(source: ImageSource, index: number): string {
  return typeof source === 'string' ? source : `image #${index}`;
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'file not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not an image file';
    default:
      return `cannot be read (${code ?? (error instanceof Error ? error.message : String(error))})`;
  }
}

/** The bytes of a source, refusing files larger than the limit before reading them. */
export async function readImageBytes(source: ImageSource, name: string, limits: ImageLimits): Promise<Uint8Array> {
  if (typeof source !== 'string') {
    if (source.length > limits.maxBytes) {
      throw new ImageTooLargeError(name, `${source.length} bytes exceeds the ${limits.maxBytes}-byte limit`);
    }
    return source;
  }
  let size: number;
  try {
    const info = await stat(source);
    if (!info.isFile()) throw new UnreadableImageError(name, 'is not a regular file');
    size = info.size;
  } catch (error) {
    if (error instanceof UnreadableImageError) throw error;
    throw new UnreadableImageError(name, describeFsError(error), { cause: error });
  }
  if (size > limits.maxBytes) throw new ImageTooLargeError(name, `${size} bytes exceeds the ${limits.maxBytes}-byte limit`);
  try {
    return await readFile(source);
  } catch (error) {
    throw new UnreadableImageError(name, describeFsError(error), { cause: error });
  }
}

export interface DecodedImage {
  /** Size of `pixels` (after any shrinking). */
  readonly width: number;
  readonly height: number;
  /** Size of the image as stored (after EXIF orientation), before shrinking. */
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** width * height * 3 RGB bytes, row-major. */
  readonly pixels: Uint8Array;
  readonly format: ImageFormat;
}

/** How to size the decoded pixels. */
export type DecodeSize =
  /** Images larger than side x side (either way) are resized to exactly side x side; smaller ones keep their size. */
  | { readonly squareSide: number }
  /** Shrinks (never enlarges) so that neither side exceeds maxSide, keeping the aspect ratio. */
  | { readonly maxSide: number };

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0].trim().replace(/:$/, '');
}

/**
 * Decodes JPEG/PNG/WebP bytes to 8-bit RGB (EXIF orientation applied, transparency flattened
 * onto white, greyscale and CMYK converted to sRGB).
 *
 * Small images are returned at their own size so that upscaling happens in TensorFlow with the
 * same bilinear resize as pixel batches: a 28x28 PNG then gives bit-for-bit the feature of its
 * raw pixels. Large images are shrunk by libvips (Lanczos), which avoids bilinear aliasing.
 */
export async function decodeImage(bytes: Uint8Array, name: string, size: DecodeSize, limits: ImageLimits): Promise<DecodedImage> {
  if (bytes.length === 0) throw new UnsupportedImageError(name, 'empty file, not an image');
  const format = sniffImageFormat(bytes);
  if (!format) throw new UnsupportedImageError(name, 'not a JPEG, PNG or WebP image');

  let width: number;
  let height: number;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false, failOn: 'none' }).metadata();
    if (meta.format !== format) throw new Error(`decoder sees ${meta.format}, signature says ${format}`);
    width = meta.autoOrient?.width ?? meta.width ?? 0;
    height = meta.autoOrient?.height ?? meta.height ?? 0;
  } catch (error) {
    throw new CorruptImageError(name, `unreadable ${format.toUpperCase()} header (${firstLine(error)})`, { cause: error });
  }
  if (!(width > 0 && height > 0)) throw new CorruptImageError(name, `${format.toUpperCase()} header declares no dimensions`);
  if (width * height > limits.maxPixels) {
    throw new ImageTooLargeError(name, `${width}x${height} pixels exceeds the ${limits.maxPixels}-pixel limit`);
  }

  const pipeline = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'warning', sequentialRead: true })
    .autoOrient()
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace('srgb');
  if ('squareSide' in size) {
    if (width > size.squareSide || height > size.squareSide) pipeline.resize(size.squareSide, size.squareSide, { fit: 'fill' });
  } else {
    pipeline.resize({ width: size.maxSide, height: size.maxSide, fit: 'inside', withoutEnlargement: true });
  }

  let data: Buffer;
  let info: { width: number; height: number; channels: number };
  try {
    ({ data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true }));
  } catch (error) {
    const problem = firstLine(error);
    if (/pixel limit/i.test(problem)) throw new ImageTooLargeError(name, `exceeds the ${limits.maxPixels}-pixel limit`, { cause: error });
    throw new CorruptImageError(name, `corrupt or truncated ${format.toUpperCase()} (${problem})`, { cause: error });
  }
  return {
    width: info.width,
    height: info.height,
    sourceWidth: width,
    sourceHeight: height,
    pixels: toRgb(data, info.channels, name),
    format,
  };
}

/** sharp normally yields 3 channels after toColourspace('srgb'); this guards the contract. */
function toRgb(data: Buffer, channels: number, name: string): Uint8Array {
  if (channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  if (channels === 1 || channels === 2 || channels === 4) {
    const n = data.length / channels;
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const o = i * channels;
      if (channels <= 2) {
        out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[o];
      } else {
        out[i * 3] = data[o];
        out[i * 3 + 1] = data[o + 1];
        out[i * 3 + 2] = data[o + 2];
      }
    }
    return out;
  }
  throw new CorruptImageError(name, `decoded to ${channels} channels, expected RGB`);
}

/** Reads and decodes one source; every failure is an ImageInputError naming it. */
export async function loadImage(source: ImageSource, name: string, size: DecodeSize, limits: ImageLimits): Promise<DecodedImage> {
  const bytes = await readImageBytes(source, name, limits);
  return decodeImage(bytes, name, size, limits);
}
