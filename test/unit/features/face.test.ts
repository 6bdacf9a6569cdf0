/**
 * The face pipeline on real photographs: the sample pictures that ship inside
 * @vladmandic/face-api (MIT-licensed package, photos by its author). They are read from
 * node_modules at test time, never copied into this repository; if a future package version
 * drops them, the photo tests are skipped (the no-face and option tests still run).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import { CorruptImageError, NoFaceFoundError } from '../../../lib/features/errors';
import type { FaceDescription, FaceEmbedder } from '../../../lib/features/face';
import { createFaceEmbedder, FACE_DESCRIPTOR_DIMENSION } from '../../../lib/features/face';
import { silentLogger } from '../../support/logs';
import { packageRoot } from '../../../lib/features/models/package-files';

const DEMO = join(packageRoot('@vladmandic/face-api'), 'demo');
const photo = (n: number) => join(DEMO, `sample${n}.jpg`);
const havePhotos = existsSync(photo(1)) && existsSync(photo(2));

let faces: FaceEmbedder;

beforeAll(async () => {
  faces = await createFaceEmbedder({ log: silentLogger });
});
afterAll(() => faces?.dispose());

function distance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** A JPEG of the region around one detected face (2.5x its box), so later variants keep the same most prominent face. */
async function faceCrop(file: string, face: FaceDescription): Promise<Buffer> {
  const meta = await sharp(file).metadata();
  const cx = face.box.x + face.box.width / 2;
  const cy = face.box.y + face.box.height / 2;
  const half = 1.25 * Math.max(face.box.width, face.box.height);
  const left = Math.max(0, Math.round(cx - half));
  const top = Math.max(0, Math.round(cy - half));
  const width = Math.min(meta.width - left, Math.round(2 * half));
  const height = Math.min(meta.height - top, Math.round(2 * half));
  return sharp(file).extract({ left, top, width, height }).jpeg({ quality: 92 }).toBuffer();
}

describe('face embedder', () => {
  it('reports "no face found" as a typed error naming the image', async () => {
    await expect(faces.describe('test/fixtures/images/scene.png')).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof NoFaceFoundError &&
        e.code === 'INVALID_INPUT' &&
        e.message === 'test/fixtures/images/scene.png: no face found (detector ssd_mobilenet_v1, minimum confidence 0.5)',
    );
    await expect(faces.describe(readFileSync('test/fixtures/images/noise.webp'))).rejects.toBeInstanceOf(NoFaceFoundError);
  });

  it('refuses unusable files with the decoder errors', async () => {
    await expect(faces.describe('test/fixtures/images/hostile/truncated.jpg')).rejects.toBeInstanceOf(CorruptImageError);
  });

  it('rejects bad options', async () => {
    await expect(createFaceEmbedder({ minConfidence: 1.5, log: silentLogger })).rejects.toBeInstanceOf(InvalidParametersError);
    await expect(createFaceEmbedder({ detector: 'yolo' as never, log: silentLogger })).rejects.toBeInstanceOf(InvalidParametersError);
  });

  describe.skipIf(!havePhotos)('on photographs', () => {
    let group: FaceDescription;
    let crop: Buffer;
    let cropFace: FaceDescription;

    beforeAll(async () => {
      group = await faces.describe(photo(1));
      crop = await faceCrop(photo(1), group);
      cropFace = await faces.describe(crop);
    });

    it('describes the most prominent face of a group photo: 128 finite values, box and 68 landmarks inside the image', async () => {
      const meta = await sharp(photo(1)).metadata();
      expect(group.descriptor.length).toBe(FACE_DESCRIPTOR_DIMENSION);
      expect(group.descriptor.every(Number.isFinite)).toBe(true);
      expect(group.facesFound).toBeGreaterThanOrEqual(2);
      expect(group.score).toBeGreaterThan(0.5);
      expect(group.box.x).toBeGreaterThanOrEqual(0);
      expect(group.box.x + group.box.width).toBeLessThanOrEqual(meta.width + 1);
      expect(group.landmarks.length).toBe(136);
      for (let i = 0; i < 68; i++) {
        // Landmarks lie around the detected box.
        expect(group.landmarks[2 * i]).toBeGreaterThan(group.box.x - group.box.width / 2);
        expect(group.landmarks[2 * i]).toBeLessThan(group.box.x + 1.5 * group.box.width);
      }
    });

    it('is deterministic and finds the same person in the cropped photo', async () => {
      const again = await faces.describe(crop);
      expect(Buffer.from(again.descriptor.buffer).equals(Buffer.from(cropFace.descriptor.buffer))).toBe(true);
      expect(cropFace.facesFound).toBe(1);
      expect(distance(cropFace.descriptor, group.descriptor)).toBeLessThan(0.3);
    });

    it('keeps one person close under resizing, brightness change and in-plane rotation (alignment)', async () => {
      const smaller = await sharp(crop).resize({ width: Math.round((await sharp(crop).metadata()).width * 0.6) }).jpeg({ quality: 80 }).toBuffer();
      const brighter = await sharp(crop).modulate({ brightness: 1.2 }).jpeg({ quality: 85 }).toBuffer();
      const rotated = await sharp(crop).rotate(10, { background: '#777777' }).jpeg({ quality: 90 }).toBuffer();
      const variants = [await faces.describe(smaller), await faces.describe(brighter), await faces.describe(rotated)];
      for (const v of variants) expect(distance(v.descriptor, cropFace.descriptor)).toBeLessThan(0.4);
      // The alignment saw the extra 10 degrees of roll and removed it.
      expect(Math.abs(variants[2].rollDegrees - cropFace.rollDegrees - 10)).toBeLessThan(6);

      // Another person (most prominent face of another photo) is farther than every variant.
      const other = await faces.describe(photo(2));
      const otherDistance = distance(other.descriptor, cropFace.descriptor);
      for (const v of variants) expect(distance(v.descriptor, cropFace.descriptor)).toBeLessThan(otherDistance);
      expect(otherDistance).toBeGreaterThan(0.5);
    });

    it('also works with the tiny face detector', async () => {
      const tiny = await createFaceEmbedder({ detector: 'tiny_face_detector', log: silentLogger });
      try {
        const found = await tiny.describe(crop);
        expect(tiny.detector).toBe('tiny_face_detector');
        expect(found.descriptor.length).toBe(128);
        expect(distance(found.descriptor, cropFace.descriptor)).toBeLessThan(0.4);
      } finally {
        tiny.dispose();
      }
    });
  });
});
