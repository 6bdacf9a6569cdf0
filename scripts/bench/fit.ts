/**
 * Two-server identification benchmark (iDistance + learned segments + HE, sharded):
 *   npm run bench -- fit --he bfv --n 20000 --d 512 [--partitions auto] [--eps 16] [--workers 1] [--json]
 *   npm run bench -- fit --n 1000000 --d 128 --he bfv --workers 32 --json
 *   npm run bench -- fit --data fashion-mnist --n 4000,20000 --d 128 --k 1,10,40 --json
 * For each configuration: build the index (K-means, keys, segments, shards), encrypt it, then
 * run queries and check every result against brute force (`exact`):
 * - range queries (default): tau^2 = the query's --matches-th smallest plaintext squared distance;
 * - k-nearest (--k list): the k nearest, one row per k.
 * Data: seeded synthetic vectors (queries: templates plus noise), or Fashion-MNIST CNN features
 * as the eval caches them (PCA to d fitted on the gallery, unit rows, x 10^3; queries: images
 * after the gallery, never indexed).
 *
 * Workers. The templates are split into about --workers shards (ceil(n / workers) templates
 * each); the coordinator runs each query's shard tasks in this process, one after another, and
 * times each alone, as when every shard has its own Lambda:
 * - identifyMsP50: wall time here (coordinator + all workers + CS2, on one thread);
 * - criticalPathMsP50: coordinator + per round the slowest worker + CS2 (what a query takes
 *   with one execution environment per worker; a stage above the inline limit goes to CS2 in
 *   parallel parts, counted as the slowest part), with its parts coordinatorMsP50,
 *   slowestWorkersMsP50 and cs2MsP50;
 * - cpuMsPerQuery: CPU time of all roles together (process CPU over the query).
 *
 * Segment counts only (no HE), for a million keys:
 *   npm run bench -- fit --keys 1000000 --d 512 --partitions 64 --eps 4,16,64 [--json]
 */
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { unitRows } from '../../lib/client/features';
import { seededRandom } from '../../lib/core/random';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { createFeatureExtractor } from '../../lib/features/extractor';
import { fashionMnistFeatures } from '../../lib/features/fashion-mnist-features';
import { createHeBackend, isHeBackendName, loadHeEvaluator, SHE_WARNING } from '../../lib/he';
import type { HeBackendName, HeParametersFor } from '../../lib/he/types';
import type { VectorSet } from '../../lib/linalg/vectors';
import { row } from '../../lib/linalg/vectors';
import { assignToNearest, kMeans } from '../../lib/ml/kmeans';
import { fitPca, transformPca } from '../../lib/ml/pca';
import { iDistanceKey, partitionOffsets } from '../../lib/twoserver/idistance';
import { candidateRanges, searchRanges } from '../../lib/twoserver/idistance-query';
import { allSquaredDistances } from './baselines/plain-search';
import {
  buildPlainIndex,
  Cs1Server,
  Cs2Server,
  defaultPartitionCount,
  encryptIndex,
  IdentificationClient,
  InProcessCs2Transport,
  LocalShardWorkers,
  MemoryRecordStore,
} from '../../lib/twoserver/protocol';
import type { BlindingMode, Cs2Transport, QueryHandle, ShardTask, ShardTaskResult, ShardWorkers } from '../../lib/twoserver/protocol';
import { quantizeVectors } from '../../lib/twoserver/quantize';
import { INLINE_BATCH_MAX_BYTES } from '../../lib/twoserver/transport/decrypt-event';
import { buildSegmentIndex, segmentCount } from '../../lib/twoserver/segments';
import type { SegmentationMethod } from '../../lib/twoserver/segments';
import { positionsOfRecord, recordsOfRanges, shardLayout } from '../../lib/twoserver/shards';
import { noisyProbes, SYNTHETIC_KINDS, SyntheticStream, syntheticTemplates } from './synthetic/templates';
import type { SyntheticKind } from './synthetic/templates';
import { BenchReporter, parseNumberList, peakRssMb, percentile, round } from './report';

type DataKind = SyntheticKind | 'fashion-mnist';
const DATA_KINDS: readonly DataKind[] = [...SYNTHETIC_KINDS, 'fashion-mnist'];

