/**
 * SEI benchmark:
 *   npm run bench -- sei [--data clustered|fashion-mnist|fashion-cnn] [--n 60000] [--d 128]
 *                        [--layouts balanced,paper] [--probes 1,2,4,8] [--peer hnsw] [--json]
 *
 * For each (n, d): build the encrypted index tree of each layout (clustering, probe calibration
 * for --target-recall on held-out vectors, encryption), then time the cloud's search for
 * held-out queries with the index's calibrated defaults ("auto": the proximity graph's walk when
 * the build preferred it, else the tree's probes), the tree's calibrated probes, each --probes
 * override and each --graph-ef walk,
 * and, with --peer hnsw, plaintext HNSW (hnswlib-node, M = 16, efConstruction = 200) at each --ef
 * on the same vectors and queries. With --sealed, also the sealed index (one build per
 * quantisation, the library's defaults: its real leaves calibrated for --target-recall, L from
 * the 1 MiB budget): the client's whole work per query (leaf choice, AES-GCM opening of all L
 * leaves, exact ranking; the leaves are already in memory, so no network) is its searchUsP50. Every row has engine, setting, n, d, k, searchUsP50,
 * searchUsP99, recallAt10 (against exact plaintext kNN) and buildMs, plus the machine's load.
 *
 * Settings are timed interleaved in blocks of queries (--block), round after round, so a change
 * of load on the shared machine hits every setting alike and the ratios between rows hold even
 * when absolute times do not; each block starts with a few unmeasured searches, so no setting
 * pays for the caches the previous one left cold. A final "summary" row names the fastest setting of each engine
 * with recall@10 >= --summary-recall and their ratio.
 *
 * Data: clustered (seeded synthetic mixture, queries from the same distribution), fashion-mnist
 * (pixels, PCA to d fitted on the gallery, queries from the held-out end of the 70,000 images),
 * fashion-cnn (the evaluation's CNN features of the first n + queries images, from its cache, PCA to d;
 * the queries are the images right after the gallery).
 */
