/**
 * SEI benchmark: `npm run bench -- sei --n 4000 --d 128 [--probes 1,2,4] [--data clustered|fashion-mnist] [--json]`.
 * For each (n, d): build the index tree (CAK-means + hierarchy), encrypt it, time trapdoors and
 * tree searches for held-out queries, and compare with exact ranking on the same encrypted
 * data (recall@k) and with the paper's kNN-CBIR linear-scan baseline.
 */
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../../lib/core/random';
import { row } from '../../lib/linalg/vectors';
import { encryptKnnCbirIndex, generateKnnCbirKey, knnCbirSearch, knnCbirTrapdoor } from '../../lib/sei/knn-cbir';
import { generateOwnerSecret } from '../../lib/sei/owner-key';
import { generateUserSecret, issueUserKey } from '../../lib/sei/user-key';
import { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import { buildPlainTree, encryptPlainTree } from '../../lib/sei/index-tree/build';
import { searchIndexTree, searchIndexTreeExhaustive } from '../../lib/sei/index-tree/search';
import { loadDataset } from './datasets';
import type { DatasetName } from './datasets';
import { BenchReporter, parseNumberList, peakRssMb, percentile, round } from './report';

interface SeiBenchOptions {
  n: string;
  d: string;
  k: string;
  probes: string;
  queries: string;
  data: DatasetName;
  maxLeafSize: string;
  seed: string;
  baseline: boolean;
  json: boolean;
}

function nowUs(start: number): number {
  return (performance.now() - start) * 1000;
}

async function runOne(
  n: number,
  d: number,
  options: SeiBenchOptions,
  reporter: BenchReporter,
): Promise<void> {
  const k = Number(options.k);
  const queryCount = Number(options.queries);
  const seed = Number(options.seed);
  const dataset = loadDataset(options.data, n, d, queryCount, seed);
  const ids = Array.from({ length: n }, (_, i) => `img-${i}`);

  const owner = generateOwnerSecret(d);
  const userSecret = generateUserSecret(d);
  const generator = new TrapdoorGenerator(issueUserKey(owner, userSecret.W), userSecret);

  const buildStart = performance.now();
  const plain = buildPlainTree(dataset.gallery, {
    maxLeafSize: Number(options.maxLeafSize),
    random: seededRandom(seed + 1),
  });
  const buildMs = performance.now() - buildStart;
  const encryptStart = performance.now();
  const tree = encryptPlainTree(owner, plain, dataset.gallery, ids);
  const encryptMs = performance.now() - encryptStart;
  const buildPeakRssMb = peakRssMb();

  // Trapdoors (warm up the JIT first).
  for (let i = 0; i < Math.min(50, queryCount); i++) generator.trapdoor(row(dataset.queries, i));
  const trapdoorUs: number[] = [];
  const trapdoors = [];
  for (let i = 0; i < queryCount; i++) {
    const start = performance.now();
    trapdoors.push(generator.trapdoor(row(dataset.queries, i)));
    trapdoorUs.push(nowUs(start));
  }

  // Exact reference on the same encrypted data, and its cost (a linear scan of SEI vectors).
  const exactUs: number[] = [];
  const exact = trapdoors.map((t) => {
    const start = performance.now();
    const result = searchIndexTreeExhaustive(tree, t, k);
    exactUs.push(nowUs(start));
    return new Set(result.hits.map((h) => h.id));
  });

  // The paper's kNN-CBIR baseline: ASPE encryption and a linear scan.
  let linearSearchUsP50: number | null = null;
  if (options.baseline) {
    const key = generateKnnCbirKey(d);
    const encrypted = encryptKnnCbirIndex(key, dataset.gallery);
    const baselineTrapdoors = Array.from({ length: queryCount }, (_, i) => knnCbirTrapdoor(key, row(dataset.queries, i)));
    for (let i = 0; i < Math.min(5, queryCount); i++) knnCbirSearch(encrypted, baselineTrapdoors[i], k);
    const linearUs = baselineTrapdoors.map((t) => {
      const start = performance.now();
      knnCbirSearch(encrypted, t, k);
      return nowUs(start);
    });
    linearSearchUsP50 = round(percentile(linearUs, 50), 1);
  }

  for (const probes of parseNumberList(options.probes)) {
    for (let i = 0; i < Math.min(50, queryCount); i++) searchIndexTree(tree, trapdoors[i], { k, probes });
    const searchUs: number[] = [];
    let recallSum = 0;
    let scored = 0;
    trapdoors.forEach((t, i) => {
      const start = performance.now();
      const result = searchIndexTree(tree, t, { k, probes });
      searchUs.push(nowUs(start));
      scored += result.stats.vectorsScored;
      recallSum += result.hits.filter((h) => exact[i].has(h.id)).length / exact[i].size;
    });
    const searchUsP50 = percentile(searchUs, 50);
    reporter.add({
      engine: 'sei',
      data: options.data,
      n,
      d,
      k,
      probes,
      leaves: plain.stats.leafCount,
      depth: plain.stats.depth,
      clustering: plain.stats.clusteringSource,
      topClusters: plain.stats.topLevelClusters,
      buildMs: round(buildMs, 0),
      encryptMs: round(encryptMs, 0),
      trapdoorUsP50: round(percentile(trapdoorUs, 50), 2),
      searchUsP50: round(searchUsP50, 1),
      searchUsP99: round(percentile(searchUs, 99), 1),
      linearSearchUsP50,
      seiLinearUsP50: round(percentile(exactUs, 50), 1),
      speedupVsLinear: linearSearchUsP50 === null ? null : round(linearSearchUsP50 / searchUsP50, 1),
      scoredFraction: round(scored / trapdoors.length / n, 4),
      [`recallAt${k}`]: round(recallSum / trapdoors.length, 4),
      buildPeakRssMb,
      peakRssMb: peakRssMb(),
    });
  }
}

export function register(program: Command): void {
  program
    .command('sei')
    .description('SEI index tree: build, trapdoor and search cost, recall against exact encrypted ranking')
    .option('--n <list>', 'gallery sizes (comma list)', '4000')
    .option('--d <list>', 'feature dimensions (comma list)', '128')
    .option('--k <k>', 'results per query', '10')
    .option('--probes <list>', 'leaves ranked per search (comma list)', '1,2,4,8')
    .option('--queries <count>', 'held-out queries per configuration', '500')
    .option('--data <kind>', 'clustered (synthetic, seeded) or fashion-mnist (pixels + PCA)', 'clustered')
    .option('--max-leaf-size <size>', 'largest leaf before K-means splits it', '128')
    .option('--seed <seed>', 'seed of the synthetic data and of clustering', '1')
    .option('--no-baseline', 'skip the kNN-CBIR linear-scan baseline')
    .option('--json', 'one JSON object per configuration per line', false)
    .action(async (options: SeiBenchOptions) => {
      const reporter = new BenchReporter(options.json);
      for (const n of parseNumberList(options.n)) {
        for (const d of parseNumberList(options.d)) await runOne(n, d, options, reporter);
      }
      reporter.finish();
    });
}
