/**
 * Chooses the general image model by measurement: for each bundled model and input size,
 * extracts features of the first n Fashion-MNIST images (28x28 grey, upscaled), then measures
 * leave-one-out P@k of exact Euclidean kNN (class labels as relevance) on the full features and
 * after PCA, plus extraction throughput. Raw pixels (with and without PCA) are the baseline.
 *
 *   npx tsx scripts/features/compare-models.ts --models mobilenet_v2_mid --sizes 96,128 --n 4000 --queries 500
 *   npx tsx scripts/features/compare-models.ts --json > out.jsonl
 */
import { Command, InvalidArgumentError } from 'commander';
import { loadavg } from 'node:os';
import { seededRandom } from '../../lib/core/random';
import { loadFashionMnist, pixelVectors } from '../../lib/data/fashion-mnist';
import { initTensorflow } from '../../lib/features/backend';
import { leaveOneOutPrecision } from '../../lib/features/evaluation';
import { createFeatureExtractor } from '../../lib/features/extractor';
import { fashionMnistFeatures } from '../../lib/features/fashion-mnist-features';
import { BUNDLED_MODEL_IDS, BUNDLED_MODELS, isBundledModelId } from '../../lib/features/models/bundled';
import type { BundledModelId, FeatureLayer } from '../../lib/features/models/types';
import { normaliseRows } from '../../lib/features/normalise';
import { cliProgress } from '../../lib/features/progress';
import type { BackendName } from '../../lib/features/types';
import type { VectorSet } from '../../lib/linalg/vectors';
import { fitPca, transformPca } from '../../lib/ml/pca';
import { sampleIndices } from '../../lib/ml/sampling';
import type { BenchRow } from '../bench/report';
import { BenchReporter, parseNumberList, round } from '../bench/report';

interface Options {
  models: string;
  layers: string;
  sizes: string;
  invert: string;
  power: string;
  n: number;
  queries: number;
  k: string;
  pca: number;
  seed: number;
  batch: number;
  cacheDir: string;
  cache: boolean;
  baseline: boolean;
  backend?: BackendName;
  json: boolean;
  progress: boolean;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
};

function parseModels(value: string): BundledModelId[] {
  const ids = value.split(',').map((s) => s.trim());
  for (const id of ids) {
    if (!isBundledModelId(id)) throw new InvalidArgumentError(`unknown model "${id}" (have ${BUNDLED_MODEL_IDS.join(', ')})`);
  }
  return ids as BundledModelId[];
}

/** Sizes per model: numbers, or "native" for the model's training size; sizes below its minimum are skipped. */
function sizesFor(model: BundledModelId, sizes: string): number[] {
  const spec = BUNDLED_MODELS[model];
  const out = sizes.split(',').map((s) => (s.trim() === 'native' ? spec.nativeInputSize : parseNumberList(s)[0]));
  return [...new Set(out.filter((s) => s >= spec.minInputSize))];
}

function parseSwitch(value: string, what: string): boolean[] {
  if (value === 'both') return [true, false];
  if (value === 'on') return [true];
  if (value === 'off') return [false];
  throw new InvalidArgumentError(`${what} must be on, off or both, got "${value}"`);
}

function parseLayers(value: string): FeatureLayer[] {
  const layers = value.split(',').map((s) => s.trim());
  for (const l of layers) if (l !== 'final' && l !== 'mid') throw new InvalidArgumentError(`layer must be final or mid, got "${l}"`);
  return layers as FeatureLayer[];
}

function precisionColumns(prefix: string, ks: number[], values: number[]): BenchRow {
  const row: BenchRow = {};
  ks.forEach((k, i) => {
    row[`${prefix}P@${k}`] = round(values[i], 4);
  });
  return row;
}

function withPca(vectors: VectorSet, components: number, seed: number): VectorSet {
  const model = fitPca(vectors, Math.min(components, vectors.d), { random: seededRandom(seed) });
  return transformPca(model, vectors);
}