interface FitBenchOptions {
  he: string;
  n: string;
  d: string;
  partitions: string;
  eps: string;
  workers: string;
  method: SegmentationMethod;
  data: DataKind;
  queries: string;
  matches: string;
  k?: string;
  noise: string;
  blinding: BlindingMode;
  seed: string;
  k0: string;
  k1: string;
  k2: string;
  aBits?: string;
  bBits?: string;
  poly: string;
  sample?: string;
  keys?: string;
  keySample: string;
  json: boolean;
}

/** Quantized unit-length or (-1, 1) embeddings lie in [-1000, 1000]. */
const MAX_ABS = 1000;

function heParameters(name: HeBackendName, d: number, options: FitBenchOptions): HeParametersFor<HeBackendName> {
  // Blinding bits: the backends' defaults hide the most the plaintext space allows.
  const blinding = {
    ...(options.aBits !== undefined ? { aBits: Number(options.aBits) } : {}),
    ...(options.bBits !== undefined ? { bBits: Number(options.bBits) } : {}),
  };
  if (name === 'she') {
    // Paper: (k0, k1, k2) = (1024, 30, 80).
    return { d, maxAbs: MAX_ABS, k0: Number(options.k0), k1: Number(options.k1), k2: Number(options.k2), ...blinding };
  }
  return { d, maxAbs: MAX_ABS, polyModulusDegree: Number(options.poly), ...blinding };
}

interface BenchData {
  readonly templates: VectorSet;
  readonly probes: VectorSet;
}

/** The first n Fashion-MNIST images as the gallery, the next `queries` as queries (cached CNN features). */
async function fashionMnistData(n: number, d: number, queries: number): Promise<BenchData> {
  const data = loadFashionMnist();
  const extractor = await createFeatureExtractor();
  try {
    const all = await fashionMnistFeatures({ extractor, n: n + queries, data });
    const width = all.vectors.d;
    const gallery = { n, d: width, data: all.vectors.data.subarray(0, n * width) };
    const asked = { n: queries, d: width, data: all.vectors.data.subarray(n * width, (n + queries) * width) };
    const pca = fitPca(gallery, Math.min(d, width, n - 1), { sampleSize: 20_000, random: seededRandom(7) });
    return { templates: quantizeVectors(unitRows(transformPca(pca, gallery))), probes: quantizeVectors(unitRows(transformPca(pca, asked))) };
  } finally {
    extractor.dispose();
  }
}

async function benchData(n: number, d: number, options: FitBenchOptions): Promise<BenchData> {
  const seed = Number(options.seed);
  const queries = Number(options.queries);
  if (options.data === 'fashion-mnist') return fashionMnistData(n, d, queries);
  const templates = syntheticTemplates(n, d, { kind: options.data, seed });
  return { templates, probes: noisyProbes(templates, queries, Number(options.noise), seededRandom(seed + 1)) };
}

/**
 * Times every worker task alone (tasks run one after another here) and every CS2 call; the
 * parts of one stage are timed alone too and count as their slowest (each its own CS2
 * invocation in AWS). Parts are cut as the network transports cut them (the inline limit).
 */
class Timing implements ShardWorkers, Cs2Transport {
  taskMs: number[][] = [];
  /** CS2 time on the critical path (a stage's slowest part), and all of it (here, one after another). */
  cs2Ms = 0;
  cs2SerialMs = 0;
  readonly partBytes = INLINE_BATCH_MAX_BYTES;

  constructor(
    private readonly workers: ShardWorkers,
    private readonly cs2: Cs2Transport,
  ) {}

  async decryptParts(parts: readonly Uint8Array[]): Promise<bigint[][]> {
    const answers: bigint[][] = [];
    let slowest = 0;
    for (const part of parts) {
      const start = performance.now();
      answers.push(await this.cs2.decryptBatch(part));
      const ms = performance.now() - start;
      slowest = Math.max(slowest, ms);
      this.cs2SerialMs += ms;
    }
    this.cs2Ms += slowest;
    return answers;
  }

  async evaluate(query: QueryHandle, tasks: readonly ShardTask[], mode: BlindingMode): Promise<ShardTaskResult[]> {
    const times: number[] = [];
    const out: ShardTaskResult[] = [];
    for (const task of tasks) {
      const start = performance.now();
      out.push(...(await this.workers.evaluate(query, [task], mode)));
      times.push(performance.now() - start);
    }
    this.taskMs.push(times);
    return out;
  }

