/**
 * GenIndex step 2 (paper 5.3.3): the owner clusters the feature vectors, builds the hierarchy
 * over the leaf clusters, then encrypts every node vector and every image vector exactly like
 * an image vector (EncIndex), producing the tree the cloud stores.
 */
import { InvalidInputError } from '../../core/errors';
import { secureRandom } from '../../core/random';
import { selectRows, type VectorSet } from '../../linalg/vectors';
import { encryptIndexVector, encryptIndexVectors } from '../index-vector';
import { encryptedDimension, type OwnerSecret } from '../types';
import { buildHierarchy } from './hierarchy';
import { clusterLeaves } from './leaf-clustering';
import type { EncryptedIndexTree, EncryptedLeaf, IndexTreeBuildOptions, PlainTree } from './types';

export const DEFAULT_BUILD_OPTIONS = {
  maxLeafSize: 128,
  splitFactor: 8,
  dmThreshold: 0.5,
  apSampleSize: 2000,
  kMeansSampleSize: 50_000,
} as const;

function treeDepth(nodes: PlainTree['nodes'], root: number): number {
  let depth = 0;
  const stack: [number, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [id, level] = stack.pop()!;
    depth = Math.max(depth, level);
    for (const child of nodes[id].children) stack.push([child, level + 1]);
  }
  return depth;
}

/** Plaintext tree over the owner's feature vectors (kept by the owner, never uploaded). */
export function buildPlainTree(features: VectorSet, options: IndexTreeBuildOptions = {}): PlainTree {
  const o = { ...DEFAULT_BUILD_OPTIONS, ...options };
  if (!Number.isInteger(o.maxLeafSize) || o.maxLeafSize < 1) {
    throw new InvalidInputError('maxLeafSize must be a positive integer');
  }
  if (!Number.isInteger(o.splitFactor) || o.splitFactor < 2) {
    throw new InvalidInputError('splitFactor must be an integer >= 2');
  }
  if (!(o.dmThreshold >= 0) || !Number.isFinite(o.dmThreshold)) {
    throw new InvalidInputError('dmThreshold must be a finite number >= 0');
  }
  const clustering = clusterLeaves(features, {
    maxLeafSize: o.maxLeafSize,
    splitFactor: o.splitFactor,
    apSampleSize: o.apSampleSize,
    kMeansSampleSize: o.kMeansSampleSize,
    random: o.random ?? secureRandom,
    onProgress: o.onProgress && ((done, total) => o.onProgress!('leaves', done, total)),
  });
  const { nodes, root } = buildHierarchy(
    clustering.leaves,
    features.d,
    o.dmThreshold,
    o.onProgress && ((done, total) => o.onProgress!('hierarchy', done, total)),
  );
  return {
    d: features.d,
    nodes,
    root,
    leafCount: clustering.leaves.length,
    stats: {
      clusteringSource: clustering.source,
      topLevelClusters: clustering.topLevelClusters,
      leafCount: clustering.leaves.length,
      maxLeafSize: Math.max(...clustering.leaves.map((l) => l.members.length)),
      depth: treeDepth(nodes, root),
      nodeCount: nodes.length,
    },
  };
}

/** Encrypts a plaintext tree: node vectors, then each leaf's image vectors with their ids. */
export function encryptPlainTree(
  owner: OwnerSecret,
  plain: PlainTree,
  features: VectorSet,
  ids: readonly string[],
  onProgress?: (done: number, total: number) => void,
): EncryptedIndexTree {
  if (features.d !== owner.d) {
    throw new InvalidInputError(`features have dimension ${features.d}, the owner key expects ${owner.d}`);
  }
  if (ids.length !== features.n) {
    throw new InvalidInputError(`${ids.length} ids for ${features.n} feature vectors`);
  }
  const m = encryptedDimension(owner.d);
  const nodeCount = plain.nodes.length;
  const nodeVectors = new Float64Array(nodeCount * m);
  const childStart = new Uint32Array(nodeCount + 1);
  const leafOf = new Int32Array(nodeCount).fill(-1);
  const childList: number[] = [];
  const leaves: EncryptedLeaf[] = [];
  const locations = new Map<string, number>();
  let builtMaxLeaf = 0;

  plain.nodes.forEach((node, i) => {
    nodeVectors.set(encryptIndexVector(owner, node.centre), i * m);
    childStart[i] = childList.length;
    childList.push(...node.children);
    if (node.children.length === 0) {
      const members = node.members;
      const encrypted = encryptIndexVectors(owner, selectRows(features, members));
      const leafIds = Array.from(members, (member) => ids[member]);
      const leafIndex = leaves.length;
      for (const id of leafIds) {
        if (locations.has(id)) throw new InvalidInputError(`duplicate image id "${id}"`);
        locations.set(id, leafIndex);
      }
      leafOf[i] = leafIndex;
      leaves.push({ vectors: encrypted.data, ids: leafIds, count: members.length });
      builtMaxLeaf = Math.max(builtMaxLeaf, members.length);
    }
    onProgress?.(i + 1, nodeCount);
  });
  childStart[nodeCount] = childList.length;

  return {
    d: owner.d,
    m,
    ownerKeyId: owner.keyId,
    nodeVectors,
    childStart,
    childIds: Uint32Array.from(childList),
    leafOf,
    root: plain.root,
    leaves,
    locations,
    updates: { added: 0, deleted: 0, builtSize: features.n, builtMaxLeaf },
  };
}

/** GenIndex: build the plaintext tree and encrypt it. Returns both (the owner keeps `plain`). */
export function buildEncryptedIndexTree(
  owner: OwnerSecret,
  features: VectorSet,
  ids: readonly string[],
  options: IndexTreeBuildOptions = {},
): { tree: EncryptedIndexTree; plain: PlainTree } {
  const plain = buildPlainTree(features, options);
  const tree = encryptPlainTree(
    owner,
    plain,
    features,
    ids,
    options.onProgress && ((done, total) => options.onProgress!('encrypt', done, total)),
  );
  return { tree, plain };
}
