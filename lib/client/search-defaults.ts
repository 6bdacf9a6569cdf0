/** How an index's stored search defaults are described to people (type imports only: the CLI's --help stays fast). */
import type { SearchDefaults } from '../sei/index-tree/types';

/** "beam 3, probes 8: recall@10 0.962 on 500 held-out images (target 0.95)", or why it was not measured. */
export function describeSearchDefaults(search: SearchDefaults): string {
  const route = `${search.strategy}${search.strategy === 'beam' ? ` ${search.beam}` : ''}, probes ${search.probes}`;
  if (search.calibrationQueries === 0) return `${route} (not calibrated: ${search.targetRecall === 0 ? 'no target recall' : 'too few images to hold out; every leaf is ranked'})`;
  const missed = search.measuredRecall < search.targetRecall ? ', below the target even with the most probes allowed' : '';
  return `${route}: recall@10 ${search.measuredRecall.toFixed(3)} on ${search.calibrationQueries} held-out images (target ${search.targetRecall}${missed})`;
}
