/**
 * A least-recently-used cache bounded by the bytes its values hold (as the caller estimates
 * them). Map iteration order is insertion order, so re-inserting on every hit keeps the least
 * recently used entry first, where eviction takes it.
 */
export class ByteLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private used = 0;

  constructor(readonly capacityBytes: number) {
    if (!Number.isFinite(capacityBytes) || capacityBytes < 0) throw new Error('cache capacity must be a non-negative number of bytes');
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Stores a value, evicting the least recently used entries to make room. A value larger than
   * the whole capacity is not kept (the caller still has it for the request at hand).
   */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.capacityBytes) return;
    for (const [oldest, entry] of this.entries) {
      if (this.used + bytes <= this.capacityBytes) break;
      this.entries.delete(oldest);
      this.used -= entry.bytes;
    }
    this.entries.set(key, { value, bytes });
    this.used += bytes;
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.used -= entry.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}
