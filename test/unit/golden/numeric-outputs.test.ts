/**
 * Golden outputs of the numeric builders on fixed seeded inputs. Each digest was taken from the
 * code before its long functions were cut into named steps (issue 15 item 7); a refactor that
 * changes one bit of an assignment, a centre, a tree or a line fit changes the digest. A change
 * meant to alter the results must say so and update the digest.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { cakMeans } from '../../../lib/ml/cak-means';
import { assignToNearest, kMeans, kMeansPlusPlusSeeds } from '../../../lib/ml/kmeans';
import { centroidNorms, scanCentres } from '../../../lib/ml/kmeans-kernels';
import { buildSealedIndex } from '../../../lib/sealed/build';
import { buildPlainTree } from '../../../lib/sei/index-tree/build';
import { buildHierarchy } from '../../../lib/sei/index-tree/hierarchy';
import { fitOptimalHull } from '../../../lib/twoserver/segments/optimal-hull';

/**
 * SHA-256 of a value in a canonical form: numbers as their float64 bits, typed arrays as their
 * bytes, object keys sorted, Maps in insertion order. Exact to the bit, independent of printing.
 */
function digest(value: unknown): string {
  const hash = createHash('sha256');
  const number = new Float64Array(1);
  const feed = (v: unknown): void => {
    if (typeof v === 'number') {
      number[0] = v;
      hash.update('n').update(new Uint8Array(number.buffer));
    } else if (typeof v === 'string' || typeof v === 'boolean') {
      hash.update(`${typeof v}:${String(v).length}:${String(v)}`);
    } else if (v === undefined || v === null) {
      hash.update(String(v));
    } else if (ArrayBuffer.isView(v)) {
      hash.update(`${v.constructor.name}:${v.byteLength}:`).update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    } else if (Array.isArray(v)) {
      hash.update(`[${v.length}`);
      v.forEach(feed);
    } else if (v instanceof Map) {
      hash.update(`M${v.size}`);
      for (const [key, item] of v) {
        feed(key);
        feed(item);
      }
    } else if (typeof v === 'object') {
      const keys = Object.keys(v).sort();
      hash.update(`{${keys.join(',')}`);
      for (const key of keys) feed((v as Record<string, unknown>)[key]);
    } else {
      throw new Error(`cannot digest a ${typeof v}`);
    }
  };
  feed(value);
  return hash.digest('hex');
}

function gaussianSet(n: number, d: number, seed: number, clusters = 1, separation = 0): VectorSet {
  const random = seededRandom(seed);
  const centres = Float64Array.from({ length: clusters * d }, () => random.gaussian() * separation);
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    for (let j = 0; j < d; j++) data[i * d + j] = centres[c * d + j] + random.gaussian();
  }
  return { n, d, data };
}

