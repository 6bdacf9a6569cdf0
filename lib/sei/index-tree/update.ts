/**
 * Dynamic update (the paper's future work): add an image to the leaf a search for it ranks first
 * (the index's routing with one probe: the paper's greedy descent on a descent index), delete by
 * id, both without a rebuild. Node vectors are not moved (they are encrypted, and
 * only the owner could re-encrypt them), so after many updates the tree describes the data less
 * well; {@link rebuildAdvice} says when a rebuild is worth it.
 */
import { ConflictError, InvalidInputError, NotFoundError } from '../../core/errors';
import { SUBSPACE_TOLERANCE, subspaceDeviation } from '../score-reduction';
import type { EncryptedVector, Trapdoor } from '../types';
import { assertScoreOperands } from '../score';
import { TrapdoorScorer } from './scoring';
import { planLeafVisits, SLOT_RANGE, type TreeStructure } from './search';
import type { EncryptedIndexTree, SearchDefaults } from './types';

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

/**
 * The leaf a search with this trapdoor ranks first: the index's routing with one probe (the
 * paper's greedy descent on a descent index). Empty leaves count, so a new image can refill one.
 */
export function nearestLeaf(tree: TreeStructure & { readonly search: SearchDefaults }, trapdoor: Trapdoor): number {
  const settings = { strategy: tree.search.strategy, probes: 1, beam: tree.search.beam };
  return planLeafVisits(tree, TrapdoorScorer.of(tree, trapdoor), settings, 1, () => 1).leaves[0];
}

/**
 * Throws InvalidInputError when an encrypted vector cannot come from the index's owner key: with
 * a score reduction, every such vector lies on its subspace (score-reduction.ts).
 */
export function assertOnIndexSubspace(tree: Pick<EncryptedIndexTree, 'reduction'>, vector: Float64Array, what: string): void {
  if (tree.reduction !== undefined && !(subspaceDeviation(tree.reduction, vector) <= SUBSPACE_TOLERANCE)) {
    throw new InvalidInputError(`${what} was not encrypted with the owner key of this index`);
  }
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
  assertOnIndexSubspace(tree, vector, 'the encrypted vector');
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
  // The owner's graph numbers images by position and knows nothing of this one: searches fall
  // back to the tree's calibrated probes until the owner rebuilds.
  delete tree.graph;
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
  delete tree.graph;
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
