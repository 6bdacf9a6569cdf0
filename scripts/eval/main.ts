/**
 * Accuracy evaluation in the manner of the SEI paper's Tables 5 and 6:
 *   npm run eval -- [--n 4000] [--d 32,64,128,256,512] [--k 5,10,20,30,40] [--queries 500] [--probes auto,16]
 *                   [--layout balanced|paper] [--target-recall 0.95] [--json]
 *
 * Fashion-MNIST (Debian's dataset-fashion-mnist), CNN features (lib/features, the default model),
 * PCA to d fitted on the gallery, leave-one-out queries drawn from the gallery (the same number
 * from each class). P@k = share of
 * the k results with the query's class. Methods, all on the same features and d:
 *   plaintext   exact Euclidean kNN in the clear
 *   tree        SEI encrypted index tree (trapdoor from an enrolled user's key); probes "auto"
 *               are the defaults the build calibrated for --target-recall, numbers override them
 *   linear      SEI encrypted linear scan (exact ranking on encrypted data)
 *   knn-cbir    the paper's baseline, classic ASPE linear scan
 *   wrong-key   a user whose key another owner issued (should be at chance, 0.10)
 */
import { Command } from 'commander';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../../lib/core/random';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { fashionMnistFeatures } from '../../lib/features/fashion-mnist-features';
import { createFeatureExtractor } from '../../lib/features/extractor';
import { row, type VectorSet } from '../../lib/linalg/vectors';
import { fitPca, transformPca } from '../../lib/ml/pca';
import { SmallestK } from '../../lib/core/heaps';
import { squaredDistanceAt } from '../../lib/linalg/vectors';
import { buildEncryptedIndexTree } from '../../lib/sei/index-tree/build';
import type { IndexTreeLayout } from '../../lib/sei/index-tree/types';
import { searchIndexTree, searchIndexTreeExhaustive } from '../../lib/sei/index-tree/search';
import { encryptKnnCbirIndex, generateKnnCbirKey, knnCbirSearch, knnCbirTrapdoor } from '../bench/baselines/knn-cbir';
import { generateOwnerSecret } from '../../lib/sei/owner-key';
import { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import { generateUserSecret, issueUserKey } from '../../lib/sei/user-key';
import { BenchReporter, parseNumberList, round } from '../bench/report';

interface EvalOptions {
  n: string;
  d: string;
  k: string;
  queries: string;
  probes: string;
  layout: IndexTreeLayout;
  targetRecall: string;
  seed: string;
  json: boolean;
}

/** "auto,16,32" -> [undefined (the index's calibrated default), 16, 32]. */
function parseProbes(value: string): Array<number | undefined> {
  return value.split(',').map((part) => (part.trim() === 'auto' ? undefined : parseNumberList(part)[0]));
}

type Method = 'plaintext' | 'tree' | 'linear' | 'knn-cbir' | 'wrong-key';

/** Ranked gallery indices for one query, the query itself excluded. */
type Ranker = (query: number, kPlusOne: number) => number[];

function plaintextRanker(vectors: VectorSet): Ranker {
  return (q, kPlusOne) => {
    const best = new SmallestK(kPlusOne);
    for (let i = 0; i < vectors.n; i++) {
      const dist = squaredDistanceAt(vectors.data, q * vectors.d, vectors.data, i * vectors.d, vectors.d);
      if (dist < best.threshold) best.offer(dist, i);
    }
    return best.sorted().map((e) => e.value);
  };
}

/** P@k for every k: mean over queries of the share of the first k non-self results with the query's label. */
function precisionAtK(rank: Ranker, queries: Uint32Array, labels: Uint8Array, ks: number[]): number[] {
  const kMax = Math.max(...ks);
  const sums = ks.map(() => 0);
  for (const q of queries) {
    const results = rank(q, kMax + 1).filter((i) => i !== q).slice(0, kMax);
    let same = 0;
    let next = 0;
    ks.forEach((k, index) => {
      for (; next < k; next++) if (labels[results[next]] === labels[q]) same++;
      sums[index] += same / k;
    });
  }
  return sums.map((s) => s / queries.length);
}

/**
 * Queries stratified by class: the same number from each class (Fashion-MNIST is balanced). With
 * a random sample, the class mix of the queries would move chance-level P@k away from 1/10 by
 * itself (a wrong key's results are not uniform over the gallery, so they match some class more
 * often than others, and P@k then depends on how many queries come from that class).
 */
function sampleQueries(labels: Uint8Array, count: number, seed: number): Uint32Array {
  const random = seededRandom(seed);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  const perClass = Math.max(1, Math.floor(count / classes.length));
  const chosen: number[] = [];
  for (const c of classes) {
    const members = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i);
    for (let i = 0; i < Math.min(perClass, members.length); i++) {
      const j = i + random.int(members.length - i);
      [members[i], members[j]] = [members[j], members[i]];
      chosen.push(members[i]);
    }
  }
  return Uint32Array.from(chosen.sort((a, b) => a - b));
}

