/**
 * CLI benchmark: `npm run bench -- cli --n 1000 --queries 200 [--kind sealed,sei] [--k 10] [--download] [--singles 5] [--json]`.
 *
 * Searching many images as a person does it, with the `blindsight` command line as a real
 * process: the owner indexes n Fashion-MNIST training images and publishes them to the local
 * cloud (set-up, not measured), a user is enrolled, and then
 *
 * - one process searches all `queries` held-out test images (`user search <folder>`): one
 *   process start and one model load for the whole batch; total wall time and time per image,
 *   with the CLI's own split (features, search requests, downloads);
 * - the peer, one process per image (`user search <image>`, what a batch cost before batch
 *   search existed), for `singles` images: wall time per image.
 *
 * One row per index kind (`--kind`, default sealed; the index is built once with all of them).
 * Ids only by default; `--download` also downloads, decrypts and writes the k results per
 * query. P@k against the Fashion-MNIST classes checks the answers are real. The load average
 * is reported with the numbers: the machine is shared.
 */
import type { Command } from 'commander';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFeatureModels } from '../../lib/client/node/feature-models';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../../lib/data/fashion-mnist';
import { fashionMnistPng } from '../../lib/features/fashion-mnist-features';
import { captureStream, silentListener } from '../cli/io';
import { runCli } from '../cli/program';
import { startLocalCloud } from '../local-cloud/cloud';
import type { LocalCloud } from '../local-cloud/cloud';
import { runBlindsight } from './cli-process';
import { BenchReporter, round } from './report';

interface CliBenchOptions {
  n: string;
  queries: string;
  k: string;
  kind: string;
  singles: string;
  download: boolean;
  json: boolean;
}

const TRAIN_SIZE = 60_000;

async function writePngs(folder: string, data: ReturnType<typeof loadFashionMnist>, indices: readonly number[]): Promise<Map<string, number>> {
  await mkdir(folder, { recursive: true });
  const labels = new Map<string, number>();
  for (const index of indices) {
    const name = `${String(index).padStart(5, '0')}-${FASHION_MNIST_CLASSES[data.labels[index]].toLowerCase().replace(/[^a-z]+/g, '-')}.png`;
    await writeFile(join(folder, name), await fashionMnistPng(data, index));
    labels.set(name, data.labels[index]);
  }
  return labels;
}

