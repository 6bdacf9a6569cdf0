/** Each kind's publish-time validator, imported when a version of that kind is first published. */
import type { IndexKindLoaders } from './index-kind-registry';
import type { IndexKindValidator } from '../types';

export const INDEX_KIND_VALIDATORS: IndexKindLoaders<IndexKindValidator> = {
  sei: async () => (await import('../sei/sei-index-validator')).seiIndexValidator,
  'two-server': async () => (await import('../two-server/two-server-index-validator')).twoServerIndexValidator,
  sealed: async () => (await import('../sealed/sealed-index-validator')).sealedIndexValidator,
};
