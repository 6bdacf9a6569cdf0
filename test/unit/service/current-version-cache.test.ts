/**
 * The search function's current-version pointer cache: reused for at most the TTL, always read
 * for owners (fresh), never caching a missing pointer, dropped by a publish in the process, and
 * an older read never replacing a newer one. TTL 0 reads on every call.
 */
import { describe, expect, it } from 'vitest';
import { EnvironmentConfig } from '../../../lib/config/environment';
import { SETTINGS } from '../../../lib/config/settings';
import { CurrentVersionCache } from '../../../lib/service/versions/current-version-cache';
import type { CurrentIndexVersion } from '../../../lib/storage/types';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const OWNER = toOwnerId('o'.repeat(52));

/** A catalog whose pointer the test moves, counting reads; reads can be held open. */
class PointerCatalog {
  version: string | undefined = 'v1';
  reads = 0;
  hold: Promise<void> | undefined;

  async getCurrent(ownerId: string, indexName: string): Promise<CurrentIndexVersion | undefined> {
    this.reads++;
    const version = this.version;
    if (this.hold) await this.hold;
    return version === undefined ? undefined : { ownerId: toOwnerId(ownerId), indexName: toIndexName(indexName), version: toVersionId(version), kind: 'sei', publishedAt: '2026-01-01T00:00:00.000Z' };
  }
}

function setup(ttlMs: number) {
  const catalog = new PointerCatalog();
  let now = 1000;
  const cache = new CurrentVersionCache(catalog, ttlMs, () => now);
  return { catalog, cache, advance: (ms: number) => (now += ms) };
}

describe('CurrentVersionCache', () => {
  it('reuses a pointer for less than the TTL, then reads the table again', async () => {
    const { catalog, cache, advance } = setup(1000);
    expect((await cache.get(OWNER, toIndexName('idx')))?.version).toBe('v1');
    catalog.version = 'v2';
    advance(999);
    expect((await cache.get(OWNER, toIndexName('idx')))?.version).toBe('v1');
    expect(catalog.reads).toBe(1);
    advance(1);
    expect((await cache.get(OWNER, toIndexName('idx')))?.version).toBe('v2');
    expect(catalog.reads).toBe(2);
  });

  it('reads on every call with TTL 0', async () => {
    const { catalog, cache } = setup(0);
    await cache.get(OWNER, toIndexName('idx'));
    catalog.version = 'v2';
    expect((await cache.get(OWNER, toIndexName('idx')))?.version).toBe('v2');
    expect(catalog.reads).toBe(2);
  });

  it('reads fresh when asked (owners), and what it read serves the others', async () => {
    const { catalog, cache } = setup(1000);
    await cache.get(OWNER, toIndexName('idx'));
    catalog.version = 'v2';
    expect((await cache.get(OWNER, toIndexName('idx'), { fresh: true }))?.version).toBe('v2');
    expect((await cache.get(OWNER, toIndexName('idx')))?.version).toBe('v2');
    expect(catalog.reads).toBe(2);
  });

  it('never caches a missing pointer, so a first publish is seen at once', async () => {
    const { catalog, cache } = setup(1000);
    catalog.version = undefined;
    expect(await cache.get(OWNER, toIndexName('new'))).toBeUndefined();
    catalog.version = 'v1';
    expect((await cache.get(OWNER, toIndexName('new')))?.version).toBe('v1');
  });

  it('forgets an index when this process changed its pointer', async () => {
    const { catalog, cache } = setup(1000);
    await cache.get(OWNER, toIndexName('idx'));
    catalog.version = 'v2';
    cache.forget(OWNER, toIndexName('idx'));
    expect((await cache.get(OWNER, toIndexName('idx')))?.version).toBe('v2');
  });

  it('keeps indexes apart', async () => {
    const { catalog, cache } = setup(1000);
    await cache.get(OWNER, toIndexName('a'));
    catalog.version = 'v2';
    expect((await cache.get(OWNER, toIndexName('b')))?.version).toBe('v2');
    expect((await cache.get(OWNER, toIndexName('a')))?.version).toBe('v1');
  });

  it('does not let a read that started earlier replace a newer one', async () => {
    const { catalog, cache, advance } = setup(1000);
    let release!: () => void;
    catalog.hold = new Promise<void>((resolve) => (release = resolve));
    const slow = cache.get(OWNER, toIndexName('idx'), { fresh: true });
    catalog.hold = undefined;
    advance(10);
    catalog.version = 'v2';
    expect((await cache.get(OWNER, toIndexName('idx'), { fresh: true }))?.version).toBe('v2');
    release();
    expect((await slow)?.version).toBe('v1');
    expect((await cache.get(OWNER, toIndexName('idx')))?.version).toBe('v2');
  });

  it('takes its TTL from BLINDSIGHT_POINTER_TTL_MS and refuses nonsense', () => {
    const pointerTtlMsFromEnv = (env: Record<string, string>) => new EnvironmentConfig(env).get('pointerTtlMs');
    expect(pointerTtlMsFromEnv({})).toBe(SETTINGS.pointerTtlMs.default);
    expect(pointerTtlMsFromEnv({ BLINDSIGHT_POINTER_TTL_MS: '0' })).toBe(0);
    expect(pointerTtlMsFromEnv({ BLINDSIGHT_POINTER_TTL_MS: ' 250 ' })).toBe(250);
    for (const bad of ['-1', '1.5', 'soon', '600000']) {
      expect(() => pointerTtlMsFromEnv({ BLINDSIGHT_POINTER_TTL_MS: bad })).toThrow(/BLINDSIGHT_POINTER_TTL_MS must be an integer/);
    }
    expect(() => new CurrentVersionCache(new PointerCatalog(), -5)).toThrow();
  });
});
