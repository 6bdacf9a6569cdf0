/**
 * SEI index helpers for the tests: one search per trapdoor of a K-anonymous request, the image
 * count, and the whole index in one buffer (skeleton length, skeleton, leaf blocks), which runs
 * the production decoders of the skeleton and the leaf blocks on every byte.
 */
import { InvalidInputError, MalformedDataError } from '../../lib/core/errors';
import { decodeIndexSkeleton, decodeLeafBlock, encodeIndexTreeParts } from '../../lib/sei/index-tree/format';
import type { IndexSkeleton } from '../../lib/sei/index-tree/format';
import { searchIndexTree } from '../../lib/sei/index-tree/search';
import type { EncryptedIndexTree, EncryptedLeaf, SearchOptions, SearchResult } from '../../lib/sei/index-tree/types';
import type { Trapdoor } from '../../lib/sei/types';

/**
 * K-anonymity search (paper 5.5): one request carries K trapdoors (one real, K-1 decoys the
 * server cannot tell apart); the server answers every one of them the same way.
 */
export function searchIndexTreeBatch(
  tree: EncryptedIndexTree,
  trapdoors: readonly Trapdoor[],
  options: SearchOptions,
): SearchResult[] {
  if (trapdoors.length === 0) throw new InvalidInputError('a request needs at least one trapdoor');
  return trapdoors.map((trapdoor) => searchIndexTree(tree, trapdoor, options));
}

/** Number of images currently in the index. */
export function imageCount(tree: EncryptedIndexTree): number {
  return tree.locations.size;
}

/** One buffer: skeleton length (u32), skeleton, then all leaf blocks. */
export function encodeIndexTree(tree: EncryptedIndexTree): Uint8Array {
  const { skeleton, leaves } = encodeIndexTreeParts(tree);
  const total = 4 + skeleton.length + leaves.reduce((s, b) => s + b.length, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, skeleton.length, true);
  out.set(skeleton, 4);
  let at = 4 + skeleton.length;
  for (const block of leaves) {
    out.set(block, at);
    at += block.length;
  }
  return out;
}

/** Reads what encodeIndexTree wrote. */
export function decodeIndexTree(bytes: Uint8Array): EncryptedIndexTree {
  if (bytes.length < 4) throw new MalformedDataError('encrypted index', 'truncated before the skeleton length');
  const skeletonLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (skeletonLength > bytes.length - 4) throw new MalformedDataError('encrypted index', 'truncated skeleton');
  const skeleton = decodeIndexSkeleton(bytes.subarray(4, 4 + skeletonLength));
  let at = 4 + skeletonLength;
  const leaves = skeleton.leafDirectory.map((entry) => {
    if (entry.byteLength > bytes.length - at) throw new MalformedDataError('encrypted index', 'truncated leaf block');
    const leaf = decodeLeafBlock(bytes.subarray(at, at + entry.byteLength), skeleton.m, entry.count);
    at += entry.byteLength;
    return leaf;
  });
  if (at !== bytes.length) throw new MalformedDataError('encrypted index', `${bytes.length - at} unexpected trailing bytes`);
  return assembleIndexTree(skeleton, leaves);
}

/** Assembles a tree from a decoded skeleton and its decoded leaves, checking ids are unique. */
export function assembleIndexTree(skeleton: IndexSkeleton, leaves: EncryptedLeaf[]): EncryptedIndexTree {
  if (leaves.length !== skeleton.leafDirectory.length) {
    throw new MalformedDataError('encrypted index', `${leaves.length} leaves for ${skeleton.leafDirectory.length} directory entries`);
  }
  const locations = new Map<string, number>();
  leaves.forEach((leaf, i) => {
    for (const id of leaf.ids) {
      if (locations.has(id)) throw new MalformedDataError('encrypted index', `image id "${id}" appears twice`);
      locations.set(id, i);
    }
  });
  const { leafDirectory: _directory, ...rest } = skeleton;
  return { ...rest, leaves, locations };
}
