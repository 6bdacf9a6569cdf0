/**
 * Two binary heaps on typed arrays for search hot paths: a min-priority queue of (score, value)
 * pairs (the search frontier) and a bounded collection of the k smallest scores (the results).
 * Typed arrays avoid an object per entry, which matters at tens of thousands of pushes a query.
 */

/** Min-heap of (score, value) with value a non-negative 32-bit integer. */
export class MinScoreHeap {
  private scores: Float64Array;
  private values: Uint32Array;
  private length = 0;

  constructor(capacity = 64) {
    this.scores = new Float64Array(capacity);
    this.values = new Uint32Array(capacity);
  }

  get size(): number {
    return this.length;
  }

  clear(): void {
    this.length = 0;
  }

  push(score: number, value: number): void {
    if (this.length === this.scores.length) {
      const scores = new Float64Array(this.length * 2);
      const values = new Uint32Array(this.length * 2);
      scores.set(this.scores);
      values.set(this.values);
      this.scores = scores;
      this.values = values;
    }
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.scores[parent] <= score) break;
      this.scores[i] = this.scores[parent];
      this.values[i] = this.values[parent];
      i = parent;
    }
    this.scores[i] = score;
    this.values[i] = value;
  }

  peekScore(): number {
    return this.length > 0 ? this.scores[0] : Number.POSITIVE_INFINITY;
  }

  /** Removes the smallest entry and returns its value (undefined when empty). */
  pop(): number | undefined {
    if (this.length === 0) return undefined;
    const top = this.values[0];
    const last = --this.length;
    if (last > 0) this.siftDown(this.scores[last], this.values[last], last);
    return top;
  }

  private siftDown(score: number, value: number, length: number): void {
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= length) break;
      if (child + 1 < length && this.scores[child + 1] < this.scores[child]) child++;
      if (this.scores[child] >= score) break;
      this.scores[i] = this.scores[child];
      this.values[i] = this.values[child];
      i = child;
    }
    this.scores[i] = score;
    this.values[i] = value;
  }
}

/**
 * Keeps the k entries with the smallest scores seen so far (a max-heap of size k whose top is
 * the current k-th best, so most candidates are rejected with one comparison).
 */
export class SmallestK {
  readonly scores: Float64Array;
  readonly values: Float64Array;
  private length = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.values = new Float64Array(k);
  }

  get size(): number {
    return this.length;
  }

  /** Score an entry must beat to enter (infinite until k entries are held). */
  get threshold(): number {
    return this.length < this.k ? Number.POSITIVE_INFINITY : this.scores[0];
  }

  offer(score: number, value: number): void {
    if (this.length < this.k) {
      let i = this.length++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (this.scores[parent] >= score) break;
        this.scores[i] = this.scores[parent];
        this.values[i] = this.values[parent];
        i = parent;
      }
      this.scores[i] = score;
      this.values[i] = value;
      return;
    }
    if (score >= this.scores[0]) return;
    let i = 0;
    const n = this.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.scores[child + 1] > this.scores[child]) child++;
      if (this.scores[child] <= score) break;
      this.scores[i] = this.scores[child];
      this.values[i] = this.values[child];
      i = child;
    }
    this.scores[i] = score;
    this.values[i] = value;
  }

  /** Entries sorted by ascending score (ties by ascending value, so results are deterministic). */
  sorted(): { score: number; value: number }[] {
    const out: { score: number; value: number }[] = [];
    for (let i = 0; i < this.length; i++) out.push({ score: this.scores[i], value: this.values[i] });
    return out.sort((a, b) => a.score - b.score || a.value - b.value);
  }
}
