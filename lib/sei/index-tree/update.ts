/**
 * Dynamic update (the paper's future work): add an image to the leaf a greedy descent reaches,
 * delete by id, both without a rebuild. Node vectors are not moved (they are encrypted, and
 * only the owner could re-encrypt them), so after many updates the tree describes the data less
 * well; {@link rebuildAdvice} says when a rebuild is worth it.
 */
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors';
import { dotAt } from '../../linalg/vectors';
import type { EncryptedVector, Trapdoor } from '../types';
import { SLOT_RANGE } from './search';
import type { EncryptedIndexTree } from './types';
import { assertScoreOperands } from '../score';

/** Image ids: printable, no control characters, bounded (they become S3 keys and log fields). */
const IMAGE_ID_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,200}$/;

export function validateImageId(id: string): void {
  if (typeof id !== 'string' || !IMAGE_ID_PATTERN.test(id)) {
    throw new InvalidInputError(
      'image id must be 1-200 characters from letters, digits and . _ : @ / + = -',
    );
  }
}

function validateVector(tree: EncryptedIndexTree, vector: Float64Array, what: string): void {
  if (vector.length !== tree.m) {
    throw new InvalidInputError(`${what} has ${vector.length} entries, this index needs ${tree.m}`);
  }
  // Bounded entries keep every score finite (see MAX_SCORE_OPERAND).
  assertScoreOperands(vector, what);
}

/** Leaf reached by the paper's greedy descent for this trapdoor. */
export function nearestLeaf(tree: EncryptedIndexTree, trapdoor: Trapdoor): number {
  const { m, nodeVectors, childStart, childIds, leafOf } = tree;
  let node = tree.root;
  while (leafOf[node] < 0) {
    let bestChild = childIds[childStart[node]];
    let bestScore = Number.POSITIVE_INFINITY;
    for (let c = childStart[node]; c < childStart[node + 1]; c++) {
      const score = dotAt(nodeVectors, childIds[c] * m, trapdoor, 0, m);
      if (score < bestScore) {
        bestScore = score;
        bestChild = childIds[c];
      }
    }
    node = bestChild;
  }
  return leafOf[node];
}

/**
 * Adds one image. `placement` is a trapdoor made from the same feature vector with a key the
 * owner issued to itself: the cloud descends with it to the leaf the image belongs to, the
 * same leaf a search for that image reaches first.
 */
export function addImage(
  tree: EncryptedIndexTree,
  id: string,
  vector: EncryptedVector,
  placement: Trapdoor,
): { leaf: number } {
  validateImageId(id);
  validateVector(tree, vector, 'encrypted vector');
  validateVector(tree, placement, 'placement trapdoor');
  if (tree.locations.has(id)) throw new ConflictError(`image "${id}" is already in the index; delete it first`);

  const leafIndex = nearestLeaf(tree, placement);
  const leaf = tree.leaves[leafIndex];
  if (leaf.count + 1 >= SLOT_RANGE) {
    throw new ConflictError('this leaf is full; rebuild the index before adding more images');
  }
  const needed = (leaf.count + 1) * tree.m;
  if (needed > leaf.vectors.length) {
    const grown = new Float64Array(Math.max(needed, leaf.vectors.length * 2, tree.m * 8));
    grown.set(leaf.vectors.subarray(0, leaf.count * tree.m));
    leaf.vectors = grown;
  }
  leaf.vectors.set(vector, leaf.count * tree.m);
  leaf.ids.push(id);
  leaf.count++;
  tree.locations.set(id, leafIndex);
  tree.updates.added++;
  return { leaf: leafIndex };
}

/** Deletes one image by id (swap with the leaf's last image, so no gap is left). */
export function deleteImage(tree: EncryptedIndexTree, id: string): void {
  const leafIndex = tree.locations.get(id);
  if (leafIndex === undefined) throw new NotFoundError(`image "${id}" is not in the index`);
  const leaf = tree.leaves[leafIndex];
  const slot = leaf.ids.indexOf(id);
  const last = leaf.count - 1;
  if (slot !== last) {
    leaf.vectors.copyWithin(slot * tree.m, last * tree.m, (last + 1) * tree.m);
    leaf.ids[slot] = leaf.ids[last];
  }
  leaf.ids.pop();
  leaf.count--;
  tree.locations.delete(id);
  tree.updates.deleted++;
}

export interface RebuildAdvice {
  readonly advisable: boolean;
  readonly reasons: string[];
}

/**
 * Thresholds: a quarter of the built size changed, a leaf grown to twice the largest built
 * leaf (search cost per leaf doubles), or a tenth of the leaves emptied (wasted descents).
 */
export function rebuildAdvice(tree: EncryptedIndexTree): RebuildAdvice {
  const reasons: string[] = [];
  const { added, deleted, builtSize, builtMaxLeaf } = tree.updates;
  const changed = added + deleted;
  if (changed > 0.25 * builtSize) {
    reasons.push(`${changed} images added or deleted since the build of ${builtSize} (over 25%)`);
  }
  const largest = Math.max(0, ...tree.leaves.map((l) => l.count));
  if (largest > 2 * builtMaxLeaf) {
    reasons.push(`a leaf holds ${largest} images, over twice the largest leaf at build time (${builtMaxLeaf})`);
  }
  const empty = tree.leaves.filter((l) => l.count === 0).length;
  if (empty > 0.1 * tree.leaves.length) {
    reasons.push(`${empty} of ${tree.leaves.length} leaves are empty`);
  }
  return { advisable: reasons.length > 0, reasons };
}

/** Number of images currently in the index. */
export function imageCount(tree: EncryptedIndexTree): number {
  return tree.locations.size;
}
