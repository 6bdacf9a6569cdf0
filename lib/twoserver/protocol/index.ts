/**
 * The two-server identification protocol: provider, client, CS1, CS2 and their plumbing, for
 * the programs that run every role (the owner's client, the benchmark). The codecs, the padding
 * and the provider's index and streamed encryption are imported from their own modules.
 */
export { buildPlainIndex, defaultPartitionCount, encryptIndex } from './provider';
export { LocalShardWorkers } from './shard-worker';
export type { QueryHandle, ShardTask, ShardTaskResult, ShardWorkers } from './shard-worker';
export { IdentificationClient } from './client';
export { Cs1Server } from './cs1';
export { Cs2Server } from './cs2';
export { InProcessCs2Transport } from './transport';
export { MemoryRecordStore } from './record-store';
export type { BlindingMode, Cs2Transport } from './types';
