/**
 * SEI top-k search over a published index (paper 5.3.5), with K-anonymity requests (5.5): one
 * request carries 1..16 trapdoors and gets one result list per trapdoor, in request order, all
 * answered the same way so the real one cannot be told apart.
 *
 * Every request resolves the current-version pointer once (CurrentVersionCache: read from the
 * table, or kept from a read less than the pointer TTL ago; owners always read it), then works
 * on that one loaded version only: it plans the leaves each trapdoor visits from the skeleton
 * (the index's routing and calibrated probes unless the request overrides the probes),
 * fetches the union of missing leaves of THAT
 * version in parallel, and ranks. So a search never mixes versions, even while a publish or
 * update replaces the version it started on.
 */
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { planLeafVisits, rankLeaves, searchSettings, validateSearch } from '../../sei/index-tree/search';
import { TrapdoorScorer } from '../../sei/index-tree/scoring';
import type { EncryptedLeaf, SearchDefaults } from '../../sei/index-tree/types';
import { MAX_SEARCH_K, MAX_SEARCH_PROBES, MAX_TRAPDOORS_PER_SEARCH } from '../../api/limits';
import type { SearchRequest, SearchResponse } from '../../api/schemas';
import type { CurrentVersionCache } from '../versions/current-version-cache';
import type { SeiIndexCache } from './sei-index-cache';
import type { ImageId, IndexName, OwnerId } from '../../core/ids';

/**
 * The search request of the contract, with trapdoors as any array-like of numbers (callers in
 * process pass Float64Arrays); the service checks every limit itself. Without probes, the number
 * the owner's build calibrated for the index's target recall applies.
 */
export type SeiSearchRequest = Omit<SearchRequest, 'trapdoors'> & { readonly trapdoors: ReadonlyArray<ArrayLike<number>> };

export type SeiSearchResponse = SearchResponse & {
  /** For logs (counts only; probes: what was used, the request's or the index's). */
  readonly stats: { probes: number; leavesVisited: number; leavesFetched: number; rangeReads: number; vectorsScored: number };
};

/** Checks the request's shape; returns its probes override (undefined: the index's default). */
function checkRequestShape(request: SeiSearchRequest): number | undefined {
  const { trapdoors, k } = request;
  if (!Array.isArray(trapdoors) || trapdoors.length < 1 || trapdoors.length > MAX_TRAPDOORS_PER_SEARCH) {
    throw new InvalidInputError(`trapdoors must be a list of 1 to ${MAX_TRAPDOORS_PER_SEARCH} trapdoors (one real, the others decoys)`);
  }
  if (!Number.isInteger(k) || k < 1 || k > MAX_SEARCH_K) throw new InvalidInputError(`k must be an integer from 1 to ${MAX_SEARCH_K}`);
  const { probes } = request;
  if (probes !== undefined && (!Number.isInteger(probes) || probes < 1 || probes > MAX_SEARCH_PROBES)) {
    throw new InvalidInputError(`probes must be an integer from 1 to ${MAX_SEARCH_PROBES}`);
  }
  return probes;
}

/** Checks one trapdoor against the index and copies it into a Float64Array. */
function toTrapdoor(
  values: ArrayLike<number>,
  position: number,
  index: { m: number; d: number; search: SearchDefaults },
  k: number,
  probes: number | undefined,
): Float64Array {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new InvalidInputError(`trapdoors[${position}] must be a list of numbers`);
  }
  const trapdoor = new Float64Array(values.length);
  for (let j = 0; j < values.length; j++) {
    const value = values[j];
    // Non-numbers would become NaN in the typed array; say which entry is wrong instead.
    trapdoor[j] = typeof value === 'number' ? value : Number.NaN;
  }
  try {
    validateSearch(index, trapdoor, { k, probes });
  } catch (error) {
    if (error instanceof InvalidInputError) throw new InvalidInputError(`trapdoors[${position}]: ${error.message}`);
    throw error;
  }
  return trapdoor;
}

export interface SeiSearchOptions {
  /** Read the pointer from the table even if a recent read is cached (owners: read-your-writes). */
  readonly freshPointer?: boolean;
}

export class SeiSearchService {
  constructor(
    private readonly pointers: CurrentVersionCache,
    private readonly cache: SeiIndexCache,
  ) {}

  async search(ownerId: OwnerId, indexName: IndexName, request: SeiSearchRequest, options: SeiSearchOptions = {}): Promise<SeiSearchResponse> {
    const probes = checkRequestShape(request);
    const { k } = request;

    const current = await this.pointers.get(ownerId, indexName, { fresh: options.freshPointer });
    if (current === undefined) throw new NotFoundError(`index "${indexName}" does not exist or has no published version`);
    if (current.kind !== 'sei') {
      const instead = current.kind === 'sealed' ? 'a sealed index is searched by the client, with the leaves it asks for' : 'use identify';
      throw new InvalidInputError(`index "${indexName}" is a "${current.kind}" index: search works on SEI indexes (${instead})`);
    }
    const index = await this.cache.load(ownerId, indexName, current.version);
    const { skeleton } = index;
    const trapdoors = request.trapdoors.map((values, i) => toTrapdoor(values, i, skeleton, k, probes));
    const settings = searchSettings(skeleton, { k, probes });

    const leafSize = (leaf: number) => skeleton.leafDirectory[leaf].count;
    const scorers = trapdoors.map((trapdoor) => TrapdoorScorer.of(skeleton, trapdoor));
    const plans = scorers.map((scorer) => planLeafVisits(skeleton, scorer, settings, k, leafSize));
    const wanted = new Set<number>();
    for (const plan of plans) for (const leaf of plan.leaves) wanted.add(leaf);
    const fetched = await this.cache.leaves(index, wanted);

    // The leaves this request holds, at their leaf indices (the others are never touched).
    const leaves: EncryptedLeaf[] = new Array(skeleton.leafDirectory.length);
    for (const [leaf, block] of fetched.leaves) leaves[leaf] = block;
    const view = { m: skeleton.m, leaves };
    let vectorsScored = 0;
    let leavesVisited = 0;
    const results = scorers.map((scorer, i) => {
      const ranked = rankLeaves(view, plans[i].leaves, scorer, k);
      vectorsScored += ranked.vectorsScored;
      leavesVisited += plans[i].leaves.length;
      // Leaf ids were parsed when they entered (the index validator at publish, addImage), and a
      // leaf's bytes match the part digests of its version before they are used.
      return { hits: ranked.hits.map((hit) => ({ imageId: hit.id as ImageId, score: hit.score })) };
    });
    return {
      version: index.version,
      results,
      ...(index.provenance !== undefined ? { provenance: index.provenance } : {}),
      stats: { probes: settings.probes, leavesVisited, leavesFetched: fetched.stats.fetched, rangeReads: fetched.stats.rangeReads, vectorsScored },
    };
  }
}
