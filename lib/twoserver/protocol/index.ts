/**
 * The two-server identification protocol: provider, client, CS1, CS2 and their plumbing.
 */
export {
  buildPlainIndex,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_MAX_SHARD_BYTES,
  defaultPartitionCount,
  encryptIndex,
  encryptIndexTo,
  prepareIndexEncryption,
  storageOrder,
} from './provider';
export type { EncryptIndexOptions, IndexEncryption, IndexManifest, PlainIndex, PlainIndexOptions, ProviderOutput, RecordSink } from './provider';
export { ProviderIndex } from './provider-index';
export type { PendingShards, ProviderIndexOptions, ShardOrigin } from './provider-index';
export { checkCs1Index } from './cs1';
export { evaluateShardTask, LocalShardWorkers } from './shard-worker';
export type { QueryHandle, ShardTask, ShardTaskResult, ShardWorkers } from './shard-worker';
export type { PreparedBatch } from './batch';
export { IdentificationClient } from './client';
export { Cs1Server } from './cs1';
export { Cs2Server } from './cs2';
export { InProcessCs2Transport } from './transport';
export type { CarriedExchange } from './transport';
export { MemoryRecordStore } from './record-store';
export { cs1IndexFormatVersion, decodeCs1Index, encodeCs1Index } from './cs1-index-codec';
export { DEFAULT_BATCH_PADDING, NO_BATCH_PADDING, paddedRecordCount } from './padding';
export type { BatchPadding } from './padding';
export type { BlindingMode, Cs1Index, Cs1Options, Cs2Transport, QueryResult, QueryStats, RecordStore, ShardEntry } from './types';
