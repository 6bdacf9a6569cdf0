/**
 * The two-server identification protocol: provider, client, CS1, CS2 and their plumbing.
 */
export { buildPlainIndex, DEFAULT_CHUNK_BYTES, encryptIndex, encryptIndexTo, prepareIndexEncryption, storageOrder } from './provider';
export type { EncryptIndexOptions, IndexEncryption, IndexManifest, PlainIndex, PlainIndexOptions, ProviderOutput, RecordSink } from './provider';
export { IdentificationClient } from './client';
export { Cs1Server } from './cs1';
export { Cs2Server } from './cs2';
export { InProcessCs2Transport } from './transport';
export type { CarriedExchange } from './transport';
export { MemoryRecordStore } from './record-store';
export { decodeCs1Index, encodeCs1Index } from './cs1-index-codec';
export { planReads } from './read-plan';
export { DEFAULT_BATCH_PADDING, NO_BATCH_PADDING, paddedRecordCount } from './padding';
export type { BatchPadding } from './padding';
export type { ReadPlan, RecordRun } from './read-plan';
export type { BlindingMode, Cs1Index, Cs1Options, Cs2Transport, QueryResult, QueryStats, RecordStore } from './types';
