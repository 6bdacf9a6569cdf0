/**
 * Sealed index benchmark: `npm run bench -- sealed --data fashion-mnist --n 60000 --d 128 [--json]`.
 *
 * For each (n, d): partition the gallery once, then per setting (quantisation x leaf size x real
 * leaves) build the sealed index, seal it under a fresh index key, and search held-out queries
 * as a client does with the routing data cached: choose L leaves (real among uniform decoys),
 * take exactly those leaves' stored bytes, authenticate all of them, decode the real ones, rank
 * exactly, keep the top k. recall@k is against exact plaintext kNN over the gallery (float64).
 *
 * `clientMsP50` is that client work per query (leaf choice + decryption + ranking); fetching is
 * a zero-copy slice here, so network time is not in it (`bench api --kind sealed` has that).
 * `bytesPerQuery` is what one query downloads (L stored leaves), `routingBytes` the sealed
 * routing part (downloaded once per version), `buildMs` the owner's build (partition, encoding,
 * calibration of R), `sealMs` the AES-GCM sealing of every part.
 */
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { SmallestK } from '../../lib/core/heaps';
import { seededRandom } from '../../lib/core/random';
import { row, squaredDistanceAt } from '../../lib/linalg/vectors';
import type { VectorSet } from '../../lib/linalg/vectors';
import { buildSealedIndex, sealIndex, DEFAULT_BYTES_PER_QUERY, DEFAULT_LEAF_SIZE, DEFAULT_TARGET_RECALL } from '../../lib/sealed/build';
import { generateIndexKey } from '../../lib/sealed/index-key';
import { partitionVectors } from '../../lib/sealed/partition';
import { QUANTISATIONS } from '../../lib/sealed/quantise';
import { SealedSearcher } from '../../lib/sealed/search';
import type { SealedQuantisation } from '../../lib/sealed/types';
import { loadDataset } from './datasets';
import type { DatasetName } from './datasets';
import { BenchReporter, parseNumberList, peakRssMb, percentile, round } from './report';
import { parseIndexName, parseOwnerId, parseVersionId } from '../../lib/core/ids';

interface SealedBenchOptions {
  n: string;
  d: string;
  k: string;
  queries: string;
  data: DatasetName;
  quantisation: string;
  leafSize: string;
  realLeaves?: string;
  targetRecall: string;
  bytesPerQuery: string;
  calibrationQueries?: string;
  balance: boolean;
  seed: string;
  json: boolean;
}

/** What the benchmark's leaves are sealed for (any valid ids: sealing binds them, the bench never publishes). */
const BINDING = { ownerId: parseOwnerId('b'.repeat(52)), indexName: parseIndexName('bench'), version: parseVersionId('v1') };

function exactNeighbours(gallery: VectorSet, queries: VectorSet, k: number): Set<number>[] {
  const { d } = gallery;
  const out: Set<number>[] = [];
  for (let q = 0; q < queries.n; q++) {
    const best = new SmallestK(k);
    for (let i = 0; i < gallery.n; i++) {
      const distance = squaredDistanceAt(queries.data, q * d, gallery.data, i * d, d);
      if (distance < best.threshold) best.offer(distance, i);
    }
    out.push(new Set(best.sorted().map((entry) => entry.value)));
  }
  return out;
}

function parseQuantisations(value: string): SealedQuantisation[] {
  const list = value.split(',').map((s) => s.trim()) as SealedQuantisation[];
  for (const q of list) if (!QUANTISATIONS.includes(q)) throw new Error(`unknown quantisation "${q}": use ${QUANTISATIONS.join(', ')}`);
  return list;
}