  async decryptBatch(batch: Uint8Array): Promise<bigint[]> {
    const start = performance.now();
    try {
      return await this.cs2.decryptBatch(batch);
    } finally {
      const ms = performance.now() - start;
      this.cs2Ms += ms;
      this.cs2SerialMs += ms;
    }
  }

  reset(): void {
    this.taskMs = [];
    this.cs2Ms = 0;
    this.cs2SerialMs = 0;
  }
}

function sameMatches(got: readonly { id: string; dist2: number }[], expected: readonly { index: number; dist2: number }[]): boolean {
  if (got.length !== expected.length) return false;
  return got.every((m, i) => m.dist2 === expected[i].dist2 && m.id === String(expected[i].index));
}

/** Exact answer by brute force, ordered as the protocol orders (dist2, then id as a string). */
function bruteForce(templates: VectorSet, query: ArrayLike<number>): Array<{ index: number; dist2: number }> {
  return Array.from(allSquaredDistances(templates, query), (dist2, index) => ({ index, dist2 })).sort(
    (a, b) => a.dist2 - b.dist2 || (String(a.index) < String(b.index) ? -1 : 1),
  );
}

interface Mode {
  readonly name: 'range' | 'nearest';
  readonly k?: number;
}

async function runOne(he: HeBackendName, n: number, d: number, partitionsOption: string, eps: number, workerCount: number, options: FitBenchOptions, reporter: BenchReporter): Promise<void> {
  const seed = Number(options.seed);
  const queryCount = Number(options.queries);
  const { templates, probes } = await benchData(n, d, options);
  const partitions = partitionsOption === 'auto' ? defaultPartitionCount(n) : Number(partitionsOption);
  const sample = options.sample !== undefined ? Number(options.sample) : n > 50_000 ? 20_000 : undefined;

  const buildStart = performance.now();
  const plain = buildPlainIndex(templates, { partitions, eps, method: options.method, random: seededRandom(seed + 2), sampleSize: sample });
  const buildMs = performance.now() - buildStart;

  const keygenStart = performance.now();
  // The benchmark only ever encrypts its own synthetic templates: she is measured for comparison.
  if (he === 'she') process.stderr.write(`warning: bench fit --he she: ${SHE_WARNING}\n`);
  const provider = await createHeBackend(he, heParameters(he, templates.d, options), { allowInsecurePaperScheme: true });
  const keygenMs = performance.now() - keygenStart;
  const vpr = provider.descriptor.vectorsPerRecord;
  const maxShardTemplates = Math.ceil(Math.ceil(n / workerCount) / vpr) * vpr;
  const encryptStart = performance.now();
  const output = encryptIndex(provider, templates, plain, { maxShardTemplates });
  const encryptMs = performance.now() - encryptStart;
  provider.dispose();
  const recordsBytes = output.shards.reduce((sum, shard) => sum + shard.length, 0);

  const cs2 = await Cs2Server.load(output.secretMaterial);
  const evaluator = await loadHeEvaluator(output.evaluationMaterial);
  const workers = new LocalShardWorkers(
    evaluator,
    output.cs1Index.shards.map((s) => s.templates),
    output.shards.map((bytes) => new MemoryRecordStore(bytes)),
  );
  const timing = new Timing(workers, new InProcessCs2Transport(cs2, { record: false }));
  const cs1 = new Cs1Server(evaluator, output.cs1Index, timing, timing, { blinding: options.blinding });
  const client = await IdentificationClient.load(output.publicMaterial);
  const layout = shardLayout(
    output.cs1Index.shards.map((s) => s.templates),
    vpr,
  );

  const modes: Mode[] = options.k !== undefined ? parseNumberList(options.k).map((k) => ({ name: 'nearest', k })) : [{ name: 'range' }];
  for (const mode of modes) {
    const requestMs: number[] = [];
    const identifyMs: number[] = [];
    const criticalMs: number[] = [];
    const cpuMs: number[] = [];
    const parts = { coordinator: [] as number[], slowestWorkers: [] as number[], cs2: [] as number[] };
    const sums = { candidates: 0, partitions: 0, cs2Calls: 0, cs2Parts: 0, bytesToCs2: 0, bytesRead: 0, matches: 0, rounds: 0, shardTasks: 0, maxShards: 0, bound: 0 };
    let exact = true;
    const warmup = Math.min(2, queryCount);
    for (let q = -warmup; q < queryCount; q++) {
      const query = row(probes, q < 0 ? q + warmup : q);
      const truth = bruteForce(templates, query);
      const tauSquared = mode.name === 'range' ? truth[Math.min(n, Number(options.matches)) - 1].dist2 : truth[Math.min(n, mode.k!) - 1].dist2;
      let start = performance.now();
      const request = client.encryptRequest(query);
      const encryptRequestMs = performance.now() - start;
      timing.reset();
      const cpuBefore = process.cpuUsage();
      start = performance.now();
      const result = mode.name === 'range' ? await cs1.rangeQuery(request, tauSquared) : await cs1.nearest(request, mode.k!);
      const ms = performance.now() - start;
      const cpu = process.cpuUsage(cpuBefore);
      if (q < 0) continue;
      const workerTotal = timing.taskMs.flat().reduce((a, b) => a + b, 0);
      const slowest = timing.taskMs.reduce((sum, round) => sum + Math.max(0, ...round), 0);
      const coordinator = ms - workerTotal - timing.cs2SerialMs;
      requestMs.push(encryptRequestMs);
      identifyMs.push(ms);
      criticalMs.push(coordinator + slowest + timing.cs2Ms);
      parts.coordinator.push(coordinator);
      parts.slowestWorkers.push(slowest);
      parts.cs2.push(timing.cs2Ms);
      cpuMs.push((cpu.user + cpu.system) / 1000);
      const { stats } = result;
      sums.candidates += stats.candidates;
      sums.partitions += stats.partitionsSearched;
      sums.cs2Calls += stats.cs2Calls;
      sums.cs2Parts += stats.cs2Parts;
      sums.bytesToCs2 += stats.bytesToCs2;
      sums.bytesRead += stats.bytesRead;
      sums.matches += result.matches.length;
      sums.rounds += stats.rounds;
      sums.shardTasks += stats.shardTasks;
      sums.maxShards = Math.max(sums.maxShards, stats.maxShardsPerRound);
      // What any exact iDistance search must examine: the candidate records at the answer's
      // radius (k-th distance for k-nearest, tau for range), computed on plaintext.
      const centre = allSquaredDistances(plain.idistance.referencePoints, query);
      const ranges = candidateRanges(plain.idistance, plain.segments, searchRanges(plain.idistance, centre, tauSquared));
      for (const record of recordsOfRanges(layout, ranges)) {
        const { start, end } = positionsOfRecord(layout, record);
        sums.bound += end - start;
      }
      const expected = mode.name === 'range' ? truth.filter((m) => m.dist2 <= tauSquared) : truth.slice(0, mode.k!);
      if (!sameMatches(result.matches, expected)) exact = false;
    }
    reporter.add({
      engine: 'fit',
      he,
      data: options.data,
      mode: mode.name,
      k: mode.k ?? null,
      n,
      d: templates.d,
      workers: workerCount,
      shards: output.cs1Index.shards.length,
      partitions: plain.idistance.partitions,
      eps,
      method: options.method,
      blinding: options.blinding,
      segments: segmentCount(plain.segments),
      exact,
      identifyMsP50: round(percentile(identifyMs, 50), 1),
      identifyMsP99: round(percentile(identifyMs, 99), 1),
      criticalPathMsP50: round(percentile(criticalMs, 50), 1),
      criticalPathMsP99: round(percentile(criticalMs, 99), 1),
      // The critical path's parts (medians of each, so they need not add up to its median).
      coordinatorMsP50: round(percentile(parts.coordinator, 50), 1),
      slowestWorkersMsP50: round(percentile(parts.slowestWorkers, 50), 1),
      cs2MsP50: round(percentile(parts.cs2, 50), 1),
      cpuMsPerQuery: round(cpuMs.reduce((a, b) => a + b, 0) / queryCount, 1),
      candidatesFraction: round(sums.candidates / queryCount / n, 4),
      boundFraction: round(sums.bound / queryCount / n, 4),
      rounds: round(sums.rounds / queryCount, 2),
      shardTasksPerQuery: round(sums.shardTasks / queryCount, 2),
      maxShardsPerRound: sums.maxShards,
      partitionsSearched: round(sums.partitions / queryCount, 2),
      matchesMean: round(sums.matches / queryCount, 2),
      cs2Calls: round(sums.cs2Calls / queryCount, 2),
      cs2Parts: round(sums.cs2Parts / queryCount, 2),
      bytesCs1ToCs2: Math.round(sums.bytesToCs2 / queryCount),
      bytesReadPerQuery: Math.round(sums.bytesRead / queryCount),
      requestEncryptMs: round(percentile(requestMs, 50), 2),
      keygenMs: round(keygenMs, 0),
      buildMs: round(buildMs, 0),
      encryptMs: round(encryptMs, 0),
      recordsGb: round(recordsBytes / 1e9, 3),
      queries: queryCount,
      peakRssMb: peakRssMb(),
    });
  }
  evaluator.dispose();
  cs2.dispose();
  client.dispose();
}

