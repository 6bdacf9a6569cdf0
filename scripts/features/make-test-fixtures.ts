/**
 * Regenerates test/fixtures/images: small synthetic images (shapes, gradient, noise, and
 * variants exercising decoder paths: grey, alpha, CMYK, EXIF rotation), four Fashion-MNIST
 * images (MIT licence, from Debian's dataset-fashion-mnist), and hostile files for the error
 * paths. Deterministic: the same bytes on every run with the same sharp/libvips.
 *
 *   npx tsx scripts/features/make-test-fixtures.ts [--out test/fixtures/images]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../../lib/core/random';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { fashionMnistPng } from '../../lib/features/fashion-mnist-features';

const outIndex = process.argv.indexOf('--out');
const OUT = outIndex > 0 ? process.argv[outIndex + 1] : 'test/fixtures/images';
const HOSTILE = join(OUT, 'hostile');

function write(dir: string, name: string, bytes: Uint8Array | string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), bytes);
}

/** A scene of overlapping shapes on a two-colour gradient (rendered from SVG by librsvg, at generation time only). */
function scene(width: number, height: number): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f4e3c1"/><stop offset="1" stop-color="#6a8caf"/></linearGradient></defs>
  <rect width="100%" height="100%" fill="url(#g)"/>
  <circle cx="${width * 0.3}" cy="${height * 0.45}" r="${height * 0.28}" fill="#c0392b"/>
  <rect x="${width * 0.5}" y="${height * 0.2}" width="${width * 0.35}" height="${height * 0.5}" fill="#27ae60" transform="rotate(12 ${width * 0.67} ${height * 0.45})"/>
  <polygon points="${width * 0.15},${height * 0.95} ${width * 0.45},${height * 0.6} ${width * 0.75},${height * 0.95}" fill="#2c3e50"/>
</svg>`);
}

function gradient(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      px[o] = Math.round((255 * x) / (width - 1));
      px[o + 1] = Math.round((255 * y) / (height - 1));
      px[o + 2] = 128;
    }
  }
  return px;
}

function noise(width: number, height: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = random.int(256);
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG header declaring width x height RGB pixels, followed by almost no data. */
function hugeDimensionPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  // One zlib-compressed empty scanline: a decoder that trusted the header would try to allocate all of it.
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

async function main(): Promise<void> {
  const raw = (px: Buffer, width: number, height: number, channels: 1 | 3 | 4 = 3) => sharp(px, { raw: { width, height, channels } });

  const scenePng = await sharp(scene(240, 180)).png().toBuffer();
  write(OUT, 'scene.png', scenePng);
  // Near duplicate: smaller, brighter, re-encoded as JPEG.
  write(OUT, 'scene-near-duplicate.jpg', await sharp(scenePng).resize(200, 150).modulate({ brightness: 1.12 }).jpeg({ quality: 70 }).toBuffer());
  write(OUT, 'gradient.jpg', await raw(gradient(200, 150), 200, 150).jpeg({ quality: 90 }).toBuffer());
  write(OUT, 'noise.webp', await raw(noise(128, 128, 7), 128, 128).webp({ quality: 80 }).toBuffer());
  write(OUT, 'grey.png', await raw(gradient(64, 48), 64, 48).greyscale().toColourspace('b-w').png().toBuffer());
  const rgba = Buffer.alloc(64 * 64 * 4);
  for (let i = 0; i < 64 * 64; i++) rgba.set([200, 40, 40, i % 64 < 32 ? 255 : 0], i * 4);
  write(OUT, 'alpha.png', await raw(rgba, 64, 64, 4).png().toBuffer());
  write(OUT, 'cmyk.jpg', await sharp(scenePng).toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer());
  // Stored 60x40 landscape with EXIF orientation 6: displays (and must decode) as 40x60 portrait.
  write(OUT, 'exif-rotated.jpg', await raw(gradient(60, 40), 60, 40).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer());

  // Fashion-MNIST: two of one class (Ankle boot = 9) and two others, as rendered for the models.
  const data = loadFashionMnist({ limit: 200 });
  const picks: number[] = [];
  for (const wanted of [9, 9, 1, 8]) {
    const i = Array.from(data.labels).findIndex((label, index) => label === wanted && !picks.includes(index));
    picks.push(i);
  }
  for (const i of picks) write(OUT, `fashion-${i}-class${data.labels[i]}.png`, await fashionMnistPng(data, i));

  const jpeg = await sharp(scenePng).jpeg({ quality: 90 }).toBuffer();
  write(HOSTILE, 'truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  write(HOSTILE, 'huge-dimensions.png', hugeDimensionPng(100_000, 100_000));
  write(HOSTILE, 'text-named.jpg', 'This is a text file, not a JPEG.\n');
  write(HOSTILE, 'empty.jpg', new Uint8Array(0));
  write(HOSTILE, 'svg-named.png', scene(32, 32));
  write(HOSTILE, 'animation.gif', await sharp(scenePng).resize(32, 24).gif().toBuffer());
  const png = await sharp(scenePng).resize(64, 48).png().toBuffer();
  const corrupt = Buffer.from(png);
  for (let i = 60; i < corrupt.length - 20; i += 7) corrupt[i] ^= 0x5a;
  write(HOSTILE, 'corrupt-data.png', corrupt);
  console.log(`fixtures written to ${OUT}`);
}

await main();
