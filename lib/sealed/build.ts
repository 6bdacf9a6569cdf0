/**
 * The owner's build of a sealed index: partition the feature vectors into leaves, number the
 * leaves by a secret random permutation (so leaf numbers carry no geometry), encode every leaf
 * (quantised vectors and ids, padded to one size), measure how many leaves a query must read for
 * the target recall, and size L from the per-query byte budget. Sealing happens afterwards with
 * the version's binding (sealIndex), once CS1 has named the version.
 */
import { InvalidInputError } from '../core/errors';
import type { RandomSource } from '../core/random';
import { randomPermutation, secureRandom } from '../core/random';
import type { VectorSet } from '../linalg/vectors';
import { recallCurve, leavesForRecall } from './calibrate';
import type { RecallCurve } from './calibrate';
import {
  encodeLayout,
  encodeLeafPlaintext,
  encodeRoutingPlaintext,
  idBytes,
  leafPlaintextSize,
  MAX_LEAF_BYTES,
  MAX_LEAVES_PER_QUERY,
  MAX_SEALED_DIMENSION,
  SEAL_OVERHEAD,
} from './format';
import type { RoutingContent } from './format';
import { partitionVectors } from './partition';
import type { Partition } from './partition';
import { decodeRows, encodeRows, fitInt8 } from './quantise';
import { sealLeaf, sealRouting } from './seal';
import type { IndexKey, QuantisationParams, SealedBinding, SealedLayout, SealedQuantisation } from './types';

export const DEFAULT_LEAF_SIZE = 128;
export const DEFAULT_QUANTISATION: SealedQuantisation = 'int8';
export const DEFAULT_TARGET_RECALL = 0.95;
/** The budget: what one query may download. */
export const DEFAULT_BYTES_PER_QUERY = 1024 * 1024;
/**
 * Sampled queries for calibration: 500 (a standard error of about 0.005 on recall), fewer for
 * big collections so that the two passes over the collection stay near 2e10 multiply-adds.
 */
export function defaultCalibrationQueries(n: number, d: number): number {
  return Math.max(100, Math.min(500, Math.floor(2e10 / (n * d))));
}
const CALIBRATION_K = 10;
/** recall(R) is measured up to this R (a default beyond it would exceed any sane budget). */
const MAX_CALIBRATED_LEAVES = 256;
const FLOAT16_MAX = 65504;

export interface SealedBuildOptions {
  /** Most images per leaf (default 128). */
  readonly leafSize?: number;
  /** How vectors are stored (default int8; see quantise.ts). */
  readonly quantisation?: SealedQuantisation;
  /** recall@10 the default number of real leaves must reach on the owner's sample (default 0.95). */
  readonly targetRecall?: number;
  /** Real leaves per query, instead of measuring them for targetRecall. */
  readonly realLeaves?: number;
  /** Stored bytes one query may ask for: L = this / leaf size, at least 2 R (default 1 MiB). */
  readonly bytesPerQuery?: number;
  /** L itself, instead of the byte budget (R < L <= leaves). */
  readonly leavesPerQuery?: number;
  /** Sampled vectors used as queries to measure recall (default: defaultCalibrationQueries). */
  readonly calibrationQueries?: number;
  /** Leaves computed beforehand (benchmarks build several encodings on one partition). */
  readonly partition?: Partition;
  /** Randomness for clustering and sampling (the leaf permutation always uses secureRandom). */
  readonly random?: RandomSource;
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

/** A built, not yet sealed, index: everything but the binding and the key. */
export interface SealedIndexBuild {
  readonly d: number;
  readonly quantisation: SealedQuantisation;
  readonly imageCount: number;
  readonly leafCount: number;
  readonly leafCapacity: number;
  /** P: every leaf's plaintext size (padded). */
  readonly leafPlaintextBytes: number;
  readonly leavesPerQuery: number;
  readonly realLeaves: number;
  readonly recallEstimate: number;
  /** recall@10 (and its standard error) for R = 1, 2, ... on the owner's sample, as measured. */
  readonly recallCurve: RecallCurve;
  readonly routing: RoutingContent;
  readonly leafPlaintexts: readonly Uint8Array[];
  readonly stats: { readonly partition: string; readonly meanFill: number };
}

function checkInput(vectors: VectorSet, ids: readonly string[]): Uint8Array[] {
  const { n, d, data } = vectors;
  if (n < 1) throw new InvalidInputError('a sealed index needs at least one image');
  if (!Number.isInteger(d) || d < 1 || d > MAX_SEALED_DIMENSION) throw new InvalidInputError(`dimension must be from 1 to ${MAX_SEALED_DIMENSION}`);
  if (ids.length !== n) throw new InvalidInputError(`${ids.length} ids for ${n} vectors`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new InvalidInputError(`vector ${Math.floor(i / d)} has a non-finite coordinate`);
  }
  const seen = new Set<string>();
  return ids.map((id) => {
    if (seen.has(id)) throw new InvalidInputError(`duplicate image id "${String(id).slice(0, 64)}"`);
    seen.add(id);
    try {
      return idBytes(id);
    } catch {
      throw new InvalidInputError(`image id "${String(id).slice(0, 64)}" must be 1-255 bytes of UTF-8`);
    }
  });
}

function positiveInteger(value: number | undefined, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > max) throw new InvalidInputError(`${name} must be an integer from 1 to ${max}`);
  return v;
}

