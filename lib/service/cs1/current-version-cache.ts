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
import type { CurrentIndexVersion, IndexCatalog } from '../../storage/types';

const MAX_CACHED_POINTERS = 1000;

interface Entry {
  readonly pointer: CurrentIndexVersion;
  readonly readAtMs: number;
}

export class CurrentVersionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly catalog: Pick<IndexCatalog, 'getCurrent'>,
    readonly ttlMs: number,
    /** Monotonic clock in milliseconds (tests). */
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(ttlMs) || ttlMs < 0) throw new Error('the pointer TTL must be a non-negative integer number of milliseconds');
  }

  /**
   * The index's current version: from memory if read less than `ttlMs` ago and `fresh` is not
   * set, else from the catalog (strongly consistent).
   */
  async get(ownerId: string, indexName: string, options: { fresh?: boolean } = {}): Promise<CurrentIndexVersion | undefined> {
    const key = `${ownerId}/${indexName}`;
    if (this.ttlMs > 0 && options.fresh !== true) {
      const entry = this.entries.get(key);
      if (entry !== undefined && this.nowMs() - entry.readAtMs < this.ttlMs) return entry.pointer;
    }
    const readAtMs = this.nowMs();
    const pointer = await this.catalog.getCurrent(ownerId, indexName);
    if (this.ttlMs > 0) this.remember(key, pointer, readAtMs);
    return pointer;
  }

  /** Drops what is known about an index (this process just changed its pointer). */
  forget(ownerId: string, indexName: string): void {
    this.entries.delete(`${ownerId}/${indexName}`);
  }

  private remember(key: string, pointer: CurrentIndexVersion | undefined, readAtMs: number): void {
    const known = this.entries.get(key);
    // Of two reads racing, the one started later holds the newer (or the same) pointer.
    if (known !== undefined && known.readAtMs > readAtMs) return;
    this.entries.delete(key);
    if (pointer === undefined) return;
    while (this.entries.size >= MAX_CACHED_POINTERS) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { pointer, readAtMs });
  }
}
