/**
 * The current-version pointers a search function has read, kept for a short time so that a
 * warm function does not read the pointer item on every request.
 *
 * Consistency: a search resolves the pointer ONCE and then works on that version only (the
 * versions it names are immutable), so a cached pointer can make a search answer from the
 * version that served up to `ttlMs` ago, but never from a mix of versions. What the TTL costs is
 * visibility: a publish (or an image added or deleted, which publishes a new version) reaches
 * the searches of a warm function up to `ttlMs` later. Owners, who make those changes, always
 * read the pointer (`fresh`), so an owner sees its own change at once; users cannot tell "just
 * published" from "published a moment later". A missing pointer (no such index yet) is never
 * cached, so a first publish is visible at once to everyone. TTL 0 reads the pointer on every
 * request.
 *
 * BLINDSIGHT_POINTER_TTL_MS sets the TTL (lib/config/settings.ts; 0 disables).
 */
import { LoadingCache } from '../../core/loading-cache';
import type { CurrentIndexVersion, IndexCatalog } from '../../storage/types';
import type { IndexName, OwnerId } from '../../core/ids';

const MAX_CACHED_POINTERS = 1000;

export class CurrentVersionCache {
  private readonly pointers: LoadingCache<string, CurrentIndexVersion | undefined>;

  constructor(
    private readonly catalog: Pick<IndexCatalog, 'getCurrent'>,
    readonly ttlMs: number,
    /** Monotonic clock in milliseconds (tests). */
    nowMs: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(ttlMs) || ttlMs < 0) throw new Error('the pointer TTL must be a non-negative integer number of milliseconds');
    // A missing pointer is never kept (LoadingCache keeps no undefined); of two reads racing, the
    // one started later decides (it holds the newer pointer, or the same).
    this.pointers = new LoadingCache({ maxSize: MAX_CACHED_POINTERS, ttlMs, now: nowMs });
  }

  /**
   * The index's current version: from memory if read less than `ttlMs` ago and `fresh` is not
   * set, else from the catalog (strongly consistent).
   */
  async get(ownerId: OwnerId, indexName: IndexName, options: { fresh?: boolean } = {}): Promise<CurrentIndexVersion | undefined> {
    if (this.ttlMs === 0) return this.catalog.getCurrent(ownerId, indexName);
    const load = () => this.catalog.getCurrent(ownerId, indexName);
    const key = `${ownerId}/${indexName}`;
    return options.fresh === true ? this.pointers.refresh(key, load) : this.pointers.get(key, load);
  }

  /** Drops what is known about an index (this process just changed its pointer). */
  forget(ownerId: OwnerId, indexName: IndexName): void {
    this.pointers.delete(`${ownerId}/${indexName}`);
  }
}
