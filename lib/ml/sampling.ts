/**
 * Uniform sampling of row indices without replacement: PCA, K-means and CAK-means fit on
 * samples when the full data would be too slow (or, for Affinity Propagation, too large).
 */
import type { RandomSource } from '../core/random';
import { secureRandom } from '../core/random';
import { checkInteger } from './validation';

/**
 * `m` distinct indices drawn uniformly from [0, n), returned ascending (ascending rows keep the
 * later copy cache-friendly). Partial Fisher-Yates: O(n) memory, O(n + m log m) time.
 */
export function sampleIndices(n: number, m: number, random: RandomSource = secureRandom): Uint32Array {
  checkInteger(n, 'population size', 0, 0xffffffff);
  checkInteger(m, 'sample size', 0, n);
  const pool = new Uint32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + random.int(n - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  return pool.slice(0, m).sort();
}
