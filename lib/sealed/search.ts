/**
 * A sealed search on the client, given a way to fetch leaves: choose the L leaves (real among
 * decoys), fetch exactly those, authenticate every one of them (decoys too: a changed byte is
 * an error whichever leaf it is in), decode the real ones, rank exactly, return the top k.
 *
 *   const searcher = await SealedSearcher.open(indexKey, { ownerId, indexName, version }, routingBytes);
 *   const { hits } = await searcher.search(query, { k: 10 }, (leaves) => cs1.sealedLeaves(...));
 *
 * One searcher per index version: it holds the decrypted routing data (the cache a client keeps
 * per version). No node:* imports: this runs in browsers.
 */
import { MalformedDataError } from '../core/errors';
import { checkQuery, chooseLeaves } from './leaf-choice';
import { rankSealedLeaves } from './rank';
import { decryptLeaf, openLeaf, openRouting } from './seal';
import type { IndexKey, LeafRequest, SealedBinding, SealedHit, SealedLeaf, SealedRouting } from './types';

/**
 * Fetches the given leaves (all of them, and only them) as stored: leaf number -> bytes. The
 * transport (CS1 route, presigned range reads, a test double) is the caller's.
 */
export type LeafFetcher = (leaves: readonly number[]) => Promise<ReadonlyMap<number, Uint8Array>>;

export interface SealedSearchOptions {
  readonly k: number;
  /** Real leaves to read (1..L); default the index's, chosen by the owner for its target recall. */
  readonly realLeaves?: number;
}

export interface SealedSearchResult {
  readonly hits: SealedHit[];
  /** What was asked (kept by the client only; `real` never leaves it). */
  readonly request: LeafRequest;
  readonly stats: {
    /** Stored bytes received (L leaves). */
    readonly bytes: number;
    readonly vectorsScored: number;
    /** Milliseconds spent in this process on choosing, decrypting and ranking (not fetching). */
    readonly clientMs: number;
    readonly fetchMs: number;
  };
}

export class SealedSearcher {
  private constructor(
    private readonly key: IndexKey,
    readonly routing: SealedRouting,
  ) {}

  /** Decrypts the routing part of one version (see openRouting for the errors). */
  static async open(key: IndexKey, binding: SealedBinding, routingBytes: Uint8Array): Promise<SealedSearcher> {
    return new SealedSearcher(key, await openRouting(key, binding, routingBytes));
  }

  get binding(): SealedBinding {
    return this.routing.binding;
  }

  /** The leaves a query would ask for (fresh decoys each call). */
  plan(query: ArrayLike<number>, options: { realLeaves?: number } = {}): LeafRequest {
    return chooseLeaves(this.routing, query, options);
  }

  /** Authenticates every fetched leaf and decodes the real ones, in `real` order. */
  async open(request: LeafRequest, fetched: ReadonlyMap<number, Uint8Array>): Promise<SealedLeaf[]> {
    for (const leaf of request.leaves) {
      if (!fetched.has(leaf)) throw new MalformedDataError(`the leaves from CS1`, `do not include leaf ${leaf}`);
    }
    if (fetched.size !== request.leaves.length) throw new MalformedDataError('the leaves from CS1', `hold ${fetched.size} leaves, ${request.leaves.length} were asked for`);
    const real = new Set(request.real);
    const decoys = request.leaves.filter((leaf) => !real.has(leaf));
    const [opened] = await Promise.all([
      Promise.all(request.real.map((leaf) => openLeaf(this.key, this.routing, leaf, fetched.get(leaf)!))),
      Promise.all(decoys.map((leaf) => decryptLeaf(this.key, this.routing, leaf, fetched.get(leaf)!))),
    ]);
    return opened;
  }

  async search(query: ArrayLike<number>, options: SealedSearchOptions, fetch: LeafFetcher): Promise<SealedSearchResult> {
    checkQuery(this.routing, query);
    let started = performance.now();
    const request = this.plan(query, { realLeaves: options.realLeaves });
    let clientMs = performance.now() - started;

    started = performance.now();
    const fetched = await fetch(request.leaves);
    const fetchMs = performance.now() - started;

    started = performance.now();
    const leaves = await this.open(request, fetched);
    const { hits, vectorsScored } = rankSealedLeaves(this.routing, leaves, query, options.k);
    clientMs += performance.now() - started;
    let bytes = 0;
    for (const leaf of request.leaves) bytes += fetched.get(leaf)!.length;
    return { hits, request, stats: { bytes, vectorsScored, clientMs, fetchMs } };
  }
}
