/**
 * The one in-memory cache of the project: what a warm function keeps between requests (loaded
 * index versions, index leaves, HE decryptors, current-version pointers, verified tokens, owner
 * keys, secrets) all live in a LoadingCache, and so do the client's (verified index versions, a
 * sealed index's opened versions).
 *
 * - Bounded by size: each kept value counts `sizeOf(value)` (bytes, or 1 per entry by default)
 *   and the least recently used values are evicted until the total is at most `maxSize`. A value
 *   larger than `maxSize` is returned but not kept. Loads in flight count nothing.
 * - Loading: `get(key, load)` returns the kept value, or joins the load already running for the
 *   key, or starts one: concurrent callers share one load. A failed load is not kept (every
 *   caller waiting on it gets the error; the next call loads again), and neither is a load that
 *   yields `undefined` (a "not found" must not hide a later create).
 * - Newest load wins: `refresh` starts a load even when a value is kept; whichever load started
 *   last decides what stays, whatever order they finish in.
 * - Optional TTL: a value expires `ttlMs` after its load STARTED (so its age is never
 *   understated), and the next access loads it again.
 * - Disposal: `dispose(value)` runs exactly once for each value the cache loaded or was given,
 *   once it has left the cache (evicted, replaced, expired, deleted, cleared, never kept) AND no
 *   lease holds it. Values holding WebAssembly memory (node-seal handles) are freed that way. A
 *   cache with `dispose` hands values out only through leases (`acquire`), since a value from a
 *   plain `get` could be disposed while its caller still uses it.
 *
 * Why not lru-cache: it has no leases, and it aborts a fetch whose entry is evicted, which would
 * leave a loaded WebAssembly object that no one owns or frees.
 */

export interface LoadingCacheOptions<K, V> {
  /** Capacity, in the unit of sizeOf (0: nothing is kept, loads are still shared). */
  readonly maxSize: number;
  /** The size a kept value counts (bytes for memory-bounded caches). Default: 1 (maxSize counts entries). */
  readonly sizeOf?: (value: V, key: K) => number;
  /** Values expire this long after their load started. Default: never. */
  readonly ttlMs?: number;
  /** Frees a value (e.g. WebAssembly handles) once it has left the cache and is not leased. */
  readonly dispose?: (value: V, key: K) => void;
  /** Monotonic clock in milliseconds (tests). Default: performance.now. */
  readonly now?: () => number;
}

/** A value held for the duration of some work: it is not disposed before release(). */
export interface Lease<V> {
  readonly value: V;
  /** Gives the value back (idempotent). */
  release(): void;
}

interface Entry<K, V> {
  readonly key: K;
  /** Order in which loads started: the later one wins (refresh). */
  readonly sequence: number;
  readonly expiresAt: number;
  readonly promise: Promise<V>;
  ready: boolean;
  value: V | undefined;
  size: number;
  /** In the map (and, once ready, counted in `used`). */
  kept: boolean;
  holders: number;
  disposed: boolean;
}

export class LoadingCache<K, V> {
  private readonly entries = new Map<K, Entry<K, V>>();
  private used = 0;
  private sequence = 0;
  private readonly maxSize: number;
  private readonly sizeOf: (value: V, key: K) => number;
  private readonly ttlMs: number;
  private readonly disposeValue?: (value: V, key: K) => void;
  private readonly now: () => number;

  constructor(options: LoadingCacheOptions<K, V>) {
    if (!Number.isFinite(options.maxSize) || options.maxSize < 0) throw new Error('LoadingCache: maxSize must be a non-negative number');
    const ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY;
    if (!(ttlMs >= 0)) throw new Error('LoadingCache: ttlMs must be a non-negative number');
    this.maxSize = options.maxSize;
    this.sizeOf = options.sizeOf ?? (() => 1);
    this.ttlMs = ttlMs;
    this.disposeValue = options.dispose;
    this.now = options.now ?? (() => performance.now());
  }