/** The vectors as a client decodes them from the leaves (for calibration). */
function storedVectors(vectors: VectorSet, quantisation: SealedQuantisation, params: QuantisationParams | undefined): Float32Array {
  const { n, d, data } = vectors;
  const stored = new Float32Array(n * d);
  const rowBytes = new Uint8Array(d * 4);
  const one = new Uint32Array(1);
  for (let i = 0; i < n; i++) {
    one[0] = i;
    encodeRows(data, d, one, quantisation, params, rowBytes, 0);
    const rows = decodeRows(rowBytes, 0, 1, d, quantisation, params);
    if (rows.kind === 'float') stored.set(rows.values, i * d);
    else for (let j = 0; j < d; j++) stored[i * d + j] = params!.offset[j] + params!.scale[j] * rows.codes[j];
  }
  return stored;
}

/** The leaves in their secret order, and where every vector and centre went. */
interface NumberedLeaves {
  readonly leaves: Partition['leaves'];
  /** Leaf of each vector. */
  readonly leafOf: Uint32Array;
  /** Leaf centres in leaf order, leaves x d. */
  readonly centroids: Float64Array;
  readonly leafSizes: Uint32Array;
}

/** Step 1: leaves numbered by a secret random permutation, so that a leaf's number carries no geometry. */
function numberLeaves(partition: Partition, n: number, d: number): NumberedLeaves {
  const permutation = randomPermutation(partition.leaves.length, secureRandom);
  const leaves = Array.from(permutation, (i) => partition.leaves[i]);
  const leafOf = new Uint32Array(n);
  const centroids = new Float64Array(leaves.length * d);
  const leafSizes = new Uint32Array(leaves.length);
  leaves.forEach((leaf, i) => {
    centroids.set(leaf.centre, i * d);
    leafSizes[i] = leaf.members.length;
    for (const member of leaf.members) leafOf[member] = i;
  });
  return { leaves, leafOf, centroids, leafSizes };
}

/** Step 2: every leaf encoded and padded to one plaintext size P, the largest leaf's. */
function encodeLeaves(
  vectors: VectorSet,
  leaves: Partition['leaves'],
  encodedIds: readonly Uint8Array[],
  quantisation: SealedQuantisation,
  params: QuantisationParams | undefined,
  onProgress: SealedBuildOptions['onProgress'],
): { leafPlaintexts: Uint8Array[]; leafPlaintextBytes: number } {
  const { d, data } = vectors;
  const leafIds = leaves.map((leaf) => Array.from(leaf.members, (member) => encodedIds[member]));
  const leafPlaintextBytes = Math.max(...leafIds.map((list) => leafPlaintextSize(d, quantisation, list)));
  const leafBytes = leafPlaintextBytes + SEAL_OVERHEAD;
  if (leafBytes > MAX_LEAF_BYTES) throw new InvalidInputError(`a leaf would take ${leafBytes} bytes (at most ${MAX_LEAF_BYTES}): use a smaller leafSize`);
  const leafPlaintexts = leaves.map((leaf, i) => {
    onProgress?.('encode', i + 1, leaves.length);
    return encodeLeafPlaintext(data, d, leaf.members, leafIds[i], quantisation, params, leafPlaintextBytes);
  });
  return { leafPlaintexts, leafPlaintextBytes };
}

/**
 * Step 4: L, the leaves every query reads: as given, or the byte budget spent on decoys, never
 * fewer decoys than real leaves (when there are enough leaves).
 */
function leavesPerQueryFor(options: SealedBuildOptions, realLeaves: number, maxQueryLeaves: number, leafBytes: number): number {
  if (options.leavesPerQuery !== undefined) {
    const leavesPerQuery = positiveInteger(options.leavesPerQuery, 'leavesPerQuery', 1, maxQueryLeaves);
    if (leavesPerQuery < realLeaves) throw new InvalidInputError(`leavesPerQuery (${leavesPerQuery}) must be at least the real leaves per query (${realLeaves})`);
    return leavesPerQuery;
  }
  const budget = positiveInteger(options.bytesPerQuery, 'bytesPerQuery', DEFAULT_BYTES_PER_QUERY);
  return Math.min(maxQueryLeaves, Math.max(2 * realLeaves, Math.floor(budget / leafBytes)));
}

/** The quantisation asked for, checked against the vectors. */
function quantisationFor(options: SealedBuildOptions, data: Float64Array): SealedQuantisation {
  const quantisation = options.quantisation ?? DEFAULT_QUANTISATION;
  if (!['float32', 'float16', 'int8'].includes(quantisation)) throw new InvalidInputError('quantisation must be float32, float16 or int8');
  if (quantisation === 'float16' && data.some((v) => Math.abs(v) > FLOAT16_MAX)) {
    throw new InvalidInputError(`float16 holds values up to ${FLOAT16_MAX}: use int8 or float32 for these vectors`);
  }
  return quantisation;
}

