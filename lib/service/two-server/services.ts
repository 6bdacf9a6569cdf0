/**
 * CS1's identification services for this process, on the configured table and bucket (lib/
 * storage/factory.ts), the configured way to CS2 (lib/invoke/cs2-transport-config.ts) and to the
 * shard workers (shard-workers.ts), both read on the first identification, so functions that
 * never call them need none of their variables. A warm Lambda keeps the loaded index versions
 * across invocations; the identify worker function uses the same cache for its shards.
 * Loaded versions kept per process: BLINDSIGHT_TWO_SERVER_CACHE_VERSIONS (lib/config/settings.ts).
 */
import { processConfig } from '../../config/environment';
import { createCs1Storage } from '../../storage/factory';
import { createCs2TransportFactory, readCs2TransportConfig } from '../../invoke/cs2-transport-config';
import type { Cs2TransportFactory } from '../../invoke/cs2-transport-config';
import type { Cs1Storage } from '../../storage/factory';
import { TwoServerIndexCache } from './index-cache';
import { TwoServerIdentificationService } from './identification';
import type { TwoServerIdentificationOptions } from './identification';
import { QueryBudgets } from './query-budget';
import { ShardWorkerService } from './shard-worker-service';
import { createShardWorkersFactory, readShardWorkersConfig } from './shard-workers';
import type { ShardWorkersFactory } from './shard-workers';

export interface TwoServerServices {
  readonly cache: TwoServerIndexCache;
  readonly identification: TwoServerIdentificationService;
  readonly worker: ShardWorkerService;
}

export interface TwoServerServiceOptions extends TwoServerIdentificationOptions {
  /** Default: from the environment on first use. */
  readonly transports?: Cs2TransportFactory;
  /** Default: from the environment on first use. */
  readonly workers?: ShardWorkersFactory;
  readonly maxLoadedVersions?: number;
  /** Clock of the query budgets (tests). */
  readonly now?: () => Date;
}

export function createTwoServerServices(stores: Pick<Cs1Storage, 'objects' | 'indexes' | 'budgets'>, options: TwoServerServiceOptions = {}): TwoServerServices {
  const cache = new TwoServerIndexCache(stores.indexes, options.maxLoadedVersions ?? processConfig().get('twoServerCacheVersions'));
  let transports = options.transports;
  let workers = options.workers;
  const identification = new TwoServerIdentificationService(
    stores,
    cache,
    () => (transports ??= createCs2TransportFactory(readCs2TransportConfig())),
    () => (workers ??= createShardWorkersFactory(readShardWorkersConfig())),
    new QueryBudgets(stores.budgets, options.now),
    options,
  );
  const worker = new ShardWorkerService(stores.objects, stores.indexes, cache, { recordReadConcurrency: options.recordReadConcurrency });
  return { cache, identification, worker };
}

let processServices: TwoServerServices | undefined;

export function twoServerServices(): TwoServerServices {
  processServices ??= createTwoServerServices(createCs1Storage());
  return processServices;
}

/**
 * Forgets the process's services (tests that change the environment).
 * @internal Only tests call it: a function's process keeps these for its lifetime, and a test
 * suite that sets other variables between cases must drop them. No other way reaches the module's
 * cache.
 */
export function resetTwoServerServices(): void {
  processServices?.cache.clear();
  processServices = undefined;
}
