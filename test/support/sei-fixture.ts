/** A small SEI world for tests: owner key, one user, clustered features, encrypted tree. */
import { seededRandom } from '../../lib/core/random';
import { clusteredVectors } from '../../scripts/bench/synthetic/vectors';
import { row, squaredDistanceAt, type VectorSet } from '../../lib/linalg/vectors';
import { buildEncryptedIndexTree } from '../../lib/sei/index-tree/build';
import type { IndexTreeBuildOptions } from '../../lib/sei/index-tree/types';
import { generateOwnerSecret } from '../../lib/sei/owner-key';
import { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import { generateUserSecret, issueUserKey } from '../../lib/sei/user-key';

export function seiWorld(n: number, d: number, seed: number, options: IndexTreeBuildOptions = {}) {
  const { vectors, labels } = clusteredVectors({ n, d, seed });
  const ids = Array.from({ length: n }, (_, i) => `img-${i}`);
  const owner = generateOwnerSecret(d);
  const secret = generateUserSecret(d);
  const generator = new TrapdoorGenerator(issueUserKey(owner, secret.W), secret);
  const { tree, plain } = buildEncryptedIndexTree(owner, vectors, ids, {
    random: seededRandom(seed + 7),
    ...options,
  });
  return { vectors, labels, ids, owner, generator, tree, plain };
}

/** Ids of the k plaintext nearest neighbours of `query` (exact Euclidean). */
export function plaintextNearest(vectors: VectorSet, query: Float64Array, k: number): string[] {
  const order = Array.from({ length: vectors.n }, (_, i) => i).map((i) => ({
    i,
    dist: squaredDistanceAt(vectors.data, i * vectors.d, query, 0, vectors.d),
  }));
  order.sort((a, b) => a.dist - b.dist || a.i - b.i);
  return order.slice(0, k).map((o) => `img-${o.i}`);
}

export { row };