/** Builds the leaves and routing data of a sealed index over `vectors` (row i has id ids[i]). */
export function buildSealedIndex(vectors: VectorSet, ids: readonly string[], options: SealedBuildOptions = {}): SealedIndexBuild {
  const encodedIds = checkInput(vectors, ids);
  const { n, d, data } = vectors;
  const leafSize = positiveInteger(options.leafSize, 'leafSize', DEFAULT_LEAF_SIZE, 1 << 16);
  const quantisation = quantisationFor(options, data);
  const targetRecall = options.targetRecall ?? DEFAULT_TARGET_RECALL;
  if (!(targetRecall > 0 && targetRecall <= 1)) throw new InvalidInputError('targetRecall must be in (0, 1]');
  const random = options.random ?? secureRandom;

  const partition = options.partition ?? partitionVectors(vectors, {
    leafSize,
    random,
    onProgress: options.onProgress && ((done, total) => options.onProgress!('leaves', done, total)),
  });
  const { leaves, leafOf, centroids, leafSizes } = numberLeaves(partition, n, d);
  const leafCount = leaves.length;
  const leafCapacity = Math.max(...leafSizes);
  const params = quantisation === 'int8' ? fitInt8(data, n, d) : undefined;
  const { leafPlaintexts, leafPlaintextBytes } = encodeLeaves(vectors, leaves, encodedIds, quantisation, params, options.onProgress);

  // 3. Real leaves per query: measured for the target, unless given.
  const maxQueryLeaves = Math.min(leafCount, MAX_LEAVES_PER_QUERY);
  const fixedRealLeaves = options.realLeaves === undefined ? undefined : positiveInteger(options.realLeaves, 'realLeaves', 1, maxQueryLeaves);
  const calibrationQueries = positiveInteger(options.calibrationQueries, 'calibrationQueries', defaultCalibrationQueries(n, d), 100_000);
  options.onProgress?.('calibrate', 0, 1);
  const measured = recallCurve(
    { vectors, stored: storedVectors(vectors, quantisation, params), leafOf, centroids, leafCount, k: CALIBRATION_K, queries: calibrationQueries, random },
    Math.min(maxQueryLeaves, Math.max(fixedRealLeaves ?? 0, MAX_CALIBRATED_LEAVES)),
  );
  options.onProgress?.('calibrate', 1, 1);
  const realLeaves = fixedRealLeaves ?? leavesForRecall(measured, targetRecall);
  const recallEstimate = measured.queries === 0 ? 1 : measured.recall[realLeaves - 1];
  const leavesPerQuery = leavesPerQueryFor(options, realLeaves, maxQueryLeaves, leafPlaintextBytes + SEAL_OVERHEAD);

  const routing: RoutingContent = {
    d,
    quantisation,
    imageCount: n,
    leafCapacity,
    realLeaves,
    recallEstimate,
    centroids: Float32Array.from(centroids),
    leafSizes,
    ...(params ? { params } : {}),
  };
  return {
    d,
    quantisation,
    imageCount: n,
    leafCount,
    leafCapacity,
    leafPlaintextBytes,
    leavesPerQuery,
    realLeaves,
    recallEstimate,
    recallCurve: measured,
    routing,
    leafPlaintexts,
    stats: { partition: partition.source, meanFill: n / (leafCount * leafCapacity) },
  };
}

export function layoutOf(build: SealedIndexBuild, keyId: string): SealedLayout {
  return { keyId, leafCount: build.leafCount, leafBytes: build.leafPlaintextBytes + SEAL_OVERHEAD, leavesPerQuery: build.leavesPerQuery };
}

/** Byte sizes of the two parts once sealed under a key with this id (to declare at create-version). */
export function sealedPartSizes(build: SealedIndexBuild, keyId: string): { routing: number; leaves: number } {
  const layout = layoutOf(build, keyId);
  const routing = encodeLayout(layout).length + SEAL_OVERHEAD + encodeRoutingPlaintext(build.routing, build.leafCount).length;
  return { routing, leaves: layout.leafCount * layout.leafBytes };
}

/** Seals the build for one version: the routing part and all leaves back to back. */
export async function sealIndex(build: SealedIndexBuild, key: IndexKey, binding: SealedBinding): Promise<{ routing: Uint8Array; leaves: Uint8Array }> {
  const layout = layoutOf(build, key.keyId);
  const header = encodeLayout(layout);
  const routing = await sealRouting(key, binding, header, encodeRoutingPlaintext(build.routing, build.leafCount));
  const leaves = new Uint8Array(layout.leafCount * layout.leafBytes);
  for (let leaf = 0; leaf < layout.leafCount; leaf++) {
    leaves.set(await sealLeaf(key, binding, header, leaf, build.leafPlaintexts[leaf]), leaf * layout.leafBytes);
  }
  return { routing, leaves };
}