async function run(options: EvalOptions): Promise<void> {
  const reporter = new BenchReporter(options.json);
  const ns = parseNumberList(options.n);
  const ds = parseNumberList(options.d);
  const ks = parseNumberList(options.k);
  const probeList = parseProbes(options.probes);
  const seed = Number(options.seed);
  const data = loadFashionMnist();
  const extractor = await createFeatureExtractor();
  const started = performance.now();
  const all = await fashionMnistFeatures({
    extractor,
    n: Math.max(...ns),
    data,
    onProgress: ({ done, total }) => {
      if (!options.json && done % 4096 < 512) process.stderr.write(`features ${done}/${total}\r`);
    },
  });
  const featureSeconds = (performance.now() - started) / 1000;
  if (all.cache === 'miss') {
    reporter.add({
      engine: 'features',
      model: extractor.model,
      inputSize: extractor.inputSize,
      backend: extractor.backend,
      images: Math.max(...ns),
      imagesPerSecond: round(Math.max(...ns) / featureSeconds, 1),
    });
  }
  extractor.dispose();

  for (const n of ns) {
    const gallery: VectorSet = { n, d: all.vectors.d, data: all.vectors.data.subarray(0, n * all.vectors.d) };
    const labels = all.labels.subarray(0, n);
    const queries = sampleQueries(labels, Number(options.queries), seed);
    const ids = Array.from({ length: n }, (_, i) => String(i));
    for (const d of ds) {
      const features = transformPca(fitPca(gallery, Math.min(d, gallery.d, n - 1), { sampleSize: 20_000 }), gallery);
      const owner = generateOwnerSecret(features.d);
      const userSecret = generateUserSecret(features.d);
      const user = new TrapdoorGenerator(issueUserKey(owner, userSecret.W), userSecret);
      const strangerSecret = generateUserSecret(features.d);
      const stranger = new TrapdoorGenerator(issueUserKey(generateOwnerSecret(features.d), strangerSecret.W), strangerSecret);
      const { tree } = buildEncryptedIndexTree(owner, features, ids, {
        layout: options.layout,
        targetRecall: Number(options.targetRecall),
        random: seededRandom(seed + 1),
      });
      const { search } = tree;
      const auto = `auto (${search.strategy}${search.strategy === 'beam' ? ` ${search.beam}` : ''}, ${search.probes}; recall@10 ${round(search.measuredRecall, 3)})`;
      const cbirKey = generateKnnCbirKey(features.d);
      const cbir = encryptKnnCbirIndex(cbirKey, features);

      const exact: Record<Exclude<Method, 'tree' | 'wrong-key'>, Ranker> = {
        plaintext: plaintextRanker(features),
        linear: (q, kk) => searchIndexTreeExhaustive(tree, user.trapdoor(row(features, q)), kk).hits.map((h) => Number(h.id)),
        'knn-cbir': (q, kk) => knnCbirSearch(cbir, knnCbirTrapdoor(cbirKey, row(features, q)), kk),
      };
      const report = (method: Method, probes: number | string | null, precision: number[]) =>
        reporter.add({
          engine: 'eval',
          data: 'fashion-mnist',
          model: extractor.model,
          n,
          d: features.d,
          method,
          layout: options.layout,
          probes,
          queries: queries.length,
          ...Object.fromEntries(ks.map((k, i) => [`p@${k}`, round(precision[i], 4)])),
        });
      const plaintext = precisionAtK(exact.plaintext, queries, labels, ks);
      report('plaintext', null, plaintext);
      for (const method of ['linear', 'knn-cbir'] as const) report(method, null, precisionAtK(exact[method], queries, labels, ks));
      for (const probes of probeList) {
        const override = probes === undefined ? {} : { probes };
        const label = probes ?? auto;
        const treeRank: Ranker = (q, kk) =>
          searchIndexTree(tree, user.trapdoor(row(features, q)), { k: kk, ...override }).hits.map((h) => Number(h.id));
        const wrongRank: Ranker = (q, kk) =>
          searchIndexTree(tree, stranger.trapdoor(row(features, q)), { k: kk, ...override }).hits.map((h) => Number(h.id));
        const treePrecision = precisionAtK(treeRank, queries, labels, ks);
        const wrongPrecision = precisionAtK(wrongRank, queries, labels, ks);
        report('tree', label, treePrecision);
        report('wrong-key', label, wrongPrecision);
        reporter.add({
          engine: 'eval-summary',
          n,
          d: features.d,
          probes: label,
          treeOverPlaintextMin: round(Math.min(...ks.map((_, i) => treePrecision[i] / plaintext[i])), 4),
          wrongKeyMaxDeviationFromChance: round(Math.max(...wrongPrecision.map((p) => Math.abs(p - 0.1))), 4),
        });
      }
    }
  }
  reporter.finish();
}

const program = new Command('eval')
  .description('P@k on Fashion-MNIST CNN features: plaintext, SEI tree, SEI linear, kNN-CBIR, wrong key')
  .option('--n <list>', 'gallery sizes (first n images; comma list)', '4000')
  .option('--d <list>', 'PCA dimensions (comma list)', '128')
  .option('--k <list>', 'k values of P@k', '5,10,20,30,40')
  .option('--queries <count>', 'leave-one-out queries per configuration', '500')
  .option('--probes <list>', 'leaves ranked per tree search: auto (the calibrated default) or numbers (comma list)', 'auto')
  .option('--layout <layout>', 'index tree layout: balanced or paper', 'balanced')
  .option('--target-recall <r>', 'recall@10 the build calibrates the default probes for', '0.95')
  .option('--seed <seed>', 'query sample and clustering seed', '1')
  .option('--json', 'one JSON object per configuration per line', false)
  .action(run);

await program.parseAsync(process.argv);
