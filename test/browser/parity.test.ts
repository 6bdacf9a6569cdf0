/**
 * Parity: the page's feature vector of an image equals the CLI's (cosine >= 0.999), for the
 * image kinds the page takes: Fashion-MNIST gallery PNGs (upscaled by TensorFlow.js in both),
 * greyscale and transparent PNGs, an EXIF-rotated JPEG, and images larger than the model input
 * (JPEG, WebP) that both shrink with Lanczos-3 before the network. The page runs its own built
 * feature module in Debian's chromium; the CLI's extractor runs here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeatureExtractor } from '../../lib/features/extractor';
import type { FeatureExtractor } from '../../lib/features/types';
import { startWebServer } from '../../scripts/local-cloud/web-server';
import type { WebServer } from '../../scripts/local-cloud/web-server';
import type { Browser } from './support/chromium';
import { launchChromium } from './support/chromium';
import { builtPage, chunkPath } from './support/page';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'images');
const GALLERY = join(import.meta.dirname, '..', '..', 'scripts', 'demo', 'gallery');
const CHOICE = { model: 'mobilenet_v2_mid', layer: 'mid', inputSize: 128 } as const;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

describe('page features equal the CLI features', () => {
  let server: WebServer;
  let browser: Browser;
  let cli: FeatureExtractor;
  let featuresChunk: string;

  beforeAll(async () => {
    const dist = await builtPage();
    featuresChunk = await chunkPath(dist, 'src/features.ts');
    server = await startWebServer({ root: dist, origins: { api: [], storage: [] } });
    browser = await launchChromium();
    cli = await createFeatureExtractor({ model: CHOICE.model, layer: CHOICE.layer, inputSize: CHOICE.inputSize, log: () => {} });
    await browser.page.goto(server.url);
    await browser.page.waitForSelector('body[data-state="setup"]');
  });

  afterAll(async () => {
    cli?.dispose();
    await browser?.close();
    await server?.stop();
  });

  async function inPage(bytes: Uint8Array): Promise<number[]> {
    // A string, not a function: vitest rewrites import() inside test code.
    const script = `(async ({ chunk, choice, data }) => {
      const features = await import(chunk);
      const extractor = await features.createPageExtractor(choice);
      try {
        const set = await extractor.extract([new Uint8Array(data)]);
        return Array.from(set.data);
      } finally {
        extractor.dispose();
      }
    })(${JSON.stringify({ chunk: featuresChunk, choice: CHOICE, data: Array.from(bytes) })})`;
    return (await browser.page.evaluate(script)) as number[];
  }

  const cases: [string, () => Promise<Uint8Array>][] = [
    ['a gallery PNG (28x28, upscaled)', () => readFile(join(GALLERY, '0000-ankle-boot.png'))],
    ['another gallery PNG', () => readFile(join(GALLERY, '0002-trouser.png'))],
    ['a greyscale PNG', () => readFile(join(FIXTURES, 'grey.png'))],
    ['a transparent PNG (flattened onto white)', () => readFile(join(FIXTURES, 'alpha.png'))],
    ['an EXIF-rotated JPEG', () => readFile(join(FIXTURES, 'exif-rotated.jpg'))],
    ['a 200x150 JPEG (shrunk)', () => readFile(join(FIXTURES, 'gradient.jpg'))],
    [
      'a 480x360 photo-like JPEG (shrunk)',
      async () => sharp(await readFile(join(GALLERY, '0001-pullover.png'))).resize(480, 360, { kernel: 'cubic' }).blur(1.2).jpeg({ quality: 90 }).toBuffer(),
    ],
    ['a 300x300 WebP (shrunk)', async () => sharp(await readFile(join(GALLERY, '0004-shirt.png'))).resize(300, 300).webp({ quality: 90 }).toBuffer()],
  ];

  for (const [what, image] of cases) {
    it(`${what}: cosine >= 0.999`, async () => {
      const bytes = new Uint8Array(await image());
      const page = await inPage(bytes);
      const node = (await cli.extract([bytes])).data;
      expect(page.length).toBe(cli.dimension);
      const similarity = cosine(page, node);
      console.log(`parity ${what}: cosine ${similarity.toFixed(6)}`);
      expect(similarity).toBeGreaterThanOrEqual(0.999);
    });
  }
});
