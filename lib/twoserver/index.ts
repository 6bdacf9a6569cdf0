/**
 * Two-server identification (iDistance + learned segments + homomorphic encryption).
 * Index structures at this level; the four protocol roles in ./protocol; segments in ./segments.
 */
export { assertIntegerTemplates, buildIDistance, iDistanceKey, partitionGap, partitionOffsets, templatesInKeyOrder } from './idistance';
export type { IDistanceOptions } from './idistance';
export { decodeIDistanceMetadata, encodeIDistanceMetadata, publicMetadata, readIDistanceMetadata, writeIDistanceMetadata } from './idistance-codec';
export { candidateRanges, coveringRadius, RANGE_SLACK, rangeSize, searchRanges } from './idistance-query';
export { allSquaredDistances, bruteForceKnn, bruteForceRange, iDistanceRangePlain } from './plain-search';
export type { PlainMatch } from './plain-search';
export { DEFAULT_DECIMALS, quantizeVector, quantizeVectors } from './quantize';
export { noisyProbes, SYNTHETIC_KINDS, SyntheticStream, syntheticEmbeddings, syntheticTemplates } from './synthetic';
export type { SyntheticKind, SyntheticOptions } from './synthetic';
export type { IDistanceIndex, IDistanceMetadata, Match, PartitionSearch } from './types';
