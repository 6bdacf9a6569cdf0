import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import { DEFAULT_IMAGE_LIMITS, decodeImage, loadImage, readImageBytes, resolveLimits } from '../../../lib/features/decode';
import { sniffImageFormat } from '../../../lib/features/image-format';
import {
  CorruptImageError,
  ImageInputError,
  ImageTooLargeError,
  UnreadableImageError,
  UnsupportedImageError,
} from '../../../lib/features/errors';

const FIXTURES = 'test/fixtures/images';
const HOSTILE = `${FIXTURES}/hostile`;
const square128 = { squareSide: 128 } as const;
const scratch = mkdtempSync(join(tmpdir(), 'blindsight-decode-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function failure(promise: Promise<unknown>): Promise<ImageInputError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ImageInputError);
    return error as ImageInputError;
  }
  throw new Error('expected the promise to reject');
}

describe('sniffImageFormat', () => {
  it('recognises JPEG, PNG and WebP by signature and nothing else', () => {
    expect(sniffImageFormat(readFileSync(`${FIXTURES}/gradient.jpg`))).toBe('jpeg');
    expect(sniffImageFormat(readFileSync(`${FIXTURES}/scene.png`))).toBe('png');
    expect(sniffImageFormat(readFileSync(`${FIXTURES}/noise.webp`))).toBe('webp');
    expect(sniffImageFormat(readFileSync(`${HOSTILE}/animation.gif`))).toBeUndefined();
    expect(sniffImageFormat(readFileSync(`${HOSTILE}/svg-named.png`))).toBeUndefined();
    expect(sniffImageFormat(new Uint8Array([0xff, 0xd8]))).toBeUndefined();
    expect(sniffImageFormat(new Uint8Array(0))).toBeUndefined();
  });
});

describe('decodeImage / loadImage', () => {
  it('shrinks images larger than the input to exactly side x side RGB', async () => {
    const img = await loadImage(`${FIXTURES}/scene.png`, 'scene.png', square128, DEFAULT_IMAGE_LIMITS);
    expect([img.width, img.height, img.sourceWidth, img.sourceHeight, img.format]).toEqual([128, 128, 240, 180, 'png']);
    expect(img.pixels.length).toBe(128 * 128 * 3);
  });

  it('keeps images smaller than the input at their own size (they are upscaled later, in TensorFlow)', async () => {
    const img = await loadImage(`${FIXTURES}/fashion-0-class9.png`, 'f', square128, DEFAULT_IMAGE_LIMITS);
    expect([img.width, img.height]).toEqual([28, 28]);
    expect(img.pixels.length).toBe(28 * 28 * 3);
    // Grey PNG: the three channels are equal.
    for (let i = 0; i < img.pixels.length; i += 3) expect(img.pixels[i]).toBe(img.pixels[i + 2]);
  });

  it('converts grey, transparent and CMYK images to RGB and applies EXIF orientation', async () => {
    const grey = await loadImage(`${FIXTURES}/grey.png`, 'grey', square128, DEFAULT_IMAGE_LIMITS);
    expect(grey.pixels.length).toBe(64 * 48 * 3);
    const alpha = await loadImage(`${FIXTURES}/alpha.png`, 'alpha', square128, DEFAULT_IMAGE_LIMITS);
    // Opaque red on the left, transparent (flattened onto white) on the right.
    expect(Array.from(alpha.pixels.subarray(0, 3))).toEqual([200, 40, 40]);
    expect(Array.from(alpha.pixels.subarray(63 * 3, 64 * 3))).toEqual([255, 255, 255]);
    const cmyk = await loadImage(`${FIXTURES}/cmyk.jpg`, 'cmyk', square128, DEFAULT_IMAGE_LIMITS);
    const png = await loadImage(`${FIXTURES}/scene.png`, 'scene', square128, DEFAULT_IMAGE_LIMITS);
    let diff = 0;
    for (let i = 0; i < png.pixels.length; i++) diff += Math.abs(cmyk.pixels[i] - png.pixels[i]);
    expect(diff / png.pixels.length).toBeLessThan(12);
    const rotated = await loadImage(`${FIXTURES}/exif-rotated.jpg`, 'exif', square128, DEFAULT_IMAGE_LIMITS);
    expect([rotated.width, rotated.height]).toEqual([40, 60]);
  });

  it('shrinks to a maximum side keeping the aspect ratio, never enlarging', async () => {
    const shrunk = await loadImage(`${FIXTURES}/scene.png`, 's', { maxSide: 120 }, DEFAULT_IMAGE_LIMITS);
    expect([shrunk.width, shrunk.height, shrunk.sourceWidth]).toEqual([120, 90, 240]);
    const kept = await loadImage(`${FIXTURES}/grey.png`, 'g', { maxSide: 120 }, DEFAULT_IMAGE_LIMITS);
    expect([kept.width, kept.height]).toEqual([64, 48]);
  });

  it('is deterministic: the same bytes decode to the same pixels', async () => {
    const bytes = readFileSync(`${FIXTURES}/scene-near-duplicate.jpg`);
    const a = await decodeImage(bytes, 'a', square128, DEFAULT_IMAGE_LIMITS);
    const b = await decodeImage(new Uint8Array(bytes), 'b', square128, DEFAULT_IMAGE_LIMITS);
    expect(Buffer.compare(Buffer.from(a.pixels), Buffer.from(b.pixels))).toBe(0);
  });
});