async function main(options: Options): Promise<void> {
  const ks = parseNumberList(options.k);
  const models = parseModels(options.models);
  const reporter = new BenchReporter(options.json);
  const data = loadFashionMnist({ limit: options.n });
  if (data.n < options.n) throw new InvalidArgumentError(`only ${data.n} Fashion-MNIST images available`);
  const queries = sampleIndices(options.n, options.queries, seededRandom(options.seed));
  const { name: backend } = await initTensorflow({ prefer: options.backend });
  const common = { n: options.n, queries: options.queries, backend };

  if (options.baseline) {
    const pixels = pixelVectors(data);
    reporter.add({ model: 'pixels', layer: '-', inputSize: 28, dim: pixels.d, ...common, ...precisionColumns('', ks, leaveOneOutPrecision(pixels, data.labels, queries, ks)) });
    if (options.pca > 0) {
      const reduced = withPca(pixels, options.pca, options.seed);
      reporter.add({
        model: `pixels+pca${options.pca}`,
        layer: '-',
        inputSize: 28,
        dim: reduced.d,
        ...common,
        ...precisionColumns('', ks, leaveOneOutPrecision(reduced, data.labels, queries, ks)),
      });
    }
  }

  const layers = parseLayers(options.layers);
  const powers = parseSwitch(options.power, '--power');
  for (const model of models) {
    for (const layer of layers) {
      for (const inputSize of sizesFor(model, options.sizes)) {
        for (const invert of parseSwitch(options.invert, '--invert')) {
          const extractor = await createFeatureExtractor({ model, layer, inputSize, batchSize: options.batch, backend: options.backend });
          const label = `${model}/${layer}@${inputSize}${invert ? ' inverted' : ''}`;
          const bar = options.progress && !options.json ? cliProgress(label) : undefined;
          const load = loadavg()[0];
          const result = await fashionMnistFeatures({
            extractor,
            n: options.n,
            data,
            invert,
            cacheDir: options.cache ? options.cacheDir : null,
            onProgress: bar?.update,
          });
          bar?.stop();
          extractor.dispose();
          const timing = {
            cache: result.cache,
            extractSeconds: round(result.seconds, 1),
            imagesPerSecond: result.cache === 'hit' ? null : round(options.n / result.seconds, 1),
            loadAvg1m: round((load + loadavg()[0]) / 2, 2),
          };
          // Power normalisation is applied after pooling, so both variants come from one extraction.
          for (const power of powers) {
            const vectors = normaliseRows(result.activations, options.n, extractor.dimension, power);
            const row: BenchRow = {
              model,
              layer,
              inputSize,
              dim: extractor.dimension,
              invert,
              power,
              ...common,
              ...precisionColumns('', ks, leaveOneOutPrecision(vectors, result.labels, queries, ks)),
            };
            if (options.pca > 0) {
              const reduced = withPca(vectors, options.pca, options.seed);
              Object.assign(row, precisionColumns(`pca${options.pca} `, ks, leaveOneOutPrecision(reduced, result.labels, queries, ks)));
            }
            reporter.add(Object.assign(row, timing));
          }
        }
      }
    }
  }
  reporter.finish();
}

const program = new Command('compare-models')
  .description('Measure P@k and speed of the bundled feature models on Fashion-MNIST')
  .option('--models <ids>', `comma list of ${BUNDLED_MODEL_IDS.join(', ')}`, BUNDLED_MODEL_IDS.join(','))
  .option('--layers <list>', 'feature layers: final, mid', 'final,mid')
  .option('--sizes <list>', 'input sizes, e.g. 96,128,224 or native', '96,128,224')
  .option('--invert <mode>', 'render Fashion-MNIST dark-on-white: on, off, both', 'on')
  .option('--power <mode>', 'square-root activations before L2: on, off, both', 'on')
  .option('--n <n>', 'gallery size: the first n images', positiveInt, 4000)
  .option('--queries <q>', 'leave-one-out queries drawn from the gallery', positiveInt, 500)
  .option('--k <list>', 'k values for P@k', '5,10,20')
  .option('--pca <d>', 'also measure after PCA to d dimensions (0: skip)', positiveInt, 128)
  .option('--seed <s>', 'seed of the query sample and PCA', positiveInt, 1)
  .option('--batch <b>', 'images per network run', positiveInt, 32)
  .option('--cache-dir <dir>', 'feature cache directory', '.cache/features')
  .option('--no-cache', 'always extract (needed to measure images/second)')
  .option('--no-baseline', 'skip the raw-pixel baselines')
  .option('--backend <name>', 'force tensorflow, wasm or cpu')
  .option('--no-progress', 'no progress bar')
  .option('--json', 'one JSON object per configuration per line', false)
  .showHelpAfterError();

program.parse(process.argv);
await main(program.opts<Options>());
