/**
 * The index-version service of the process (create, publish, describe), with every index kind
 * of index-kinds.ts, on the stores of cs1Services(). Kept apart from services.ts so only the
 * functions that validate or describe versions load the kinds' validators.
 */
import { createIndexKinds } from './index-kinds';
import { IndexVersionService } from './index-versions';
import { cs1Services } from './services';
import type { Cs1Stores } from './types';

let cached: { stores: Cs1Stores; service: IndexVersionService } | undefined;

export function cs1IndexVersions(): IndexVersionService {
  const { stores, pointers } = cs1Services();
  if (cached?.stores !== stores) cached = { stores, service: new IndexVersionService(stores, createIndexKinds(), undefined, pointers) };
  return cached.service;
}
