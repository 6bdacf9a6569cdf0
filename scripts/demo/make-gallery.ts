/**
 * Regenerates the demo's bundled gallery, scripts/demo/gallery/: 300 Fashion-MNIST test images
 * (30 per class, the first of each class in test-set order) as 28x28 grey PNGs, rendered the way
 * the feature pipeline renders Fashion-MNIST (dark garment on white), named
 * `<test index>-<class>.png`, plus the licence (MIT, Zalando SE). Deterministic: the same
 * files on every run with the same sharp/libvips. Run once; the output is committed.
 *
 *   npx tsx scripts/demo/make-gallery.ts [--per-class 30] [--out scripts/demo/gallery]
 *
 * Needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or
 * FASHION_MNIST_DIR.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { fashionMnistPng } from '../../lib/features/fashion-mnist-features';
import { GALLERY_CLASSES, GALLERY_DIR } from './gallery';

const TRAIN_SIZE = 60_000;
const COPYRIGHT_FILE = '/usr/share/doc/dataset-fashion-mnist/copyright';

const program = new Command('make-gallery')
  .option('--per-class <n>', 'images per class', '30')
  .option('--out <dir>', 'output folder', GALLERY_DIR)
  .parse(process.argv);
const options = program.opts<{ perClass: string; out: string }>();
const perClass = Number(options.perClass);
if (!Number.isInteger(perClass) || perClass < 1 || perClass > 1000) throw new Error('--per-class must be an integer from 1 to 1000');

const data = loadFashionMnist();
const counts = new Array<number>(GALLERY_CLASSES.length).fill(0);
const chosen: number[] = [];
for (let i = TRAIN_SIZE; i < data.n && chosen.length < perClass * GALLERY_CLASSES.length; i++) {
  const label = data.labels[i];
  if (counts[label] < perClass) {
    counts[label]++;
    chosen.push(i);
  }
}

mkdirSync(options.out, { recursive: true });
for (const name of readdirSync(options.out)) if (name.endsWith('.png')) rmSync(join(options.out, name));
for (const i of chosen) {
  const testIndex = i - TRAIN_SIZE;
  const name = `${String(testIndex).padStart(4, '0')}-${GALLERY_CLASSES[data.labels[i]]}.png`;
  writeFileSync(join(options.out, name), await fashionMnistPng(data, i));
}

let licence: string;
try {
  licence = readFileSync(COPYRIGHT_FILE, 'utf8');
} catch {
  throw new Error(`${COPYRIGHT_FILE} not found: install dataset-fashion-mnist to copy the licence text`);
}
writeFileSync(join(options.out, 'LICENSE'), licence);
process.stdout.write(`wrote ${chosen.length} images (${perClass} per class) and LICENSE to ${options.out}\n`);
