/**
 * Learned segments over sorted keys (FITing-tree and optimal PLA): build, look up, encode.
 */
export { buildSegmentIndex, segmentAt, segmentCount, segmentCounts } from './build';
export { decodeSegmentIndex, encodeSegmentIndex } from './codec';
export { fitTolerance } from './line';
export { positionRange, predictPosition } from './lookup';
export type { SegmentationMethod, SegmentIndex } from './types';