async function runOne(n: number, d: number, options: SealedBenchOptions, reporter: BenchReporter): Promise<void> {
  const k = Number(options.k);
  const seed = Number(options.seed);
  const dataset = await loadDataset(options.data, n, d, Number(options.queries), seed);
  const ids = Array.from({ length: n }, (_, i) => `img-${i}`);
  const idIndex = new Map(ids.map((id, i) => [id, i]));
  const truth = exactNeighbours(dataset.gallery, dataset.queries, k);
  const key = generateIndexKey();

  for (const leafSize of parseNumberList(options.leafSize)) {
    let started = performance.now();
    const partition = partitionVectors(dataset.gallery, { leafSize, random: seededRandom(seed + 1), balance: options.balance });
    const partitionMs = performance.now() - started;
    for (const quantisation of parseQuantisations(options.quantisation)) {
      const realLeavesList = options.realLeaves === undefined ? [undefined] : parseNumberList(options.realLeaves);
      for (const realLeaves of realLeavesList) {
        started = performance.now();
        const build = buildSealedIndex(dataset.gallery, ids, {
          partition,
          quantisation,
          realLeaves,
          targetRecall: Number(options.targetRecall),
          bytesPerQuery: Number(options.bytesPerQuery),
          calibrationQueries: options.calibrationQueries === undefined ? undefined : Number(options.calibrationQueries),
          random: seededRandom(seed + 2),
        });
        const buildMs = partitionMs + performance.now() - started;
        started = performance.now();
        const parts = await sealIndex(build, key, BINDING);
        const sealMs = performance.now() - started;
        const searcher = await SealedSearcher.open(key, BINDING, parts.routing);
        const { leafBytes } = searcher.routing.layout;
        const fetch = async (leaves: readonly number[]) => new Map(leaves.map((leaf) => [leaf, parts.leaves.subarray(leaf * leafBytes, (leaf + 1) * leafBytes)]));

        for (let i = 0; i < Math.min(20, dataset.queries.n); i++) await searcher.search(row(dataset.queries, i), { k }, fetch);
        const clientMs: number[] = [];
        let recall = 0;
        let bytes = 0;
        for (let q = 0; q < dataset.queries.n; q++) {
          const result = await searcher.search(row(dataset.queries, q), { k }, fetch);
          clientMs.push(result.stats.clientMs);
          bytes += result.stats.bytes;
          recall += result.hits.filter((hit) => truth[q].has(idIndex.get(hit.imageId)!)).length / truth[q].size;
        }
        reporter.add({
          engine: 'sealed',
          data: options.data,
          n,
          d,
          k,
          quantisation,
          leafSize,
          leaves: build.leafCount,
          leafCapacity: build.leafCapacity,
          meanFill: round(build.stats.meanFill, 3),
          leavesPerQuery: build.leavesPerQuery,
          realLeaves: build.realLeaves,
          recallEstimate: round(build.recallEstimate, 4),
          [`recallAt${k}`]: round(recall / dataset.queries.n, 4),
          clientMsP50: round(percentile(clientMs, 50), 3),
          clientMsP99: round(percentile(clientMs, 99), 3),
          bytesPerQuery: Math.round(bytes / dataset.queries.n),
          leafBytes,
          routingBytes: parts.routing.length,
          storedBytes: parts.routing.length + parts.leaves.length,
          buildMs: round(buildMs, 0),
          sealMs: round(sealMs, 0),
          partition: build.stats.partition,
          peakRssMb: peakRssMb(),
        });
      }
    }
  }
}

export function register(program: Command): void {
  program
    .command('sealed')
    .description('sealed index: client-side search cost, bytes per query and recall against exact plaintext kNN')
    .option('--n <list>', 'gallery sizes (comma list)', '4000')
    .option('--d <list>', 'feature dimensions (comma list)', '128')
    .option('--k <k>', 'results per query', '10')
    .option('--queries <count>', 'held-out queries per configuration', '300')
    .option('--data <kind>', 'clustered (synthetic, seeded), fashion-mnist (pixels + PCA) or fashion-cnn (cached CNN features + PCA)', 'clustered')
    .option('--quantisation <list>', `how leaves store vectors (comma list of ${QUANTISATIONS.join(', ')})`, QUANTISATIONS.join(','))
    .option('--leaf-size <list>', 'most images per leaf (comma list)', String(DEFAULT_LEAF_SIZE))
    .option('--real-leaves <list>', 'real leaves per query (comma list; default: measured by the build for --target-recall)')
    .option('--target-recall <r>', 'recall@10 the build calibrates the real leaves for', String(DEFAULT_TARGET_RECALL))
    .option('--bytes-per-query <bytes>', 'stored bytes a query may download (sets L, the leaves per query)', String(DEFAULT_BYTES_PER_QUERY))
    .option('--calibration-queries <count>', "owner's sample of its own vectors used to calibrate (default: the build's)")
    .option('--no-balance', 'keep the CAK-means leaves as they are (no balancing to one capacity)')
    .option('--seed <seed>', 'seed of the synthetic data and of clustering', '1')
    .option('--json', 'one JSON object per setting per line', false)
    .action(async (options: SealedBenchOptions) => {
      const reporter = new BenchReporter(options.json);
      for (const n of parseNumberList(options.n)) {
        for (const d of parseNumberList(options.d)) await runOne(n, d, options, reporter);
      }
      reporter.finish();
    });
}
