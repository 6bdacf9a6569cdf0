/**
 * The invariants of LoadingCache, the one cache every warm-function cache is built on: the size
 * bound is never exceeded, concurrent callers share one load, a failed load is not kept, values
 * expire by TTL counted from the start of their load, the newest load wins, and dispose runs
 * exactly once per value, never while a lease holds it.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { LoadingCache } from '../../../lib/core/loading-cache';
import type { Lease } from '../../../lib/core/loading-cache';

/** A promise resolved or rejected by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('LoadingCache', () => {
  it('evicts the least recently used values and never holds more than maxSize', async () => {
    const cache = new LoadingCache<string, { name: string; bytes: number }>({ maxSize: 100, sizeOf: (value) => value.bytes });
    const value = (name: string, bytes: number) => ({ name, bytes });
    cache.set('a', value('A', 40));
    cache.set('b', value('B', 40));
    expect(cache.peek('a')?.name).toBe('A');
    cache.set('c', value('C', 40));
    expect(cache.has('b')).toBe(false);
    expect(cache.has('a') && cache.has('c')).toBe(true);
    expect(cache.totalSize).toBe(80);
    // A value larger than the whole capacity is handed back but not kept.
    expect((await cache.get('huge', async () => value('H', 101))).name).toBe('H');
    expect(cache.has('huge')).toBe(false);
    cache.set('a', value('A2', 10));
    expect(cache.totalSize).toBe(50);
    expect(cache.peek('a')?.name).toBe('A2');
    expect(cache.size).toBe(2);
  });

  it('shares one load among concurrent callers of a key', async () => {
    const cache = new LoadingCache<string, object>({ maxSize: 10 });
    const pending = deferred<object>();
    let loads = 0;
    const load = () => {
      loads++;
      return pending.promise;
    };
    const callers = Array.from({ length: 50 }, () => cache.get('k', load));
    expect(cache.has('k')).toBe(true);
    expect(cache.peek('k')).toBeUndefined(); // loading, not ready
    const value = {};
    pending.resolve(value);
    const results = await Promise.all(callers);
    expect(loads).toBe(1);
    expect(results.every((result) => result === value)).toBe(true);
    expect(await cache.get('k', load)).toBe(value);
    expect(loads).toBe(1);
  });

  it('does not keep a failed load: every waiter gets the error, the next call loads again', async () => {
    const cache = new LoadingCache<string, string>({ maxSize: 10 });
    const pending = deferred<string>();
    let loads = 0;
    const waiting = Array.from({ length: 5 }, () =>
      cache.get('k', () => {
        loads++;
        return pending.promise;
      }),
    );
    pending.reject(new Error('storage down'));
    for (const waiter of waiting) await expect(waiter).rejects.toThrow('storage down');
    expect(cache.has('k')).toBe(false);
    expect(await cache.get('k', async () => `loaded ${++loads}`)).toBe('loaded 2');
    // A loader that throws synchronously is a failed load too.
    await expect(
      cache.get('sync', () => {
        throw new Error('bad key');
      }),
    ).rejects.toThrow('bad key');
    expect(cache.has('sync')).toBe(false);
    // So is a value whose size cannot be computed.
    const strict = new LoadingCache<string, string>({
      maxSize: 10,
      sizeOf: () => {
        throw new Error('no size');
      },
    });
    await expect(strict.get('k', async () => 'v')).rejects.toThrow('no size');
    expect(strict.has('k')).toBe(false);
  });

  it('keeps no undefined result (a missing item may be created later)', async () => {
    const cache = new LoadingCache<string, string | undefined>({ maxSize: 10 });
    let loads = 0;
    expect(await cache.get('k', async () => (loads++, undefined))).toBeUndefined();
    expect(cache.has('k')).toBe(false);
    expect(await cache.get('k', async () => (loads++, 'now it exists'))).toBe('now it exists');
    expect(loads).toBe(2);
  });

  it('expires values ttlMs after their load started', async () => {
    let now = 0;
    const cache = new LoadingCache<string, number>({ maxSize: 10, ttlMs: 1000, now: () => now });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    now = 999;
    expect(await cache.get('k', load)).toBe(1);
    expect(cache.peek('k')).toBe(1);
    now = 1000;
    expect(cache.peek('k')).toBeUndefined();
    expect(cache.has('k')).toBe(false);
    expect(await cache.get('k', load)).toBe(2);

    // A slow load's value is as old as the load: started at 2000, done at 2900, stale at 3000.
    now = 2000;
    const slow = deferred<number>();
    const waiting = cache.refresh('k', () => slow.promise);
    now = 2900;
    slow.resolve(99);
    expect(await waiting).toBe(99);
    expect(cache.peek('k')).toBe(99);
    now = 3000;
    expect(cache.peek('k')).toBeUndefined();
  });

  it('keeps the result of the load that started last, whatever order they finish in', async () => {
    const cache = new LoadingCache<string, string>({ maxSize: 10 });
    cache.set('k', 'old');
    const first = deferred<string>();
    const second = deferred<string>();
    const a = cache.refresh('k', () => first.promise);
    const b = cache.refresh('k', () => second.promise);
    expect(cache.peek('k')).toBe('old'); // served until a refresh completes
    second.resolve('newer');
    await b;
    expect(cache.peek('k')).toBe('newer');
    first.resolve('older');
    await a;
    expect(cache.peek('k')).toBe('newer');

    // A plain load that started after a refresh wins over it too.
    cache.delete('k');
    const refresh = deferred<string>();
    const plain = deferred<string>();
    const r = cache.refresh('k', () => refresh.promise);
    const p = cache.get('k', () => plain.promise);
    plain.resolve('plain (later)');
    refresh.resolve('refresh (earlier)');
    expect([await r, await p]).toEqual(['refresh (earlier)', 'plain (later)']);
    expect(cache.peek('k')).toBe('plain (later)');
  });

  it('disposes a value once it has left the cache and no lease holds it, and never twice', async () => {
    const disposed: string[] = [];
    const cache = new LoadingCache<string, { name: string }>({ maxSize: 2, dispose: (value) => disposed.push(value.name) });
    const load = (name: string) => async () => ({ name });
    const a = await cache.acquire('a', load('a1'));
    (await cache.acquire('b', load('b1'))).release();
    (await cache.acquire('c', load('c1'))).release();
    // a was least recently used: evicted, but leased, so not disposed yet.
    expect(cache.has('a')).toBe(false);
    expect(disposed).toEqual([]);
    a.release();
    a.release();
    expect(disposed).toEqual(['a1']);
    cache.set('b', { name: 'b2' });
    expect(disposed).toEqual(['a1', 'b1']);
    cache.delete('c');
    cache.clear();
    expect(disposed).toEqual(['a1', 'b1', 'c1', 'b2']);
    expect(() => cache.get('x', load('x'))).toThrow(/acquire/);
    expect(() => cache.peek('x')).toThrow(/acquire/);
  });

  it('disposes a value whose load finished after it was dropped, once its leases are released', async () => {
    const disposed: string[] = [];
    const cache = new LoadingCache<string, { name: string }>({ maxSize: 2, dispose: (value) => disposed.push(value.name) });
    const pending = deferred<{ name: string }>();
    const leased = cache.acquire('k', () => pending.promise);
    cache.clear();
    pending.resolve({ name: 'late' });
    const lease = await leased;
    expect(lease.value.name).toBe('late');
    expect(disposed).toEqual([]);
    lease.release();
    expect(disposed).toEqual(['late']);
    // Too large to keep: disposed at release as well.
    const tiny = new LoadingCache<string, { name: string }>({ maxSize: 1, sizeOf: () => 5, dispose: (value) => disposed.push(value.name) });
    const big = await tiny.acquire('big', async () => ({ name: 'big' }));
    expect(tiny.has('big')).toBe(false);
    big.release();
    expect(disposed).toEqual(['late', 'big']);
  });

  it('holds its invariants under random concurrent use: size bound, one load per key at a time, dispose exactly once and never while leased', async () => {
    const random = seededRandom(20_260_515);
    const maxSize = 300;
    const disposals = new Map<object, number>();
    const leasedNow = new Map<object, number>();
    const created: object[] = [];
    const disposedWhileLeased: object[] = [];
    const sizes = new Map<object, number>();
    const cache = new LoadingCache<number, object>({
      maxSize,
      sizeOf: (value) => sizes.get(value)!,
      dispose: (value) => {
        disposals.set(value, (disposals.get(value) ?? 0) + 1);
        if ((leasedNow.get(value) ?? 0) > 0) disposedWhileLeased.push(value);
      },
    });
    // Two loads of a key may overlap only when the key was deleted or set in between.
    const epoch = new Map<number, number>();
    const inFlight = new Map<number, number[]>();
    let overlapping = 0;
    const load = (key: number) => async () => {
      const mine = epoch.get(key) ?? 0;
      const running = inFlight.get(key) ?? [];
      if (running.includes(mine)) overlapping++;
      inFlight.set(key, [...running, mine]);
      await flush();
      const after = inFlight.get(key)!;
      after.splice(after.indexOf(mine), 1);
      if (random.next() < 0.1) throw new Error('load failed');
      const value = {};
      created.push(value);
      sizes.set(value, 1 + random.int(120));
      return value;
    };
    const held: Lease<object>[] = [];
    const tasks: Promise<void>[] = [];
    for (let step = 0; step < 2000; step++) {
      const key = random.int(12);
      const action = random.next();
      if (action < 0.6) {
        tasks.push(
          cache.acquire(key, load(key)).then(
            (lease) => {
              leasedNow.set(lease.value, (leasedNow.get(lease.value) ?? 0) + 1);
              held.push(lease);
            },
            () => undefined,
          ),
        );
      } else if (action < 0.85 && held.length > 0) {
        const [lease] = held.splice(random.int(held.length), 1);
        leasedNow.set(lease.value, leasedNow.get(lease.value)! - 1);
        lease.release();
      } else if (action < 0.95) {
        epoch.set(key, (epoch.get(key) ?? 0) + 1);
        cache.delete(key);
      } else {
        epoch.set(key, (epoch.get(key) ?? 0) + 1);
        const value = {};
        created.push(value);
        sizes.set(value, 1 + random.int(120));
        cache.set(key, value);
      }
      expect(cache.totalSize).toBeLessThanOrEqual(maxSize);
      if (step % 50 === 0) await flush();
    }
    await Promise.all(tasks);
    expect(cache.totalSize).toBeLessThanOrEqual(maxSize);
    expect(overlapping).toBe(0);
    for (const lease of held) {
      leasedNow.set(lease.value, leasedNow.get(lease.value)! - 1);
      lease.release();
    }
    cache.clear();
    expect(cache.totalSize).toBe(0);
    expect(disposedWhileLeased).toEqual([]);
    expect(created.length).toBeGreaterThan(100);
    expect(created.filter((value) => disposals.get(value) !== 1)).toEqual([]);
  });

  it('keeps nothing with maxSize 0 but still shares a load in flight', async () => {
    const cache = new LoadingCache<string, string>({ maxSize: 0 });
    const pending = deferred<string>();
    let loads = 0;
    const both = [cache.get('k', () => (loads++, pending.promise)), cache.get('k', () => (loads++, pending.promise))];
    pending.resolve('v');
    expect(await Promise.all(both)).toEqual(['v', 'v']);
    expect(loads).toBe(1);
    expect(cache.has('k')).toBe(false);
  });
});
