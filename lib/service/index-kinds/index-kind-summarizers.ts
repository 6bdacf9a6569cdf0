/** Each kind's summarizer (GET index), imported when an index of that kind is first described. */
import type { IndexKindLoaders } from './index-kind-registry';
import type { IndexKindSummarizer } from '../types';

export const INDEX_KIND_SUMMARIZERS: IndexKindLoaders<IndexKindSummarizer> = {
  sei: async () => (await import('../sei/sei-index-summary')).seiIndexSummarizer,
  'two-server': async () => (await import('../two-server/two-server-index-summary')).twoServerIndexSummarizer,
  sealed: async () => (await import('../sealed/sealed-index-summary')).sealedIndexSummarizer,
};