/**
 * iDistance keys of `count` streamed synthetic vectors: K-means on the first `sample` vectors,
 * integer reference points, then every vector assigned to its nearest reference point in chunks
 * (memory stays at one chunk plus 12 bytes per key).
 */
function streamedKeys(count: number, d: number, partitions: number, kind: SyntheticKind, seed: number, sample: number): Float64Array {
  const chunk = 8192;
  const stream = new SyntheticStream(count, d, { kind, seed });
  const first = quantizeVectors(stream.next(Math.min(sample, count)));
  const { centroids } = kMeans(first, { k: Math.min(partitions, first.n), random: seededRandom(seed + 2) });
  const reference = { n: centroids.n, d, data: centroids.data.map(Math.round) };
  const partitionOf = new Uint32Array(count);
  const dist2 = new Float64Array(count);
  const assign = (vectors: { n: number; d: number; data: Float64Array }, at: number) => {
    const nearest = assignToNearest(vectors, reference);
    partitionOf.set(nearest.assignments, at);
    dist2.set(nearest.squaredDistances, at);
  };
  assign(first, 0);
  for (let at = first.n; at < count; at += chunk) assign(quantizeVectors(stream.next(Math.min(chunk, count - at))), at);
  const dmax = new Float64Array(reference.n);
  for (let i = 0; i < count; i++) dmax[partitionOf[i]] = Math.max(dmax[partitionOf[i]], Math.sqrt(dist2[i]));
  const offsets = partitionOffsets(dmax);
  const keys = new Float64Array(count);
  for (let i = 0; i < count; i++) keys[i] = iDistanceKey(offsets[partitionOf[i]], dist2[i]);
  return keys.sort();
}

