/**
 * Learned segments over sorted keys (FITing-tree and optimal PLA): what the benchmark builds
 * and counts. The look-up (./lookup), the codec (./codec) and the lines (./line) are imported
 * from their own modules.
 */
export { buildSegmentIndex, segmentCount } from './build';
export type { SegmentationMethod } from './types';
