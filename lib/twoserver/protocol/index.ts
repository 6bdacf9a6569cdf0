/**
 * The two-server identification protocol: provider, client, CS1, CS2 and their plumbing.
 */
export { buildPlainIndex, defaultPartitionCount, encryptIndex, encryptIndexTo, prepareIndexEncryption, storageOrder } from './provider';
export type { PlainIndex, ProviderOutput } from './provider';
export { ProviderIndex } from './provider-index';
export { LocalShardWorkers } from './shard-worker';
export type { QueryHandle, ShardTask, ShardTaskResult, ShardWorkers } from './shard-worker';
export { IdentificationClient } from './client';
export { Cs1Server } from './cs1';
export { Cs2Server } from './cs2';
export { InProcessCs2Transport } from './transport';
export { MemoryRecordStore } from './record-store';
export { cs1IndexFormatVersion, decodeCs1Index, encodeCs1Index } from './cs1-index-codec';
export { DEFAULT_BATCH_PADDING, paddedRecordCount } from './padding';
export type { BlindingMode, Cs1Index, Cs2Transport, RecordStore } from './types';
