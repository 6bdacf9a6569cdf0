/**
 * One image added to or deleted from the owner's unsealed build (lib/sealed/build-file), without
 * recomputing anything else: the owner then seals the changed build for a new version and
 * publishes it (copy-on-write, like every publish; readers of the old version are unaffected).
 *
 * - add: the vector joins the leaf whose centroid is nearest, the leaf a search for it reads
 *   first (ties to the lower number);
 * - delete: the image leaves its leaf; an emptied leaf stays (its centroid still routes).
 *
 * Every leaf keeps one padded size: when a leaf outgrows it, all leaves are padded to the new
 * size (a version-to-version size change says that some leaf grew, not which). The centroids,
 * the int8 parameters and the real leaves per query with their recall estimate stay those of the
 * build: many updates drift from them, and a re-index measures them again.
 */
import { InvalidInputError, NotFoundError } from '../core/errors';
import type { SealedIndexBuild } from './build';
import { decodeLeafPlaintext, encodeLeafPlaintext, idBytes, leafPlaintextCapacity, leafPlaintextSize, MAX_LEAF_BYTES, SEAL_OVERHEAD } from './format';
import type { RoutingContent } from './format';
import type { DecodedRows, SealedLeaf } from './types';

const FLOAT16_MAX = 65504;

export interface SealedBuildUpdate {
  readonly build: SealedIndexBuild;
  /** The leaf the image joined or left. */
  readonly leaf: number;
}

/** Decrypted-form leaf of the build (the build keeps plaintexts). */
function leafOf(build: SealedIndexBuild, leaf: number): SealedLeaf {
  return decodeLeafPlaintext(build.leafPlaintexts[leaf], build.routing, leaf);
}

/** The leaf's vectors as float64 rows (int8 codes mapped back through the build's parameters). */
function rowsAsFloats(rows: DecodedRows, count: number, d: number): Float64Array {
  if (rows.kind === 'float') return Float64Array.from(rows.values);
  const out = new Float64Array(count * d);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < d; j++) out[i * d + j] = rows.params.offset[j] + rows.params.scale[j] * rows.codes[i * d + j];
  }
  return out;
}

/** The build with one leaf replaced by `ids` over `data` (all leaves re-padded if it no longer fits). */
function withLeaf(build: SealedIndexBuild, leaf: number, data: Float64Array, ids: readonly string[]): SealedIndexBuild {
  const { d, quantisation } = build;
  const routing = build.routing;
  const encodedIds = ids.map((id) => idBytes(id));
  const leafSizes = Uint32Array.from(routing.leafSizes);
  leafSizes[leaf] = ids.length;
  const leafCapacity = Math.max(routing.leafCapacity, ids.length);
  const size = Math.max(build.leafPlaintextBytes, leafPlaintextSize(d, quantisation, encodedIds), leafPlaintextCapacity(d, quantisation, leafCapacity));
  if (size + SEAL_OVERHEAD > MAX_LEAF_BYTES) throw new InvalidInputError(`leaf ${leaf} would take more than ${MAX_LEAF_BYTES} bytes: re-index to split the leaves`);
  const members = Uint32Array.from(ids, (_, i) => i);
  const plaintext = encodeLeafPlaintext(data, d, members, encodedIds, quantisation, routing.params, size);
  const leafPlaintexts = build.leafPlaintexts.map((bytes, i) => {
    if (i === leaf) return plaintext;
    if (bytes.length === size) return bytes;
    // Zero padding at the end: a longer leaf is the same bytes followed by more zeros.
    const padded = new Uint8Array(size);
    padded.set(bytes);
    return padded;
  });
  const imageCount = leafSizes.reduce((sum, n) => sum + n, 0);
  const nextRouting: RoutingContent = { ...routing, imageCount, leafCapacity, leafSizes };
  return {
    ...build,
    imageCount,
    leafCapacity,
    leafPlaintextBytes: size,
    routing: nextRouting,
    leafPlaintexts,
    stats: { ...build.stats, meanFill: imageCount / (build.leafCount * leafCapacity) },
  };
}

/** The leaf holding `id`, and the position in it; undefined when no leaf does. */
export function findSealedImage(build: SealedIndexBuild, id: string): { leaf: number; slot: number } | undefined {
  for (let leaf = 0; leaf < build.leafCount; leaf++) {
    if (build.routing.leafSizes[leaf] === 0) continue;
    const slot = leafOf(build, leaf).ids.indexOf(id);
    if (slot >= 0) return { leaf, slot };
  }
  return undefined;
}

/** Adds the image `id` with feature vector `vector` (d values) to the leaf of the nearest centroid. */
export function addToSealedBuild(build: SealedIndexBuild, vector: ArrayLike<number>, id: string): SealedBuildUpdate {
  const { d } = build;
  if (vector.length !== d) throw new InvalidInputError(`the vector has ${vector.length} dimensions, the index ${d}`);
  for (let j = 0; j < d; j++) {
    if (!Number.isFinite(vector[j])) throw new InvalidInputError('the vector has a non-finite coordinate');
    if (build.quantisation === 'float16' && Math.abs(vector[j]) > FLOAT16_MAX) throw new InvalidInputError(`float16 holds values up to ${FLOAT16_MAX}`);
  }
  try {
    idBytes(id);
  } catch {
    throw new InvalidInputError(`image id "${id.slice(0, 64)}" must be 1-255 bytes of UTF-8`);
  }
  if (findSealedImage(build, id) !== undefined) throw new InvalidInputError(`image ${id} is in the index already`);

  const { centroids } = build.routing;
  let leaf = 0;
  let nearest = Infinity;
  for (let l = 0; l < build.leafCount; l++) {
    let dist = 0;
    for (let j = 0; j < d; j++) {
      const diff = vector[j] - centroids[l * d + j];
      dist += diff * diff;
    }
    if (dist < nearest) {
      nearest = dist;
      leaf = l;
    }
  }
  const current = leafOf(build, leaf);
  const count = current.ids.length;
  const data = new Float64Array((count + 1) * d);
  data.set(rowsAsFloats(current.rows, count, d));
  for (let j = 0; j < d; j++) data[count * d + j] = vector[j];
  return { build: withLeaf(build, leaf, data, [...current.ids, id]), leaf };
}

/** Deletes the image `id` from its leaf (NotFoundError when the index does not hold it). */
export function deleteFromSealedBuild(build: SealedIndexBuild, id: string): SealedBuildUpdate {
  const found = findSealedImage(build, id);
  if (found === undefined) throw new NotFoundError(`image ${id} is not in the sealed index`);
  const { d } = build;
  const current = leafOf(build, found.leaf);
  const count = current.ids.length;
  const all = rowsAsFloats(current.rows, count, d);
  const data = new Float64Array((count - 1) * d);
  data.set(all.subarray(0, found.slot * d));
  data.set(all.subarray((found.slot + 1) * d), found.slot * d);
  const ids = current.ids.filter((_, i) => i !== found.slot);
  return { build: withLeaf(build, found.leaf, data, ids), leaf: found.leaf };
}
