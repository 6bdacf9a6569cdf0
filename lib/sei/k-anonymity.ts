/**
 * K-anonymity search principle (paper 5.5), user side: a request carries K trapdoors, the real
 * one at a secret random position among K-1 decoys made from other images' feature vectors.
 * Each trapdoor has its own fresh gamma, so the server cannot tell them apart; it answers all K
 * and only the user knows which answer is real.
 */
import { InvalidInputError } from '../core/errors';
import { secureRandom, type RandomSource } from '../core/random';
import { row, type VectorSet } from '../linalg/vectors';
import type { Trapdoor } from './types';

export interface KAnonymousRequest {
  readonly trapdoors: Trapdoor[];
  /** Position of the real query: the user's secret, never sent. */
  readonly realIndex: number;
}

/**
 * @param makeTrapdoor the user's trapdoor generator (fresh gamma per call)
 * @param decoyPool feature vectors of other images (e.g. the user's own gallery); decoys are
 *   drawn from it without replacement
 */
export function createKAnonymousRequest(
  makeTrapdoor: (query: Float64Array) => Trapdoor,
  query: Float64Array,
  decoyPool: VectorSet,
  K: number,
  random: RandomSource = secureRandom,
): KAnonymousRequest {
  if (!Number.isInteger(K) || K < 1) throw new InvalidInputError('K must be a positive integer');
  if (K - 1 > decoyPool.n) {
    throw new InvalidInputError(`K = ${K} needs ${K - 1} decoy images, the pool has ${decoyPool.n}`);
  }
  if (decoyPool.n > 0 && decoyPool.d !== query.length) {
    throw new InvalidInputError(`decoy vectors have dimension ${decoyPool.d}, the query ${query.length}`);
  }
  // Partial Fisher-Yates over the pool indices: K-1 distinct decoys.
  const indices = Array.from({ length: decoyPool.n }, (_, i) => i);
  for (let i = 0; i < K - 1; i++) {
    const j = i + random.int(indices.length - i);
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  const realIndex = random.int(K);
  const trapdoors: Trapdoor[] = [];
  let decoy = 0;
  for (let position = 0; position < K; position++) {
    trapdoors.push(makeTrapdoor(position === realIndex ? query : row(decoyPool, indices[decoy++])));
  }
  return { trapdoors, realIndex };
}
