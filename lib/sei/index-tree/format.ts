/**
 * Binary format of the encrypted index tree ("BSIX", version 2; version 1 is still read). Two
 * parts, so storage can keep the small skeleton apart from the bulky leaves and read single
 * leaves by byte range:
 *
 *   skeleton: magic, version, d, ownerKeyId, nodeCount, root, leafCount,
 *             node vectors (nodeCount * m f64), childStart (nodeCount+1 u32), childIds,
 *             leafOf (nodeCount u32, 0xFFFFFFFF = internal),
 *             [v2] search defaults: strategy (u32: 0 descent, 1 beam), probes, beam (u32),
 *                  targetRecall, measuredRecall (f64, NaN = not measured), calibrationQueries (u32);
 *             [v2] score reduction: present (u32 0/1), then intercept ((d+1) f64) and
 *                  coupling ((d+1)^2 f64),
 *             update counters, leaf directory (per leaf: image count, block byte length)
 *   leaf blocks, in leaf order: per image its id (u16 length + UTF-8), then count * m f64.
 *
 * The update counters and the leaf directory stay last in every version: CS1 rewrites only that
 * trailer after adding or deleting an image. A version 1 skeleton gets the search defaults
 * such indexes were always searched with (descent, probes 4) and no reduction.
 *
 * The proximity graph (graph.ts) is not part of the format yet: a decoded index has none and is
 * searched with the tree's calibrated probes.
 *
 * Decoders check every count against the bytes present and the structure (every node but the
 * root has exactly one parent, leaves have no children, each leaf index is used once), so
 * corrupted input is a MalformedDataError and never a wrong tree.
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import type { RoutingStrategy } from '../../ml/types';
import { checkScoreReduction, type ScoreReduction } from '../score-reduction';
import { encryptedDimension, MAX_FEATURE_DIMENSION } from '../types';
import type { EncryptedIndexTree, EncryptedLeaf, SearchDefaults } from './types';

const MAGIC = 'BSIX';
const LEAF_MAGIC = 'BSIL';
/** Leaf blocks are unchanged since version 1. */
const VERSION = 1;
const SKELETON_VERSION = 2;
const STRATEGIES: readonly RoutingStrategy[] = ['descent', 'beam'];
/** Largest probe count or beam a stored index may ask for (guards hostile input). */
export const MAX_STORED_PROBES = 1 << 20;
/** How version 1 indexes were searched (CS1's default before indexes stored their own). */
export const LEGACY_SEARCH_DEFAULTS: SearchDefaults = {
  strategy: 'descent',
  probes: 4,
  beam: 1,
  targetRecall: 0,
  measuredRecall: Number.NaN,
  calibrationQueries: 0,
};
const INTERNAL = 0xffffffff;

export interface LeafDirectoryEntry {
  readonly count: number;
  readonly byteLength: number;
}

export interface IndexSkeleton extends Omit<EncryptedIndexTree, 'leaves' | 'locations'> {
  readonly leafDirectory: LeafDirectoryEntry[];
}

export function encodeLeafBlock(leaf: EncryptedLeaf, m: number): Uint8Array {
  const w = new BinaryWriter(leaf.count * (m * 8 + 40) + 16);
  w.header(LEAF_MAGIC, VERSION).u32(m).u32(leaf.count);
  for (let i = 0; i < leaf.count; i++) w.string(leaf.ids[i]);
  w.f64Array(leaf.vectors.subarray(0, leaf.count * m));
  return w.finish();
}

export function decodeLeafBlock(bytes: Uint8Array, m: number, expectedCount?: number): EncryptedLeaf {
  const r = new BinaryReader(bytes, 'index leaf');
  r.header(LEAF_MAGIC, [VERSION]);
  const blockM = r.u32('encrypted dimension');
  if (blockM !== m) r.fail(`encrypted dimension ${blockM} does not match the index (${m})`);
  const count = r.u32InRange('image count', 0, Math.floor(r.remaining / 2));
  if (expectedCount !== undefined && count !== expectedCount) {
    r.fail(`holds ${count} images, the index directory says ${expectedCount}`);
  }
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(r.string('image id'));
  if (r.remaining !== count * m * 8) r.fail(`expected ${count * m * 8} vector bytes, found ${r.remaining}`);
  const vectors = r.f64Array(count * m, 'encrypted vectors');
  r.end();
  return { vectors, ids, count };
}

function encodeSkeleton(tree: EncryptedIndexTree, leafBlocks: Uint8Array[]): Uint8Array {
  const nodeCount = tree.leafOf.length;
  const reductionBytes = tree.reduction === undefined ? 0 : (tree.d + 1) * (tree.d + 2) * 8;
  const w = new BinaryWriter(nodeCount * (tree.m * 8 + 16) + reductionBytes + 256);
  w.header(MAGIC, SKELETON_VERSION).u32(tree.d).string(tree.ownerKeyId);
  w.u32(nodeCount).u32(tree.root).u32(tree.leaves.length);
  w.f64Array(tree.nodeVectors);
  w.u32Array(tree.childStart);
  w.u32Array(tree.childIds);
  w.u32Array(Array.from(tree.leafOf, (l) => (l < 0 ? INTERNAL : l)));
  const search = tree.search;
  w.u32(STRATEGIES.indexOf(search.strategy)).u32(search.probes).u32(search.beam);
  w.f64(search.targetRecall).f64(search.measuredRecall).u32(search.calibrationQueries);
  if (tree.reduction === undefined) {
    w.u32(0);
  } else {
    w.u32(1).f64Array(tree.reduction.intercept).f64Array(tree.reduction.coupling);
  }
  const u = tree.updates;
  w.u32(u.added).u32(u.deleted).u32(u.builtSize).u32(u.builtMaxLeaf);
  tree.leaves.forEach((leaf, i) => w.u32(leaf.count).u32(leafBlocks[i].length));
  return w.finish();
}