describe('hostile and unreadable inputs', () => {
  it('a truncated JPEG is a CorruptImageError naming the file', async () => {
    const error = await failure(loadImage(`${HOSTILE}/truncated.jpg`, 'truncated.jpg', square128, DEFAULT_IMAGE_LIMITS));
    expect(error).toBeInstanceOf(CorruptImageError);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(/^truncated\.jpg: corrupt or truncated JPEG/);
  });

  it('a PNG header claiming 100000 x 100000 pixels is refused before decoding', async () => {
    const error = await failure(loadImage(`${HOSTILE}/huge-dimensions.png`, 'huge.png', square128, DEFAULT_IMAGE_LIMITS));
    expect(error).toBeInstanceOf(ImageTooLargeError);
    expect(error.message).toBe('huge.png: 100000x100000 pixels exceeds the 50000000-pixel limit');
  });

  it('refuses images over a configured pixel limit', async () => {
    const limits = resolveLimits({ maxPixels: 100 * 100 });
    const error = await failure(loadImage(`${FIXTURES}/scene.png`, 'scene.png', square128, limits));
    expect(error).toBeInstanceOf(ImageTooLargeError);
    expect(error.problem).toContain('240x180');
  });

  it('refuses files over the byte limit without reading them', async () => {
    const limits = resolveLimits({ maxBytes: 1000 });
    const error = await failure(readImageBytes(`${FIXTURES}/scene.png`, 'scene.png', limits));
    expect(error).toBeInstanceOf(ImageTooLargeError);
    expect(error.problem).toMatch(/^\d+ bytes exceeds the 1000-byte limit$/);
    await expect(readImageBytes(new Uint8Array(1001), 'bytes', limits)).rejects.toBeInstanceOf(ImageTooLargeError);
  });

  it.each([
    ['text-named.jpg', 'not a JPEG, PNG or WebP image'],
    ['empty.jpg', 'empty file, not an image'],
    ['svg-named.png', 'not a JPEG, PNG or WebP image'],
    ['animation.gif', 'not a JPEG, PNG or WebP image'],
  ])('%s is an UnsupportedImageError', async (file, problem) => {
    const error = await failure(loadImage(`${HOSTILE}/${file}`, file, square128, DEFAULT_IMAGE_LIMITS));
    expect(error).toBeInstanceOf(UnsupportedImageError);
    expect(error.problem).toBe(problem);
    expect(error.file).toBe(file);
  });

  it('a PNG with corrupted bytes is a CorruptImageError', async () => {
    const error = await failure(loadImage(`${HOSTILE}/corrupt-data.png`, 'c.png', square128, DEFAULT_IMAGE_LIMITS));
    expect(error).toBeInstanceOf(CorruptImageError);
  });

  it('missing files and directories are UnreadableImageErrors', async () => {
    const missing = await failure(loadImage(join(scratch, 'nope.jpg'), 'nope.jpg', square128, DEFAULT_IMAGE_LIMITS));
    expect(missing).toBeInstanceOf(UnreadableImageError);
    expect(missing.problem).toBe('file not found');
    const dir = await failure(loadImage(scratch, 'dir', square128, DEFAULT_IMAGE_LIMITS));
    expect(dir).toBeInstanceOf(UnreadableImageError);
  });

  it('an image whose sharp-readable format differs from its signature is refused', async () => {
    // PNG signature followed by a JPEG: the format check must not let libvips pick another decoder.
    const jpeg = readFileSync(`${FIXTURES}/gradient.jpg`);
    const path = join(scratch, 'chimera.png');
    writeFileSync(path, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), jpeg]));
    await expect(loadImage(path, 'chimera.png', square128, DEFAULT_IMAGE_LIMITS)).rejects.toBeInstanceOf(CorruptImageError);
  });

  it('rejects nonsensical limits', () => {
    expect(() => resolveLimits({ maxPixels: 0 })).toThrow(InvalidParametersError);
    expect(() => resolveLimits({ maxBytes: 1.5 })).toThrow(InvalidParametersError);
  });

  it('decodes a WebP made on the fly (sharp round trip)', async () => {
    const webp = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#102030' } }).webp({ lossless: true }).toBuffer();
    const img = await decodeImage(webp, 'w', square128, DEFAULT_IMAGE_LIMITS);
    expect([img.width, img.height, img.format]).toEqual([20, 10, 'webp']);
    expect(Array.from(img.pixels.subarray(0, 3))).toEqual([16, 32, 48]);
  });
});