function runSegmentCounts(options: FitBenchOptions, reporter: BenchReporter): void {
  const count = Number(options.keys);
  const seed = Number(options.seed);
  if (options.data === 'fashion-mnist') throw new Error('--keys streams synthetic data: use --data uniform or clustered');
  for (const d of parseNumberList(options.d)) {
    for (const partitions of parseNumberList(options.partitions)) {
      const keysStart = performance.now();
      const keys = streamedKeys(count, d, partitions, options.data, seed, Number(options.keySample));
      const keysMs = performance.now() - keysStart;
      for (const eps of parseEpsList(options.eps)) {
        let start = performance.now();
        const fiting = segmentCount(buildSegmentIndex(keys, { eps, method: 'fiting' }));
        const fitingMs = performance.now() - start;
        start = performance.now();
        const optimal = segmentCount(buildSegmentIndex(keys, { eps, method: 'optimal' }));
        const optimalMs = performance.now() - start;
        reporter.add({
          engine: 'fit-segments',
          data: options.data,
          keys: count,
          d,
          partitions,
          eps,
          segmentsFiting: fiting,
          segmentsOptimal: optimal,
          fewerSegments: round(1 - optimal / fiting, 4),
          keysPerSegmentOptimal: round(count / optimal, 1),
          keysMs: round(keysMs, 0),
          fitingMs: round(fitingMs, 0),
          optimalMs: round(optimalMs, 0),
          peakRssMb: peakRssMb(),
        });
      }
    }
  }
}

