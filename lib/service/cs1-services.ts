/**
 * CS1's services, wired to the storage of the process. A warm Lambda keeps them (and with
 * them the in-memory index cache) across invocations; tests build their own with
 * createCs1Services on emulated or wrapped stores. The index-version service lives apart
 * (index-version-services.ts): it needs every index kind's validator, and the search and
 * update functions should not load (or bundle) the two-server and HE code for nothing; so do the
 * account services (accounts/account-services.ts), which need no S3 and no index code.
 *
 * Settings (lib/config/settings.ts): BLINDSIGHT_INDEX_CACHE_MB (memory for cached index leaves
 * and directory shards) and BLINDSIGHT_POINTER_TTL_MS (see current-version-cache.ts).
 */
import { processConfig } from '../config/environment';
import { createCs1Storage } from '../storage/factory';
import { CurrentVersionCache } from './versions/current-version-cache';
import { ImageService } from './images/images';
import { ImageRemovalService } from './images/image-removals';
import { SeiIndexCache } from './sei/sei-index-cache';
import { SeiSearchService } from './sei/sei-search';
import { SeiUpdateService } from './sei/sei-updates';
import { SealedLeafService } from './sealed/sealed-leaves';
import type { Cs1Stores } from './types';

export interface Cs1Services {
  readonly stores: Cs1Stores;
  readonly indexCache: SeiIndexCache;
  /** Current-version pointers read recently (searches); changes made here forget theirs. */
  readonly pointers: CurrentVersionCache;
  readonly images: ImageService;
  readonly removals: ImageRemovalService;
  readonly search: SeiSearchService;
  readonly updates: SeiUpdateService;
  /** Sealed indexes: hands out leaves (its own cache of leaf bytes). */
  readonly sealedLeaves: SealedLeafService;
}

export interface Cs1ServiceOptions {
  /** Default: BLINDSIGHT_INDEX_CACHE_MB. */
  readonly indexCacheBytes?: number;
  /** Default: BLINDSIGHT_POINTER_TTL_MS. */
  readonly pointerTtlMs?: number;
  /** Clock (tests). */
  readonly now?: () => Date;
}

export function createCs1Services(stores: Cs1Stores, options: Cs1ServiceOptions = {}): Cs1Services {
  const now = options.now ?? (() => new Date());
  const config = processConfig();
  const cacheBytes = options.indexCacheBytes ?? Math.floor(config.get('indexCacheMb') * 1024 * 1024);
  const indexCache = new SeiIndexCache(stores, { cacheBytes });
  const pointers = new CurrentVersionCache(stores.indexes, options.pointerTtlMs ?? config.get('pointerTtlMs'));
  return {
    stores,
    indexCache,
    pointers,
    images: new ImageService(stores.objects),
    removals: new ImageRemovalService(stores.objects, stores.indexes, now),
    search: new SeiSearchService(pointers, indexCache),
    updates: new SeiUpdateService(stores, indexCache, now, pointers),
    // A function serves one route, so only one of the two caches ever fills in a process.
    sealedLeaves: new SealedLeafService(stores, pointers, { cacheBytes }),
  };
}

let processServices: Cs1Services | undefined;

/** The services of this process, on the configured table and bucket (built on first use). */
export function cs1Services(): Cs1Services {
  processServices ??= createCs1Services(createCs1Storage());
  return processServices;
}

/**
 * Forgets the process's services (tests that change the environment).
 * @internal Only tests call it: a function's process keeps these for its lifetime, and a test
 * suite that sets other variables between cases must drop them. No other way reaches the module's
 * cache.
 */
export function resetCs1Services(): void {
  processServices = undefined;
}