  /** Kept values (loads in flight not included). */
  get size(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.ready) count++;
    return count;
  }

  /** Sum of the kept values' sizes (never above maxSize). */
  get totalSize(): number {
    return this.used;
  }

  /** True if a value for the key is kept and fresh, or loading. */
  has(key: K): boolean {
    return this.live(key) !== undefined;
  }

  /** The kept value if it is fresh (marked recently used); never loads, never waits. */
  peek(key: K): V | undefined {
    this.assertNoDispose('peek');
    const entry = this.touch(key);
    return entry?.ready ? entry.value : undefined;
  }

  /** The kept value, or the load in flight, else a new load. Not for caches with dispose: use acquire. */
  get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    this.assertNoDispose('get');
    return (this.touch(key) ?? this.start(key, load, false)).promise;
  }

  /** Like get, and the value is not disposed until the lease is released. */
  async acquire(key: K, load: (key: K) => Promise<V>): Promise<Lease<V>> {
    const entry = this.touch(key) ?? this.start(key, load, false);
    entry.holders++;
    let value: V;
    try {
      value = await entry.promise;
    } catch (error) {
      entry.holders--;
      this.disposeIfDone(entry);
      throw error;
    }
    let released = false;
    return {
      value,
      release: () => {
        if (released) return;
        released = true;
        entry.holders--;
        this.disposeIfDone(entry);
      },
    };
  }

  /** Loads the key again even if a value is kept; the result replaces it unless a later load won. */
  refresh(key: K, load: (key: K) => Promise<V>): Promise<V> {
    this.assertNoDispose('refresh');
    return this.start(key, load, true).promise;
  }

  /** Keeps a value the caller made (the cache owns it from now on). */
  set(key: K, value: V): void {
    const entry = this.newEntry(key, Promise.resolve(value));
    this.admit(entry, value, true);
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(entry);
  }

  /** Drops every value (each disposed once no lease holds it). */
  clear(): void {
    for (const entry of [...this.entries.values()]) this.remove(entry);
  }

  private assertNoDispose(method: string): void {
    if (this.disposeValue !== undefined) throw new Error(`LoadingCache.${method}: a cache that disposes its values hands them out through acquire() only`);
  }

  /** The entry for key if it is loading or fresh; an expired one is removed. */
  private live(key: K): Entry<K, V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== Number.POSITIVE_INFINITY && this.now() >= entry.expiresAt) {
      this.remove(entry);
      return undefined;
    }
    return entry;
  }

  private touch(key: K): Entry<K, V> | undefined {
    const entry = this.live(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  private newEntry(key: K, promise: Promise<V>): Entry<K, V> {
    return {
      key,
      sequence: ++this.sequence,
      expiresAt: this.ttlMs === Number.POSITIVE_INFINITY ? this.ttlMs : this.now() + this.ttlMs,
      promise,
      ready: false,
      value: undefined,
      size: 0,
      kept: false,
      holders: 0,
      disposed: false,
    };
  }

  /**
   * Starts a load. A plain load is in the map while it runs (so others join it); a refresh runs
   * on its own and only enters the map when it completes, if no later load has.
   */
  private start(key: K, load: (key: K) => Promise<V>, refresh: boolean): Entry<K, V> {
    let settle!: { resolve: (value: V) => void; reject: (error: unknown) => void };
    const promise = new Promise<V>((resolve, reject) => (settle = { resolve, reject }));
    const entry = this.newEntry(key, promise);
    if (!refresh) {
      const previous = this.entries.get(key);
      if (previous !== undefined) this.remove(previous);
      entry.kept = true;
      this.entries.set(key, entry);
    }
    // Handled here, so a failure no caller awaits is not an unhandled rejection.
    promise.catch(() => undefined);
    let loading: Promise<V>;
    try {
      loading = load(key);
    } catch (error) {
      loading = Promise.reject(error);
    }
    const fail = (error: unknown) => {
      if (entry.kept) {
        entry.kept = false;
        if (this.entries.get(key) === entry) this.entries.delete(key);
      }
      settle.reject(error);
    };
    loading.then((value) => {
      try {
        this.admit(entry, value, refresh);
      } catch (error) {
        // sizeOf threw: the value cannot be accounted for, so it is not kept (nor handed out).
        fail(error);
        this.disposeIfDone(entry);
        return;
      }
      settle.resolve(value);
    }, fail);
    return entry;
  }

  /** A load completed (or a value was given): keep it if it may stay, else dispose when free. */
  private admit(entry: Entry<K, V>, value: V, replaces: boolean): void {
    entry.ready = true;
    entry.value = value;
    if (replaces) {
      const current = this.entries.get(entry.key);
      if (current === undefined || current.sequence < entry.sequence) {
        if (current !== undefined) this.remove(current);
        entry.kept = true;
        this.entries.set(entry.key, entry);
      }
    }
    if (entry.kept) {
      const size = value === undefined ? Number.POSITIVE_INFINITY : this.sizeOf(value, entry.key);
      if (!(size <= this.maxSize)) {
        entry.kept = false;
        this.entries.delete(entry.key);
      } else {
        entry.size = size;
        this.used += size;
        this.evict(entry);
      }
    }
    this.disposeIfDone(entry);
  }

  /** Evicts the least recently used kept values (never `keep`) until the total fits. */
  private evict(keep: Entry<K, V>): void {
    if (this.used <= this.maxSize) return;
    for (const entry of [...this.entries.values()]) {
      if (this.used <= this.maxSize) break;
      if (entry !== keep && entry.ready) this.remove(entry);
    }
  }

  private remove(entry: Entry<K, V>): void {
    if (!entry.kept) return;
    entry.kept = false;
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    if (entry.ready) this.used -= entry.size;
    this.disposeIfDone(entry);
  }

  private disposeIfDone(entry: Entry<K, V>): void {
    if (entry.kept || !entry.ready || entry.holders > 0 || entry.disposed || this.disposeValue === undefined) return;
    entry.disposed = true;
    if (entry.value === undefined) return;
    try {
      this.disposeValue(entry.value, entry.key);
    } catch {
      // Freeing memory must not fail the request whose load evicted the value.
    }
  }
}
