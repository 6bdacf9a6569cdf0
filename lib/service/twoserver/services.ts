/**
 * CS1's identification service for this process, on the configured table and bucket (lib/
 * storage/factory.ts) and the configured way to CS2 (lib/twoserver/transport/config.ts, read on
 * the first identification, so functions that never call CS2 need none of its variables). A
 * warm Lambda keeps the loaded index versions across invocations.
 *
 * BLINDSIGHT_TWO_SERVER_CACHE_VERSIONS: loaded versions kept per process (default 4).
 */
import { createCs1Storage } from '../../storage/factory';
import { createCs2TransportFactory, readCs2TransportConfig } from '../../twoserver/transport/config';
import type { Cs2TransportFactory } from '../../twoserver/transport/config';
import type { Cs1Stores } from '../cs1/types';
import { DEFAULT_MAX_LOADED_VERSIONS, TwoServerIndexCache } from './index-cache';
import { TwoServerIdentificationService } from './identification';
import type { TwoServerIdentificationOptions } from './identification';

export interface TwoServerServices {
  readonly cache: TwoServerIndexCache;
  readonly identification: TwoServerIdentificationService;
}

export interface TwoServerServiceOptions extends TwoServerIdentificationOptions {
  /** Default: from the environment on first use. */
  readonly transports?: Cs2TransportFactory;
  readonly maxLoadedVersions?: number;
}

function maxVersionsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.BLINDSIGHT_TWO_SERVER_CACHE_VERSIONS?.trim();
  if (raw === undefined || raw === '') return DEFAULT_MAX_LOADED_VERSIONS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 64) throw new Error('BLINDSIGHT_TWO_SERVER_CACHE_VERSIONS must be an integer from 1 to 64');
  return value;
}

export function createTwoServerServices(stores: Pick<Cs1Stores, 'objects' | 'indexes'>, options: TwoServerServiceOptions = {}): TwoServerServices {
  const cache = new TwoServerIndexCache(stores.indexes, options.maxLoadedVersions ?? maxVersionsFromEnv());
  let transports = options.transports;
  const identification = new TwoServerIdentificationService(
    stores,
    cache,
    () => (transports ??= createCs2TransportFactory(readCs2TransportConfig())),
    options,
  );
  return { cache, identification };
}

let processServices: TwoServerServices | undefined;

export function twoServerServices(): TwoServerServices {
  processServices ??= createTwoServerServices(createCs1Storage());
  return processServices;
}

/** Forgets the process's services (tests that change the environment). */
export function resetTwoServerServices(): void {
  processServices?.cache.clear();
  processServices = undefined;
}
