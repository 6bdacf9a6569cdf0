/**
 * Fashion-MNIST (Zalando, MIT licence) from Debian's package `dataset-fashion-mnist`: 70,000
 * labelled 28x28 grey images in gzipped IDX files. Used for benchmarks and the accuracy
 * evaluation; the tests build their own data.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { processConfig } from '../config/environment';
import { MalformedDataError, NotFoundError } from '../core/errors';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

export interface FashionMnist {
  readonly n: number;
  readonly rows: number;
  readonly cols: number;
  /** n * rows * cols pixels, 0..255, image i at [i*rows*cols, ...). */
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
}

function readIdx(path: string, expectedMagic: number): { dims: number[]; body: Uint8Array } {
  const raw = gunzipSync(readFileSync(path));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < 8 || view.getUint32(0, false) !== expectedMagic) {
    throw new MalformedDataError(path, 'not an IDX file of the expected type');
  }
  const rank = expectedMagic & 0xff;
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const body = raw.subarray(4 + 4 * rank);
  if (body.length !== dims.reduce((a, b) => a * b, 1)) throw new MalformedDataError(path, 'size does not match its header');
  return { dims, body };
}

function loadSplit(dir: string, prefix: 'train' | 't10k'): FashionMnist {
  const images = readIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`), 0x00000803);
  const labels = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`), 0x00000801);
  const [n, rows, cols] = images.dims;
  if (labels.dims[0] !== n) throw new MalformedDataError(dir, 'image and label counts differ');
  return { n, rows, cols, pixels: images.body, labels: labels.body };
}

/** All 70,000 images (60,000 train then 10,000 test), or the first `limit`. */
export function loadFashionMnist(options: { limit?: number; dir?: string } = {}): FashionMnist {
  const dir = options.dir ?? processConfig().get('fashionMnistDir');
  if (!existsSync(join(dir, 'train-images-idx3-ubyte.gz'))) {
    throw new NotFoundError(
      `Fashion-MNIST not found in ${dir}: install it with "apt-get install dataset-fashion-mnist" or set FASHION_MNIST_DIR`,
    );
  }
  const train = loadSplit(dir, 'train');
  const test = loadSplit(dir, 't10k');
  const size = train.rows * train.cols;
  const total = Math.min(options.limit ?? Number.POSITIVE_INFINITY, train.n + test.n);
  const pixels = new Uint8Array(total * size);
  const labels = new Uint8Array(total);
  const fromTrain = Math.min(total, train.n);
  pixels.set(train.pixels.subarray(0, fromTrain * size));
  labels.set(train.labels.subarray(0, fromTrain));
  if (total > fromTrain) {
    pixels.set(test.pixels.subarray(0, (total - fromTrain) * size), fromTrain * size);
    labels.set(test.labels.subarray(0, total - fromTrain), fromTrain);
  }
  return { n: total, rows: train.rows, cols: train.cols, pixels, labels };
}

/** Pixels scaled to [0, 1] as a VectorSet-compatible buffer. */
export function pixelVectors(set: FashionMnist): { n: number; d: number; data: Float64Array } {
  const d = set.rows * set.cols;
  const data = new Float64Array(set.n * d);
  for (let i = 0; i < data.length; i++) data[i] = set.pixels[i] / 255;
  return { n: set.n, d, data };
}