/** Encodes the skeleton and each leaf block separately (for storage that reads leaves by range). */
export function encodeIndexTreeParts(tree: EncryptedIndexTree): { skeleton: Uint8Array; leaves: Uint8Array[] } {
  const leaves = tree.leaves.map((leaf) => encodeLeafBlock(leaf, tree.m));
  return { skeleton: encodeSkeleton(tree, leaves), leaves };
}

/** Checks the node structure is one tree rooted at `root` whose leaves map 1:1 onto leaf blocks. */
function checkStructure(r: BinaryReader, s: Omit<IndexSkeleton, 'leafDirectory'>, leafCount: number): void {
  const nodeCount = s.leafOf.length;
  const parents = new Uint8Array(nodeCount);
  for (let i = 0; i < nodeCount; i++) {
    if (s.childStart[i] > s.childStart[i + 1]) r.fail('child ranges are not increasing');
    const hasChildren = s.childStart[i + 1] > s.childStart[i];
    if (hasChildren === s.leafOf[i] >= 0) r.fail(`node ${i} must be either a leaf or have children`);
  }
  for (const child of s.childIds) {
    if (child >= nodeCount) r.fail(`child id ${child} is out of range`);
    if (child === s.root || parents[child]++ > 0) r.fail(`node ${child} has more than one parent`);
  }
  const seenLeaves = new Uint8Array(leafCount);
  let reachable = 0;
  const stack = [s.root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    reachable++;
    const leaf = s.leafOf[node];
    if (leaf >= 0) {
      if (leaf >= leafCount || seenLeaves[leaf]++ > 0) r.fail(`leaf index ${leaf} is out of range or reused`);
    }
    for (let c = s.childStart[node]; c < s.childStart[node + 1]; c++) stack.push(s.childIds[c]);
  }
  if (reachable !== nodeCount) r.fail(`${nodeCount - reachable} nodes are not reachable from the root`);
  if (seenLeaves.some((v) => v === 0)) r.fail('some leaf blocks belong to no node');
}

function readSearchDefaults(r: BinaryReader): SearchDefaults {
  const strategy = STRATEGIES[r.u32InRange('search strategy', 0, STRATEGIES.length - 1)];
  const probes = r.u32InRange('default probes', 1, MAX_STORED_PROBES);
  const beam = r.u32InRange('default beam', 1, MAX_STORED_PROBES);
  const targetRecall = r.finite('target recall');
  const measuredRecall = r.f64('measured recall');
  if (!(targetRecall >= 0 && targetRecall <= 1) || !(Number.isNaN(measuredRecall) || (measuredRecall >= 0 && measuredRecall <= 1))) {
    r.fail('recall values must lie in [0, 1]');
  }
  return { strategy, probes, beam, targetRecall, measuredRecall, calibrationQueries: r.u32('calibration queries') };
}

function readReduction(r: BinaryReader, d: number, m: number): ScoreReduction | undefined {
  const present = r.u32InRange('score reduction flag', 0, 1);
  if (present === 0) return undefined;
  const reduction = { d, m, intercept: r.f64Array(d + 1, 'score reduction intercept'), coupling: r.f64Array((d + 1) * (d + 1), 'score reduction coupling') };
  try {
    checkScoreReduction(reduction);
  } catch (error) {
    r.fail(error instanceof Error ? error.message : String(error));
  }
  return reduction;
}

export function decodeIndexSkeleton(bytes: Uint8Array): IndexSkeleton {
  const r = new BinaryReader(bytes, 'encrypted index');
  const version = r.header(MAGIC, [VERSION, SKELETON_VERSION]);
  const d = r.u32InRange('feature dimension', 1, MAX_FEATURE_DIMENSION);
  const m = encryptedDimension(d);
  const ownerKeyId = r.string('owner key id');
  const nodeCount = r.u32InRange('node count', 1, Math.floor(r.remaining / (m * 8)));
  const root = r.u32InRange('root', 0, nodeCount - 1);
  const leafCount = r.u32InRange('leaf count', 1, nodeCount);
  const nodeVectors = r.f64Array(nodeCount * m, 'node vectors');
  const childStart = r.u32Array(nodeCount + 1, 'child ranges');
  if (childStart[0] !== 0 || childStart[nodeCount] > nodeCount) r.fail('child ranges are inconsistent');
  const childIds = r.u32Array(childStart[nodeCount], 'child ids');
  const leafOf = Int32Array.from(r.u32Array(nodeCount, 'leaf map'), (v) => (v === INTERNAL ? -1 : v));
  if (leafOf.some((v) => v >= leafCount)) r.fail('leaf map points past the leaf count');
  const search = version >= SKELETON_VERSION ? readSearchDefaults(r) : LEGACY_SEARCH_DEFAULTS;
  const reduction = version >= SKELETON_VERSION ? readReduction(r, d, m) : undefined;
  const updates = { added: r.u32(), deleted: r.u32(), builtSize: r.u32(), builtMaxLeaf: r.u32() };
  const leafDirectory: LeafDirectoryEntry[] = [];
  for (let i = 0; i < leafCount; i++) leafDirectory.push({ count: r.u32('leaf count'), byteLength: r.u32('leaf length') });
  r.end();
  const skeleton = { d, m, ownerKeyId, nodeVectors, childStart, childIds, leafOf, root, updates, search, ...(reduction === undefined ? {} : { reduction }) };
  checkStructure(r, skeleton, leafCount);
  return { ...skeleton, leafDirectory };
}