async function runOne(options: CliBenchOptions, reporter: BenchReporter): Promise<void> {
  const n = Number(options.n);
  const queries = Number(options.queries);
  const k = Number(options.k);
  const singles = Number(options.singles);
  for (const [name, value, max] of [['--n', n, TRAIN_SIZE], ['--queries', queries, 10_000], ['--k', k, 100], ['--singles', singles, 1000]] as const) {
    if (!Number.isInteger(value) || value < (name === '--singles' ? 0 : 1) || value > max) throw new Error(`${name} must be an integer up to ${max}`);
  }
  const kinds = options.kind.split(',').map((kind) => kind.trim());
  if (kinds.length === 0 || kinds.some((kind) => kind !== 'sealed' && kind !== 'sei') || new Set(kinds).size !== kinds.length) {
    throw new Error('--kind must list sealed and/or sei, comma-separated');
  }
  const work = await mkdtemp(join(tmpdir(), 'bench-cli-'));
  const env = { BLINDSIGHT_LOCAL_CLOUD_REGISTRY: join(work, 'registry') };
  let cloud: LocalCloud | undefined;
  const models = createFeatureModels(() => silentListener);
  try {
    const data = loadFashionMnist();
    const galleryLabels = await writePngs(join(work, 'gallery'), data, Array.from({ length: n }, (_, i) => i));
    const queryLabels = await writePngs(join(work, 'queries'), data, Array.from({ length: queries }, (_, i) => TRAIN_SIZE + i));
    cloud = await startLocalCloud({ dataDir: join(work, 'cloud'), onLog: () => {}, registryDir: env.BLINDSIGHT_LOCAL_CLOUD_REGISTRY });

    // Set-up in this process (not measured): owner, index, publish, enroll.
    const setup = async (...argv: string[]) => {
      const stderr = captureStream();
      const code = await runCli(argv, { stdout: captureStream(), stderr, env, cwd: work }, { models });
      if (code !== 0) throw new Error(`set-up "${argv.join(' ')}" failed:\n${stderr.text().trim()}`);
    };
    const owner = ['--home', join(work, 'owner')];
    const user = ['--home', join(work, 'user')];
    process.stderr.write(`bench cli: indexing ${n} images and publishing...\n`);
    await setup('owner', 'init', ...owner);
    await setup('owner', 'index', 'gallery', '--kind', kinds.join(','), ...owner);
    await setup('owner', 'publish', ...owner);
    await setup('user', 'request-key', ...user);
    await setup('owner', 'enroll', 'bench', '--request', join(work, 'user', 'user', 'key-request.json'), '--out', join(work, 'bench.grant.json'), ...owner);
    await setup('user', 'import', 'bench.grant.json', ...user);
    models.dispose();
    const manifest = JSON.parse(await readFile(join(work, 'owner', 'owner', 'index', 'manifest.json'), 'utf8')) as { images: Array<{ imageId: string; relative: string }> };
    const labelOfId = new Map(manifest.images.map((image) => [image.imageId, galleryLabels.get(image.relative)]));
    const output = options.download ? ['--out', join(work, 'results')] : ['--ids-only'];

    for (const kind of kinds) {
      process.stderr.write(`bench cli: one process searching ${queries} images (${kind})...\n`);
      const loadBefore = loadavg()[0];
      const batch = await runBlindsight(['user', 'search', 'queries', '--kind', kind, '--k', String(k), ...output, '--json', ...user], env, work);
      const result = JSON.parse(batch.stdout) as {
        queries: Array<{ query: string; results: Array<{ imageId: string }> }>;
        downloaded: number;
        ms: { features: number; search: number; download: number; total: number };
      };
      let relevant = 0;
      for (const q of result.queries) {
        const label = queryLabels.get(q.query.replace(/^queries\//, ''));
        relevant += q.results.filter((r) => labelOfId.get(r.imageId) === label).length;
      }

      const singleMs: number[] = [];
      for (let i = 0; i < singles; i++) {
        process.stderr.write(`bench cli: one process per image, ${i + 1}/${singles}...\r`);
        const file = result.queries[i % result.queries.length].query;
        singleMs.push((await runBlindsight(['user', 'search', file, '--kind', kind, '--k', String(k), ...output, '--json', ...user], env, work)).ms);
      }
      if (singles > 0) process.stderr.write('\n');
      const singleMean = singleMs.length > 0 ? singleMs.reduce((a, b) => a + b, 0) / singleMs.length : Number.NaN;
      reporter.add({
        kind,
        n,
        queries: result.queries.length,
        k,
        download: options.download,
        batchTotalS: round(batch.ms / 1000, 1),
        batchPerImageMs: round(batch.ms / result.queries.length, 0),
        cliFeaturesMs: result.ms.features,
        cliSearchMs: result.ms.search,
        cliDownloadMs: result.ms.download,
        cliTotalMs: result.ms.total,
        startupAndModelMs: round(batch.ms - result.ms.total, 0),
        downloaded: result.downloaded,
        pAtK: round(relevant / (result.queries.length * k), 3),
        singles,
        singlePerImageMs: round(singleMean, 0),
        speedup: round(singleMean / (batch.ms / result.queries.length), 1),
        loadAvgBefore: round(loadBefore, 2),
        loadAvgAfter: round(loadavg()[0], 2),
      });
    }
  } finally {
    models.dispose();
    await cloud?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

export function register(program: Command): void {
  program
    .command('cli')
    .description('Searching many images with the blindsight CLI: one process for a folder of queries vs one process per image')
    .option('--n <count>', 'Fashion-MNIST training images in the index', '1000')
    .option('--queries <count>', 'held-out test images searched in one CLI run', '200')
    .option('--k <k>', 'results per query', '10')
    .option('--kind <kinds>', 'index kinds to build and search, comma-separated (sealed, sei)', 'sealed')
    .option('--singles <count>', 'images searched one process each, for the comparison', '5')
    .option('--download', 'download, decrypt and write the results (default: ids only)', false)
    .option('--json', 'one JSON object per line', false)
    .action(async (options: CliBenchOptions) => {
      const reporter = new BenchReporter(options.json);
      await runOne(options, reporter);
      reporter.finish();
    });
}
