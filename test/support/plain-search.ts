/**
 * Plaintext range searches the tests compare the encrypted protocol with: exhaustive, and the
 * same iDistance + segments pruning CS1 runs but on plaintext. Results are sorted by exact
 * squared distance, ties by template index.
 */
import type { VectorSet } from '../../lib/linalg/vectors';
import { assertDimension, squaredDistanceAt } from '../../lib/linalg/vectors';
import { candidateRanges, searchRanges } from '../../lib/twoserver/idistance-query';
import type { SegmentIndex } from '../../lib/twoserver/segments/types';
import type { IDistanceIndex } from '../../lib/twoserver/types';
import { allSquaredDistances } from '../../scripts/bench/baselines/plain-search';

export interface PlainMatch {
  /** Index of the template in the input set. */
  readonly index: number;
  readonly dist2: number;
}

function byDistance(a: PlainMatch, b: PlainMatch): number {
  return a.dist2 - b.dist2 || a.index - b.index;
}

function queryArray(templates: VectorSet, query: ArrayLike<number>): Float64Array {
  assertDimension(query, templates.d, 'query');
  return Float64Array.from(query);
}

/** Every template with dist2 <= tauSquared. */
export function bruteForceRange(templates: VectorSet, query: ArrayLike<number>, tauSquared: number): PlainMatch[] {
  const dist2 = allSquaredDistances(templates, query);
  const out: PlainMatch[] = [];
  for (let i = 0; i < dist2.length; i++) if (dist2[i] <= tauSquared) out.push({ index: i, dist2: dist2[i] });
  return out.sort(byDistance);
}

/** The iDistance range search on plaintext (templates in input order); also reports the candidate count. */
export function iDistanceRangePlain(
  index: IDistanceIndex,
  segments: SegmentIndex,
  templates: VectorSet,
  query: ArrayLike<number>,
  tauSquared: number,
): { matches: PlainMatch[]; candidates: number } {
  const q = queryArray(templates, query);
  const { d } = templates;
  const centreDist2 = new Float64Array(index.partitions);
  for (let i = 0; i < index.partitions; i++) centreDist2[i] = squaredDistanceAt(index.referencePoints.data, i * d, q, 0, d);
  const ranges = candidateRanges(index, segments, searchRanges(index, centreDist2, tauSquared));
  const matches: PlainMatch[] = [];
  let candidates = 0;
  for (const { start, end } of ranges) {
    for (let pos = start; pos < end; pos++) {
      candidates++;
      const i = index.order[pos];
      const dist2 = squaredDistanceAt(templates.data, i * d, q, 0, d);
      if (dist2 <= tauSquared) matches.push({ index: i, dist2 });
    }
  }
  return { matches: matches.sort(byDistance), candidates };
}
