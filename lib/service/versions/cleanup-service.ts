/** The clean-up service of the process, on the stores of cs1Services() (functions/cs1/cleanup.ts, scripts/cleanup.ts). */
import { cs1Services } from '../cs1-services';
import { IndexCleanupService } from './cleanup';

let cached: { stores: unknown; service: IndexCleanupService } | undefined;

export function cs1CleanupService(): IndexCleanupService {
  const { stores } = cs1Services();
  if (cached?.stores !== stores) {
    const { objects, indexes, publishJobs } = stores;
    if (objects.list === undefined || indexes.listIndexes === undefined) throw new Error('the clean-up needs an object store that lists and a catalog that lists its indexes');
    cached = { stores, service: new IndexCleanupService({ objects: objects as typeof objects & Required<Pick<typeof objects, 'list'>>, indexes: indexes as typeof indexes & Required<Pick<typeof indexes, 'listIndexes'>>, publishJobs }) };
  }
  return cached.service;
}
