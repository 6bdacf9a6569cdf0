/**
 * Learned segments over sorted keys (FITing-tree and optimal PLA): build, look up, encode.
 */
export { buildSegmentIndex, segmentAt, segmentCount, segmentCounts, validateSegmentOptions, MAX_EPS, MAX_KEYS } from './build';
export type { SegmentOptions } from './build';
export { decodeSegmentIndex, encodeSegmentIndex, readSegmentIndex, writeSegmentIndex } from './codec';
export { fitTolerance, predictOnLine } from './line';
export { positionRange, predictPosition, segmentOf } from './lookup';
export { SEGMENTATION_METHODS } from './types';
export type { LineFit, LineFitter, PositionRange, Segment, SegmentationMethod, SegmentIndex } from './types';