import type { Command } from 'commander';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../../lib/core/random';
import { row } from '../../lib/linalg/vectors';
import { exactNearest } from '../../lib/ml/exact-knn';
import { encryptKnnCbirIndex, generateKnnCbirKey, knnCbirSearch, knnCbirTrapdoor } from './baselines/knn-cbir';
import { generateOwnerSecret } from '../../lib/sei/owner-key';
import { generateUserSecret, issueUserKey } from '../../lib/sei/user-key';
import { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import { buildPlainTree, encryptPlainTree } from '../../lib/sei/index-tree/build';
import { searchIndexTree, searchIndexTreeExhaustive } from '../../lib/sei/index-tree/search';
import { buildSealedIndex, DEFAULT_LEAF_SIZE, sealIndex } from '../../lib/sealed/build';
import { generateIndexKey } from '../../lib/sealed/index-key';
import { partitionVectors } from '../../lib/sealed/partition';
import { QUANTISATIONS } from '../../lib/sealed/quantise';
import { SealedSearcher } from '../../lib/sealed/search';
import type { SealedQuantisation } from '../../lib/sealed/types';
import type { EncryptedIndexTree, IndexTreeLayout, SearchOptions } from '../../lib/sei/index-tree/types';
import type { Trapdoor } from '../../lib/sei/types';
import { loadDataset } from './datasets';
import type { Dataset, DatasetName } from './datasets';
import { BenchReporter, parseNumberList, peakRssMb, percentile, round, type BenchRow } from './report';
import { parseIndexName, parseOwnerId, parseVersionId } from '../../lib/core/ids';

interface SeiBenchOptions {
  n: string;
  d: string;
  k: string;
  probes: string;
  queries: string;
  data: DatasetName;
  layouts: string;
  leafSize?: string;
  graph: boolean;
  graphEf: string;
  graphDegree: string;
  compareKernels: boolean;
  maxLeafSize?: string;
  targetRecall: string;
  peer?: string;
  ef: string;
  sealed?: string;
  summaryRecall: string;
  block: string;
  seed: string;
  baseline: boolean;
  json: boolean;
}

/** One timed setting: answers query q (ids of the k results, best first). */
interface Setting {
  readonly row: BenchRow;
  /** Synchronous for the in-memory engines; the sealed client's AES-GCM (WebCrypto) is asynchronous. */
  readonly search: (q: number) => number[] | Promise<number[]>;
  /** Counters gathered while searching (added to the row). */
  readonly counters?: () => BenchRow;
}

function uptimeLoad(): number {
  return round(loadavg()[0], 2);
}

/** Unmeasured searches each setting makes before each of its blocks. */
const BLOCK_WARMUP = 5;

/**
 * Times every setting on every query. Queries go in blocks of `block`: each setting answers a
 * block in a row (a search service answers many queries of one index in a row, with its caches
 * warm), then the next setting answers the same block, round after round. A change of load on
 * the shared machine therefore hits every setting alike.
 */
async function timeInterleaved(settings: Setting[], queryCount: number, warmup: number, block: number): Promise<{ us: number[][]; results: number[][][] }> {
  for (const s of settings) for (let q = 0; q < Math.min(warmup, queryCount); q++) await s.search(q);
  const us = settings.map(() => [] as number[]);
  const results = settings.map(() => [] as number[][]);
  for (let first = 0; first < queryCount; first += block) {
    const end = Math.min(queryCount, first + block);
    for (const [i, s] of settings.entries()) {
      // A few unmeasured searches of other queries first: the previous setting (another
      // engine, other memory) left the caches cold, which would count against whichever
      // setting comes first after a switch of engine.
      for (let w = 1; w <= BLOCK_WARMUP; w++) {
        const answer = s.search((first - w + queryCount) % queryCount);
        if (answer instanceof Promise) await answer;
      }
      for (let q = first; q < end; q++) {
        const start = performance.now();
        const answer = s.search(q);
        // Awaited only when asynchronous, so the synchronous engines pay no microtask.
        const ids = answer instanceof Promise ? await answer : answer;
        us[i].push((performance.now() - start) * 1000);
        results[i].push(ids);
      }
    }
  }
  return { us, results };
}

function recallOf(results: number[][], truth: Uint32Array[]): number {
  let sum = 0;
  results.forEach((ids, q) => {
    const wanted = new Set(truth[q]);
    sum += ids.filter((id) => wanted.has(id)).length / truth[q].length;
  });
  return sum / results.length;
}

interface BuiltIndex {
  /** Layout, and the leaf size when several are built. */
  readonly name: string;
  readonly layout: IndexTreeLayout;
  readonly tree: EncryptedIndexTree;
  readonly buildMs: number;
  readonly encryptMs: number;
  readonly stats: Record<string, string | number | boolean | null>;
}

function buildIndex(
  layout: IndexTreeLayout,
  leafSize: number | undefined,
  dataset: Dataset,
  options: SeiBenchOptions,
  owner: ReturnType<typeof generateOwnerSecret>,
): BuiltIndex {
  const seed = Number(options.seed);
  const ids = Array.from({ length: dataset.gallery.n }, (_, i) => String(i));
  const started = performance.now();
  const plain = buildPlainTree(dataset.gallery, {
    layout,
    ...(leafSize === undefined ? {} : { leafSize }),
    ...(options.maxLeafSize === undefined ? {} : { maxLeafSize: Number(options.maxLeafSize) }),
    targetRecall: Number(options.targetRecall),
    graph: options.graph && layout === 'balanced' ? (options.graphDegree === 'auto' ? {} : { maxDegree: Number(options.graphDegree) }) : false,
    random: seededRandom(seed + 1),
    onProgress: options.json ? undefined : (stage, done, total) => process.stderr.write(`${layout} ${stage} ${done}/${total}   \r`),
  });
  const planMs = performance.now() - started;
  const encryptStarted = performance.now();
  const tree = encryptPlainTree(owner, plain, dataset.gallery, ids);
  const encryptMs = performance.now() - encryptStarted;
  const calibration = plain.stats.calibration;
  return {
    name: leafSize === undefined ? layout : `${layout}/${leafSize}`,
    layout,
    tree,
    buildMs: planMs + encryptMs,
    encryptMs,
    stats: {
      leaves: plain.stats.leafCount,
      topClusters: plain.stats.topLevelClusters,
      maxLeaf: plain.stats.maxLeafSize,
      depth: plain.stats.depth,
      clustering: plain.stats.clusteringSource,
      targetRecall: plain.search.targetRecall,
      calibratedRecall: calibration === undefined ? null : round(calibration.recall, 4),
      calibrationQueries: plain.search.calibrationQueries,
      reduced: tree.reduction !== undefined,
      graphEf: tree.graph?.search.ef ?? null,
      graphDegree: tree.graph?.graph.maxDegree ?? null,
      graphCalibratedRecall: tree.graph === undefined ? null : round(tree.graph.search.measuredRecall, 4),
      graphPreferred: tree.graph?.preferred ?? null,
      graphMeanDegree: tree.graph === undefined ? null : round(tree.graph.graph.degree.reduce((a, b) => a + b, 0) / tree.graph.graph.n, 1),
      buildPeakRssMb: peakRssMb(),
    },
  };
}

function seiSettings(built: BuiltIndex, trapdoors: Trapdoor[], k: number, probes: number[], graphEfs: number[], compareKernels: boolean): Setting[] {
  const { tree, name, layout } = built;
  const defaults = tree.search;
  const route = (p: number) => `${defaults.strategy}${defaults.strategy === 'beam' ? ` ${defaults.beam}` : ''} probes ${p}`;
  const graph = tree.graph;
  const walk = (ef: number) => `graph ef ${ef}`;
  // "auto" is what a search without settings does: the graph when the build preferred it.
  const autoLabel = graph?.preferred === true ? walk(graph.search.ef) : route(defaults.probes);
  const variants: Array<{ label: string; options: SearchOptions; index: EncryptedIndexTree }> = [
    { label: `${name} auto (${autoLabel})`, options: { k }, index: tree },
  ];
  if (graph?.preferred === true) variants.push({ label: `${name} tree auto (${route(defaults.probes)})`, options: { k, route: 'tree' }, index: tree });
  if (compareKernels && tree.reduction !== undefined) {
    variants.push({ label: `${name} tree auto, full-width scores`, options: { k, route: 'tree' }, index: { ...tree, reduction: undefined } });
  }
  for (const p of probes) {
    if (p !== defaults.probes) variants.push({ label: `${name} ${route(p)}`, options: { k, probes: p }, index: tree });
  }
  if (graph !== undefined) {
    if (!graph.preferred) variants.push({ label: `${name} graph auto (${walk(graph.search.ef)})`, options: { k, route: 'graph' }, index: tree });
    for (const ef of graphEfs) {
      if (ef !== graph.search.ef) variants.push({ label: `${name} ${walk(ef)}`, options: { k, route: 'graph', ef }, index: tree });
    }
  }
  return variants.map(({ label, options, index }) => {
    let scored = 0;
    let searches = 0;
    const graphRoute = options.route === 'graph' || (options.route === undefined && options.probes === undefined && graph?.preferred === true);
    const settings: BenchRow = graphRoute
      ? { route: 'graph', ef: options.ef ?? graph!.search.ef }
      : { route: 'tree', strategy: options.strategy ?? defaults.strategy, probes: options.probes ?? defaults.probes, beam: options.beam ?? defaults.beam };
    return {
      row: { engine: 'sei', setting: label, index: name, layout, ...settings, auto: options.probes === undefined && options.ef === undefined, reducedScores: index.reduction !== undefined },
      search: (q: number) => {
        const result = searchIndexTree(index, trapdoors[q], options);
        scored += result.stats.vectorsScored + result.stats.nodesScored;
        searches++;
        return result.hits.map((h) => Number(h.id));
      },
      counters: () => ({ scoredPerQuery: round(searches === 0 ? 0 : scored / searches, 0) }),
    };
  });
}

async function hnswSettings(dataset: Dataset, k: number, efs: number[]): Promise<{ settings: Setting[]; buildMs: number }> {
  // Loaded only when asked for: a native dev dependency used by this benchmark alone.
  const { default: hnswlib } = await import('hnswlib-node');
  const { gallery, queries } = dataset;
  const started = performance.now();
  const index = new hnswlib.HierarchicalNSW('l2', gallery.d);
  index.initIndex(gallery.n, 16, 200, 100);
  for (let i = 0; i < gallery.n; i++) index.addPoint(Array.from(row(gallery, i)), i);
  const buildMs = performance.now() - started;
  const points = Array.from({ length: queries.n }, (_, q) => Array.from(row(queries, q)));
  const settings = efs.map((ef) => ({
    row: { engine: 'hnsw', setting: `hnsw ef ${ef}`, ef, M: 16, efConstruction: 200 },
    search: (q: number) => {
      index.setEf(ef);
      const result = index.searchKnn(points[q], k);
      // hnswlib returns nearest first.
      return result.neighbors;
    },
  }));
  return { settings, buildMs };
}

function parseQuantisations(value: string): SealedQuantisation[] {
  const list = value.split(',').map((s) => s.trim()) as SealedQuantisation[];
  for (const q of list) if (!QUANTISATIONS.includes(q)) throw new Error(`unknown quantisation "${q}": use ${QUANTISATIONS.join(', ')}`);
  return list;
}

/** The sealed index over the same gallery, one build per quantisation on one partition. */
async function sealedSettings(dataset: Dataset, k: number, quantisations: SealedQuantisation[], options: SeiBenchOptions): Promise<Setting[]> {
  const seed = Number(options.seed);
  const { gallery, queries } = dataset;
  const ids = Array.from({ length: gallery.n }, (_, i) => String(i));
  // Any valid ids: sealing binds them, the bench never publishes.
  const binding = { ownerId: parseOwnerId('b'.repeat(52)), indexName: parseIndexName('bench'), version: parseVersionId('v1') };
  const key = generateIndexKey();
  let started = performance.now();
  const partition = partitionVectors(gallery, { leafSize: DEFAULT_LEAF_SIZE, random: seededRandom(seed + 1) });
  const partitionMs = performance.now() - started;
  const settings: Setting[] = [];
  for (const quantisation of quantisations) {
    started = performance.now();
    const build = buildSealedIndex(gallery, ids, { partition, quantisation, targetRecall: Number(options.targetRecall), random: seededRandom(seed + 2) });
    const buildMs = partitionMs + performance.now() - started;
    const parts = await sealIndex(build, key, binding);
    const searcher = await SealedSearcher.open(key, binding, parts.routing);
    const { leafBytes } = searcher.routing.layout;
    const fetch = async (leaves: readonly number[]) => new Map(leaves.map((leaf) => [leaf, parts.leaves.subarray(leaf * leafBytes, (leaf + 1) * leafBytes)]));
    let bytes = 0;
    let searches = 0;
    settings.push({
      row: {
        engine: 'sealed',
        setting: `sealed ${quantisation}, auto (R ${build.realLeaves} of L ${build.leavesPerQuery})`,
        quantisation,
        leaves: build.leafCount,
        leavesPerQuery: build.leavesPerQuery,
        realLeaves: build.realLeaves,
        recallEstimate: round(build.recallEstimate, 4),
        routingBytes: parts.routing.length,
        sealedBuildMs: round(buildMs, 0),
      },
      search: async (q: number) => {
        const result = await searcher.search(row(queries, q), { k }, fetch);
        bytes += result.stats.bytes;
        searches++;
        return result.hits.map((hit) => Number(hit.imageId));
      },
      counters: () => ({ bytesPerQuery: Math.round(searches === 0 ? 0 : bytes / searches) }),
    });
  }
  return settings;
}

async function runOne(n: number, d: number, options: SeiBenchOptions, reporter: BenchReporter): Promise<void> {
  const k = Number(options.k);
  const queryCount = Number(options.queries);
  const seed = Number(options.seed);
  const dataset = await loadDataset(options.data, n, d, queryCount, seed);
  const dims = dataset.gallery.d;
  const truth = exactNearest(dataset.gallery, dataset.queries, k);

  const owner = generateOwnerSecret(dims);
  const userSecret = generateUserSecret(dims);
  const generator = new TrapdoorGenerator(issueUserKey(owner, userSecret.W), userSecret);
  const trapdoorUs: number[] = [];
  const trapdoors = Array.from({ length: queryCount }, (_, q) => {
    const start = performance.now();
    const t = generator.trapdoor(row(dataset.queries, q));
    trapdoorUs.push((performance.now() - start) * 1000);
    return t;
  });

  const layouts = options.layouts.split(',').map((s) => s.trim()) as IndexTreeLayout[];
  const leafSizes = options.leafSize === undefined ? [undefined] : parseNumberList(options.leafSize);
  const built = layouts.flatMap((layout) =>
    (layout === 'balanced' ? leafSizes : [undefined]).map((leafSize) => buildIndex(layout, leafSize, dataset, options, owner)),
  );
  const settings: Setting[] = built.flatMap((b) => seiSettings(b, trapdoors, k, parseNumberList(options.probes), parseNumberList(options.graphEf), options.compareKernels));
  let hnswBuildMs = 0;
  if (options.peer !== undefined) {
    if (options.peer !== 'hnsw') throw new Error(`unknown peer "${options.peer}" (known: hnsw)`);
    const peer = await hnswSettings(dataset, k, parseNumberList(options.ef));
    settings.push(...peer.settings);
    hnswBuildMs = peer.buildMs;
  }
  if (options.sealed !== undefined) settings.push(...(await sealedSettings(dataset, k, parseQuantisations(options.sealed), options)));

  // Reference costs: the encrypted linear scan, and the paper's kNN-CBIR baseline.
  const linearUs: number[] = [];
  for (let q = 0; q < Math.min(queryCount, 50); q++) {
    const start = performance.now();
    searchIndexTreeExhaustive(built[0].tree, trapdoors[q], k);
    linearUs.push((performance.now() - start) * 1000);
  }
  let baselineUsP50: number | null = null;
  if (options.baseline) {
    const key = generateKnnCbirKey(dims);
    const encrypted = encryptKnnCbirIndex(key, dataset.gallery);
    const baseline = Array.from({ length: Math.min(queryCount, 50) }, (_, q) => knnCbirTrapdoor(key, row(dataset.queries, q)));
    baselineUsP50 = round(percentile(baseline.map((t) => {
      const start = performance.now();
      knnCbirSearch(encrypted, t, k);
      return (performance.now() - start) * 1000;
    }), 50), 1);
  }

  const loadBefore = uptimeLoad();
  const { us, results } = await timeInterleaved(settings, queryCount, 50, Number(options.block));
  const load = `${loadBefore}-${uptimeLoad()}`;
  const rows = settings.map((s, i) => {
    const b = s.row.engine === 'sei' ? built.find((x) => x.name === s.row.index)! : undefined;
    return {
      engine: s.row.engine,
      setting: s.row.setting,
      data: options.data,
      n,
      d: dims,
      k,
      searchUsP50: round(percentile(us[i], 50), 1),
      searchUsP99: round(percentile(us[i], 99), 1),
      recallAt10: round(recallOf(results[i], truth), 4),
      buildMs: round(b !== undefined ? b.buildMs : s.row.engine === 'sealed' ? Number(s.row.sealedBuildMs) : hnswBuildMs, 0),
      ...s.row,
      ...(s.counters?.() ?? {}),
      ...(b === undefined ? {} : { encryptMs: round(b.encryptMs, 0), ...b.stats }),
      ...(s.row.engine === 'sei' ? { trapdoorUsP50: round(percentile(trapdoorUs, 50), 1), seiLinearUsP50: round(percentile(linearUs, 50), 1), linearSearchUsP50: baselineUsP50 } : {}),
      queries: queryCount,
      loadAvg: load,
      peakRssMb: peakRssMb(),
    } satisfies BenchRow;
  });
  for (const r of rows) reporter.add(r);

  const threshold = Number(options.summaryRecall);
  const fastest = (engine: string) =>
    rows.filter((r) => r.engine === engine && r.recallAt10 >= threshold).sort((a, b) => a.searchUsP50 - b.searchUsP50)[0];
  const sei = fastest('sei');
  const peer = fastest('hnsw');
  const sealed = fastest('sealed');
  reporter.add({
    engine: 'summary',
    data: options.data,
    n,
    d: dims,
    recallAtLeast: threshold,
    seiSetting: sei?.setting ?? null,
    seiUsP50: sei?.searchUsP50 ?? null,
    seiRecallAt10: sei?.recallAt10 ?? null,
    hnswSetting: peer?.setting ?? null,
    hnswUsP50: peer?.searchUsP50 ?? null,
    hnswRecallAt10: peer?.recallAt10 ?? null,
    ratio: sei !== undefined && peer !== undefined ? round(sei.searchUsP50 / peer.searchUsP50, 2) : null,
    ...(options.sealed === undefined
      ? {}
      : { sealedSetting: sealed?.setting ?? null, sealedUsP50: sealed?.searchUsP50 ?? null, sealedRecallAt10: sealed?.recallAt10 ?? null }),
    loadAvg: load,
  });
}

export function register(program: Command): void {
  program
    .command('sei')
    .description('SEI index tree: build, calibrated and overridden search cost and recall, optionally against plaintext HNSW')
    .option('--n <list>', 'gallery sizes (comma list)', '4000')
    .option('--d <list>', 'feature dimensions (comma list)', '128')
    .option('--k <k>', 'results per query', '10')
    .option('--data <kind>', 'clustered (synthetic, seeded), fashion-mnist (pixels + PCA) or fashion-cnn (cached CNN features + PCA)', 'clustered')
    .option('--layouts <list>', 'index layouts to build: balanced, paper (comma list)', 'balanced')
    .option('--probes <list>', 'probe counts to time besides the calibrated default (comma list)', '1,2,4,8,16')
    .option('--target-recall <r>', 'recall@10 the build calibrates its default probes for', '0.95')
    .option('--leaf-size <list>', 'balanced layout: mean images per leaf, one index per value (default: the library default)')
    .option('--no-graph', 'build the balanced indexes without a proximity graph')
    .option('--graph-degree <r>', 'largest number of links per image in the graph, or auto (24, or 32 where the build finds it cheaper)', 'auto')
    .option('--graph-ef <list>', 'graph walks to time besides the calibrated ef (comma list)', '10,16,24,32,48,64')
    .option('--compare-kernels', 'also time the calibrated setting with full-width (unreduced) scores', false)
    .option('--max-leaf-size <size>', 'largest leaf before K-means splits it (default: the layout default)')
    .option('--peer <engine>', 'also time a plaintext peer on the same data: hnsw')
    .option('--ef <list>', 'HNSW ef values (comma list)', '10,12,14,16,20,24,32,48,64,96,128')
    .option('--sealed <list>', `also the sealed index, one build per quantisation (comma list of ${QUANTISATIONS.join(', ')})`)
    .option('--summary-recall <r>', 'the summary row compares the fastest settings with at least this recall@10', '0.95')
    .option('--queries <count>', 'held-out queries per configuration', '500')
    .option('--block <count>', 'queries each setting answers in a row before the next setting takes over', '25')
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