/** Accepts 0 in eps lists (parseNumberList only accepts positive numbers). */
function parseEpsList(value: string): number[] {
  const values = value.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new Error(`expected a comma-separated list of integers >= 0, got "${value}"`);
  }
  return values;
}

function parsePartitionList(value: string): string[] {
  const values = value.split(',').map((s) => s.trim());
  if (values.some((v) => v !== 'auto' && !(Number.isInteger(Number(v)) && Number(v) > 0))) {
    throw new Error(`--partitions: expected "auto" or positive integers, got "${value}"`);
  }
  return values;
}

export function register(program: Command): void {
  program
    .command('fit')
    .description('two-server identification: iDistance + segments + HE (she | bfv), sharded; exactness against brute force')
    .option('--he <list>', 'HE backends: she, bfv (comma list)', 'bfv')
    .option('--n <list>', 'templates (comma list)', '2000')
    .option('--d <list>', 'dimensions (comma list; PCA components for fashion-mnist)', '512')
    .option('--partitions <list>', 'K-means partitions, or auto (about sqrt(n)) (comma list)', 'auto')
    .option('--eps <list>', 'segment error bounds (comma list)', '16')
    .option('--workers <list>', 'shard workers: the templates are split into about this many shards (comma list)', '1')
    .option('--method <method>', 'segmentation used by the index: optimal or fiting', 'optimal')
    .option('--data <kind>', 'uniform or clustered (seeded, values in (-1, 1), 3 decimals), or fashion-mnist (cached CNN features)', 'clustered')
    .option('--queries <count>', 'timed queries per configuration (plus 2 warm-up)', '20')
    .option('--matches <count>', "range queries: tau^2 = the query's k-th smallest squared distance, k = this", '10')
    .option('--k <list>', 'k-nearest queries with these k instead of range queries (comma list)')
    .option('--noise <sigma>', 'synthetic queries: a random template plus Gaussian noise of this sigma (real units)', '0.05')
    .option('--blinding <mode>', 'per-value or shared', 'per-value')
    .option('--seed <seed>', 'seed of data, queries and K-means', '1')
    .option('--k0 <bits>', 'she: prime size k0', '1024')
    .option('--k1 <bits>', 'she: message bits k1', '30')
    .option('--k2 <bits>', 'she: noise bits k2', '80')
    .option('--a-bits <bits>', "blinding multiplier bits (default: the backend's)")
    .option('--b-bits <bits>', 'blinding offset bits (default: the largest the backend allows)')
    .option('--poly <N>', 'bfv: ring degree', '8192')
    .option('--sample <count>', 'K-means sample size (default: all up to 50,000 templates, else 20,000)')
    .option('--keys <count>', 'segment counts only: stream this many synthetic vectors to iDistance keys (no HE)')
    .option('--key-sample <count>', 'with --keys: K-means sample size', '20000')
    .option('--json', 'one JSON object per configuration per line', false)
    .action(async (options: FitBenchOptions) => {
      if (!DATA_KINDS.includes(options.data)) throw new Error(`--data must be one of ${DATA_KINDS.join(', ')}`);
      if (options.method !== 'optimal' && options.method !== 'fiting') throw new Error('--method must be optimal or fiting');
      if (options.blinding !== 'per-value' && options.blinding !== 'shared') throw new Error('--blinding must be per-value or shared');
      const reporter = new BenchReporter(options.json);
      if (options.keys !== undefined) {
        runSegmentCounts(options, reporter);
        reporter.finish();
        return;
      }
      const backends = options.he.split(',').map((s) => s.trim());
      for (const he of backends) if (!isHeBackendName(he)) throw new Error(`--he: unknown backend "${he}" (she, bfv)`);
      for (const he of backends as HeBackendName[]) {
        for (const n of parseNumberList(options.n)) {
          for (const d of parseNumberList(options.d)) {
            for (const partitions of parsePartitionList(options.partitions)) {
              for (const eps of parseEpsList(options.eps)) {
                for (const workers of parseNumberList(options.workers)) await runOne(he, n, d, partitions, eps, workers, options, reporter);
              }
            }
          }
        }
      }
      reporter.finish();
    });
}