describe('golden outputs of the numeric code', () => {
  it('scanCentres: best, score, runner-up score and index of every vector (k not a multiple of 4)', () => {
    const vectors = gaussianSet(500, 12, 101, 7, 3);
    const outs: number[] = [];
    for (const k of [1, 2, 5, 13]) {
      const centres = gaussianSet(k, 12, 102 + k, 1, 0).data;
      const norms = centroidNorms(centres, k, 12);
      const out = new Float64Array(4);
      for (let i = 0; i < vectors.n; i++) {
        scanCentres(vectors.data, i * 12, 12, centres, k, norms, out);
        outs.push(...out);
      }
    }
    expect(digest(outs)).toBe('9d0dce826428ea46bb4f4f0f86c6ff5ae915ff46a5ac0f76955e6ed6bd57fac5');
    const nearest = assignToNearest(vectors, gaussianSet(9, 12, 110));
    expect(digest(nearest)).toBe('939b54f9b1a053264262c50061dd39d1e00083d34a1dde3ddb2937a341451a8d');
  });

  it('lloydWithBounds (through kMeans): centres, assignments, iterations, inertia, convergence', () => {
    const overlapping = gaussianSet(3000, 16, 201, 10, 1.5);
    const results = [
      kMeans(overlapping, { k: 13, random: seededRandom(202) }),
      kMeans(overlapping, { k: 13, random: seededRandom(202), tolerance: 1e-2 }),
      kMeans(overlapping, { init: kMeansPlusPlusSeeds(overlapping, 5, { random: seededRandom(203) }), maxIterations: 3 }),
      kMeans(gaussianSet(2000, 3, 204), { k: 40, random: seededRandom(205), tolerance: 0 }),
    ];
    // Duplicated points: clusters empty out and are re-seeded.
    const duplicated = gaussianSet(60, 4, 206);
    const copies = new Float64Array(240 * 4);
    for (let i = 0; i < 240; i++) copies.set(duplicated.data.subarray((i % 60) * 4, (i % 60) * 4 + 4), i * 4);
    const init = { n: 30, d: 4, data: new Float64Array(30 * 4).fill(0.25) };
    results.push(kMeans({ n: 240, d: 4, data: copies }, { init, tolerance: 0 }));
    expect(results.map((r) => digest(r))).toEqual([
      'b2bef24afb85ce5330e576d03ffbdc72652a265ba52e6c908ed20b5d547a68c2',
      '50226166aa72b516692f95b1a7a569a45e409a5dcb8ae07374494fd6bf76b4ea',
      'a82e07543254ead15b54116006ab8817b2ef775e8316cbe2a5d2abd9cab1a7fd',
      '119b339efe0b79706c8f983131197811b646c42917f5310737306d6b33683833',
      '8a9281ac88274f03b7c1021856fb6649ebcdc76de11d60a6b8f79254324e156e',
    ]);
  });

  it('cakMeans: affinity propagation, preference search and the kmeans++ fallback', () => {
    const blobs = gaussianSet(400, 8, 301, 6, 6);
    const options = (seed: number) => ({ random: seededRandom(seed), noiseRandom: seededRandom(seed + 1) });
    const results = [
      cakMeans(blobs, options(302)),
      cakMeans(blobs, { ...options(304), apSampleSize: 150 }),
      cakMeans(blobs, { ...options(306), maxClusters: 3 }),
      cakMeans(blobs, { ...options(308), minClusters: 12 }),
      cakMeans(blobs, { ...options(310), maxClusters: 3, preferenceSearchSteps: 0 }),
    ];
    expect(results.map((r) => r.source)).toEqual(['affinity-propagation', 'affinity-propagation', 'affinity-propagation-adjusted', 'affinity-propagation-adjusted', 'kmeans++-fallback']);
    expect(results.map((r) => digest(r))).toEqual([
      '7b9ab058229da8014ebf2b28cc53e1181006fb0ad9e89a2896dbfe8fb16639e0',
      '648b20fbce9c2f7791bb7c3c65da6857f4035a0f588a96c454a62da832f98995',
      '161906226645e4d341072342bae7fb609dc2cd4d88afbb5ead085c423c0a0b6e',
      'b62fb3d763d94adb4e7ef6a7580fa2cd9edd26e591eed988f8d1033407343496',
      '8497f7136bb3f5bb1cea06b1c2ca3df67e579fc2169be76a476e81850f0dd2af',
    ]);
  });

  it('buildHierarchy: every node (centre, children, level, IND, size, members) and the root', () => {
    const random = seededRandom(401);
    const d = 6;
    let next = 0;
    const leaves = Array.from({ length: 90 }, () => {
      const size = 1 + random.int(20);
      const members = Uint32Array.from({ length: size }, () => next++);
      return { centre: Float64Array.from({ length: d }, () => random.gaussian() * (1 + random.int(3))), members };
    });
    const digests = [0, 0.3, 0.5, 2].map((threshold) => digest(buildHierarchy(leaves, d, threshold)));
    expect(digests).toEqual([
      '3426874dc27a1e80c03cee0666c3b7b29b32e1b69bf30633b5daafe5357080b7',
      '8a37a4b5ea1eb21ac51c0c6e20c91992586d04fb8e13a5a1c454119a461a1389',
      '80dc163357b56665651dc0be5d05c61d5d34e5b567651200fb503f629d7cb8ab',
      '8d030c0a32b1bae27c08c3b725c729f236f9f775d444e0060077431f0aeb82a9',
    ]);
  });

  it('buildPlainTree: both layouts, held-out calibration and the calibrated graph', () => {
    const features = gaussianSet(1200, 10, 501, 12, 2);
    const trees = [
      buildPlainTree(features, { random: seededRandom(502) }),
      buildPlainTree(features, { layout: 'paper', random: seededRandom(503) }),
      buildPlainTree(features, { random: seededRandom(504), targetRecall: 0 }),
      buildPlainTree(gaussianSet(150, 10, 505), { random: seededRandom(506) }),
      buildPlainTree(features, { random: seededRandom(507), graph: true }),
    ];
    expect(trees.map((tree) => digest(tree))).toEqual([
      '0f233da082b9c9b6af333ea640e05560f8fa8b58d3f3885ef6e4791137d376e2',
      '390454894af670fdae047a7df5392346fec0cd4d660c3894df4ab3bda3945625',
      '7cc35b42a1420fa044da8c236bd80b7cc7e4dfeadd41358a2401341c3585594d',
      'accc7a65da810cf5ab2c96ffc40aed1be2a4d5c2fb966a521774317e5073663f',
      '98d83da43ebb38ecc7f1cb07d452260b7971fe90fe71f16e254f44b7d6883286',
    ]);
  });

  it('fitOptimalHull: end, slope and intercept from every start on several key sets', () => {
    const random = seededRandom(601);
    const sets: Float64Array[] = [
      Float64Array.from({ length: 400 }, () => random.next() * 10_000).sort(),
      Float64Array.from({ length: 400 }, (_, i) => i * i * 0.01 + random.next()).sort(),
      Float64Array.from({ length: 300 }, () => Math.floor(random.next() * 40)).sort(),
      Float64Array.from({ length: 300 }, () => Math.exp(random.gaussian() * 2)).sort(),
    ];
    const fits: number[] = [];
    for (const keys of sets) {
      const positions = Float64Array.from(keys, (_, i) => i);
      for (const eps of [0, 1, 4, 16]) {
        for (let from = 0; from < keys.length; from += 7) {
          const fit = fitOptimalHull(keys, positions, from, eps);
          fits.push(fit.end, fit.slope, fit.intercept);
        }
      }
    }
    expect(digest(fits)).toBe('0895e3a7300951b03ae00a0df85f9b65e03a9cd7296d26fb6bda3c72693d981f');
  });

  it('buildSealedIndex: leaves (centre, size, plaintext), calibration and L, up to the secret leaf permutation', () => {
    const vectors = gaussianSet(900, 12, 701, 9, 3);
    const ids = Array.from({ length: vectors.n }, (_, i) => `image-${i}`);
    const builds = [
      buildSealedIndex(vectors, ids, { leafSize: 32, random: seededRandom(702) }),
      buildSealedIndex(vectors, ids, { leafSize: 48, quantisation: 'float16', random: seededRandom(703), bytesPerQuery: 64 * 1024 }),
      buildSealedIndex(vectors, ids, { leafSize: 32, quantisation: 'float32', random: seededRandom(704), realLeaves: 3, leavesPerQuery: 9 }),
    ];
    // The leaves are numbered by a permutation drawn from secureRandom: compare them as a set.
    const canonical = builds.map((build) => {
      const { d } = build;
      const leaves = build.leafPlaintexts.map((plaintext, i) => ({
        centre: build.routing.centroids.slice(i * d, (i + 1) * d),
        size: build.routing.leafSizes[i],
        plaintext: digest(plaintext),
      }));
      leaves.sort((a, b) => (a.plaintext < b.plaintext ? -1 : a.plaintext > b.plaintext ? 1 : 0));
      const { leafPlaintexts: _plaintexts, routing, ...rest } = build;
      const { centroids: _centroids, leafSizes: _sizes, ...routingRest } = routing;
      return { ...rest, routing: routingRest, leaves };
    });
    expect(canonical.map((c) => digest(c))).toEqual([
      '462cc6304d96f3c90489d1285089737b48662444f32445b144b83234bddd515e',
      'dda95b3b93efbc35065d6bc01ea79569209cb60d8d0ee78374098efebb3e76ff',
      'f85f3510acf2d7efab05c01db2fbf70874bff5ed7f0fc63472e0dea8db6c6900',
    ]);
  });
});
