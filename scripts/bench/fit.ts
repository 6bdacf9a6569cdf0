/**
 * Two-server identification benchmark (iDistance + learned segments + HE):
 *   npm run bench -- fit --he bfv --n 20000 --d 512 [--partitions 16] [--eps 16] [--json]
 * For each configuration: build the index (K-means, keys, segments), encrypt it, then run
 * range queries whose threshold admits about --matches templates (tau^2 = the query's
 * --matches-th smallest plaintext squared distance) and check every result against brute force.
 *
 * Segment counts only (no HE), for a million keys:
 *   npm run bench -- fit --keys 1000000 --d 512 --partitions 64 --eps 4,16,64 [--json]
 * streams seeded synthetic vectors through K-means partitions (fitted on a sample) to real
 * iDistance keys and reports the FITing-tree and the optimal segment counts.
 */
import type { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../../lib/core/random';
import { createHeBackend, isHeBackendName, loadHeEvaluator, SHE_WARNING } from '../../lib/he';
import type { HeBackendName, HeParametersFor } from '../../lib/he/types';
import { row } from '../../lib/linalg/vectors';
import { assignToNearest, kMeans } from '../../lib/ml/kmeans';
import { iDistanceKey, partitionOffsets } from '../../lib/twoserver/idistance';
import { allSquaredDistances, bruteForceRange } from '../../lib/twoserver/plain-search';
import {
  buildPlainIndex,
  Cs1Server,
  Cs2Server,
  encryptIndex,
  IdentificationClient,
  InProcessCs2Transport,
  MemoryRecordStore,
} from '../../lib/twoserver/protocol';
import type { BlindingMode } from '../../lib/twoserver/protocol';
import { quantizeVectors } from '../../lib/twoserver/quantize';
import { buildSegmentIndex, segmentCount } from '../../lib/twoserver/segments';
import type { SegmentationMethod } from '../../lib/twoserver/segments';
import { noisyProbes, SYNTHETIC_KINDS, SyntheticStream, syntheticTemplates } from '../../lib/twoserver/synthetic';
import type { SyntheticKind } from '../../lib/twoserver/synthetic';
import { BenchReporter, parseNumberList, peakRssMb, percentile, round } from './report';

interface FitBenchOptions {
  he: string;
  n: string;
  d: string;
  partitions: string;
  eps: string;
  method: SegmentationMethod;
  data: SyntheticKind;
  queries: string;
  matches: string;
  noise: string;
  blinding: BlindingMode;
  seed: string;
  k0: string;
  k1: string;
  k2: string;
  aBits?: string;
  bBits?: string;
  poly: string;
  keys?: string;
  sample: string;
  json: boolean;
}

/** Quantized embeddings lie in [-999, 999] (3 decimals, clipped to (-1, 1)). */
const MAX_ABS = 999;

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

function sameIds(got: readonly { id: string; dist2: number }[], expected: readonly { index: number; dist2: number }[]): boolean {
  if (got.length !== expected.length) return false;
  const want = new Map(expected.map((m) => [String(m.index), m.dist2]));
  return got.every((m) => want.get(m.id) === m.dist2);
}

async function runOne(he: HeBackendName, n: number, d: number, partitions: number, eps: number, options: FitBenchOptions, reporter: BenchReporter): Promise<void> {
  const seed = Number(options.seed);
  const queryCount = Number(options.queries);
  const wantedMatches = Number(options.matches);
  const templates = syntheticTemplates(n, d, { kind: options.data, seed });
  const probes = noisyProbes(templates, queryCount, Number(options.noise), seededRandom(seed + 1));

  const buildStart = performance.now();
  const plain = buildPlainIndex(templates, { partitions, eps, method: options.method, random: seededRandom(seed + 2) });
  const buildMs = performance.now() - buildStart;
  const segmentsFiting = segmentCount(buildSegmentIndex(plain.idistance.keys, { eps, method: 'fiting' }));
  const segmentsOptimal = segmentCount(buildSegmentIndex(plain.idistance.keys, { eps, method: 'optimal' }));

  const keygenStart = performance.now();
  // The benchmark only ever encrypts its own synthetic templates: she is measured for comparison.
  if (he === 'she') process.stderr.write(`warning: bench fit --he she: ${SHE_WARNING}\n`);
  const provider = await createHeBackend(he, heParameters(he, d, options), { allowInsecurePaperScheme: true });
  const keygenMs = performance.now() - keygenStart;
  const encryptStart = performance.now();
  const output = encryptIndex(provider, templates, plain);
  const encryptMs = performance.now() - encryptStart;
  provider.dispose();

  const cs2 = await Cs2Server.load(output.secretMaterial);
  const transport = new InProcessCs2Transport(cs2, { record: false });
  const cs1 = new Cs1Server(await loadHeEvaluator(output.evaluationMaterial), output.cs1Index, new MemoryRecordStore(output.records), transport, {
    blinding: options.blinding,
  });
  const client = await IdentificationClient.load(output.publicMaterial);

  const requestMs: number[] = [];
  const identifyMs: number[] = [];
  let candidates = 0;
  let partitionsSearched = 0;
  let cs2Calls = 0;
  let bytesToCs2 = 0;
  let bytesRead = 0;
  let matches = 0;
  let exact = true;
  const warmup = Math.min(2, queryCount);
  for (let q = -warmup; q < queryCount; q++) {
    const query = row(probes, q < 0 ? q + warmup : q);
    const sorted = Float64Array.from(allSquaredDistances(templates, query)).sort();
    const tauSquared = sorted[Math.min(n, wantedMatches) - 1];
    let start = performance.now();
    const request = client.encryptRequest(query);
    const encryptRequestMs = performance.now() - start;
    start = performance.now();
    const result = await cs1.rangeQuery(request, tauSquared);
    const ms = performance.now() - start;
    if (q < 0) continue;
    requestMs.push(encryptRequestMs);
    identifyMs.push(ms);
    candidates += result.stats.candidates;
    partitionsSearched += result.stats.partitionsSearched;
    cs2Calls += result.stats.cs2Calls;
    bytesToCs2 += result.stats.bytesToCs2;
    bytesRead += result.stats.bytesRead;
    matches += result.matches.length;
    if (!sameIds(result.matches, bruteForceRange(templates, query, tauSquared))) exact = false;
  }
  cs2.dispose();
  client.dispose();

  reporter.add({
    engine: 'fit',
    he,
    data: options.data,
    n,
    d,
    partitions: plain.idistance.partitions,
    eps,
    method: options.method,
    blinding: options.blinding,
    segments: segmentCount(plain.segments),
    segmentsFiting,
    segmentsOptimal,
    keygenMs: round(keygenMs, 0),
    buildMs: round(buildMs, 0),
    encryptMs: round(encryptMs, 0),
    recordsMb: round(output.records.length / 2 ** 20, 1),
    requestEncryptMs: round(percentile(requestMs, 50), 2),
    identifyMsP50: round(percentile(identifyMs, 50), 1),
    identifyMsP99: round(percentile(identifyMs, 99), 1),
    candidatesFraction: round(candidates / queryCount / n, 4),
    partitionsSearched: round(partitionsSearched / queryCount, 2),
    matchesMean: round(matches / queryCount, 2),
    cs2Calls: round(cs2Calls / queryCount, 2),
    bytesCs1ToCs2: Math.round(bytesToCs2 / queryCount),
    bytesReadPerQuery: Math.round(bytesRead / queryCount),
    exact,
    queries: queryCount,
    peakRssMb: peakRssMb(),
  });
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
  for (const d of parseNumberList(options.d)) {
    for (const partitions of parseNumberList(options.partitions)) {
      const keysStart = performance.now();
      const keys = streamedKeys(count, d, partitions, options.data, seed, Number(options.sample));
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

export function register(program: Command): void {
  program
    .command('fit')
    .description('two-server identification: iDistance + segments + HE (she | bfv); exactness against brute force')
    .option('--he <list>', 'HE backends: she, bfv (comma list)', 'bfv')
    .option('--n <list>', 'templates (comma list)', '2000')
    .option('--d <list>', 'dimensions (comma list)', '512')
    .option('--partitions <list>', 'K-means partitions (comma list)', '16')
    .option('--eps <list>', 'segment error bounds (comma list)', '16')
    .option('--method <method>', 'segmentation used by the index: optimal or fiting', 'optimal')
    .option('--data <kind>', 'synthetic data: uniform or clustered (seeded, values in (-1, 1), 3 decimals)', 'clustered')
    .option('--queries <count>', 'timed queries per configuration (plus 2 warm-up)', '20')
    .option('--matches <count>', 'tau^2 = the query\'s k-th smallest squared distance, k = this', '10')
    .option('--noise <sigma>', 'queries: a random template plus Gaussian noise of this sigma (real units)', '0.05')
    .option('--blinding <mode>', 'per-value or shared', 'per-value')
    .option('--seed <seed>', 'seed of data, queries and K-means', '1')
    .option('--k0 <bits>', 'she: prime size k0', '1024')
    .option('--k1 <bits>', 'she: message bits k1', '30')
    .option('--k2 <bits>', 'she: noise bits k2', '80')
    .option('--a-bits <bits>', 'blinding multiplier bits (default: the backend\'s)')
    .option('--b-bits <bits>', 'blinding offset bits (default: the largest the backend allows)')
    .option('--poly <N>', 'bfv: ring degree', '8192')
    .option('--keys <count>', 'segment counts only: stream this many synthetic vectors to iDistance keys (no HE)')
    .option('--sample <count>', 'with --keys: K-means sample size', '20000')
    .option('--json', 'one JSON object per configuration per line', false)
    .action(async (options: FitBenchOptions) => {
      if (!SYNTHETIC_KINDS.includes(options.data)) throw new Error(`--data must be one of ${SYNTHETIC_KINDS.join(', ')}`);
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
            for (const partitions of parseNumberList(options.partitions)) {
              for (const eps of parseEpsList(options.eps)) await runOne(he, n, d, partitions, eps, options, reporter);
            }
          }
        }
      }
      reporter.finish();
    });
}
