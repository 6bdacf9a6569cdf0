/**
 * CS1's connections to the outside for the two-server protocol: records read from S3 by byte
 * range, and CS2 reached over HTTP (local cloud) or Lambda Invoke (AWS), with large batches
 * staged in CS1's bucket behind presigned URLs.
 */
export { ObjectStoreRecordStore, planSpans } from './object-record-store';
export type { ObjectStoreRecordStoreOptions } from './object-record-store';
export { ObjectStoreBatchStaging, TRANSFER_PREFIX, transferObjectKey, transferPrefix } from './batch-staging';
export type { BatchStaging, StagedBatch, ObjectStoreBatchStagingOptions } from './batch-staging';
export {
  decodeBase64,
  decodeValues,
  encodeBase64,
  encodeValues,
  HE_KEY_ID_PATTERN,
  INLINE_BATCH_MAX_BYTES,
  LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES,
  parseDecryptEvent,
  sha256Hex,
} from './decrypt-event';
export type { Cs2DecryptEvent, Cs2DecryptResult, ParsedDecryptEvent } from './decrypt-event';
export { RemoteCs2Transport } from './remote-transport';
export type { Cs2Reply, RemoteCs2TransportOptions } from './remote-transport';
export { CS2_DECRYPT_PATH, cs2DecryptUrl, HttpCs2Transport } from './http-transport';
export type { HttpCs2TransportOptions } from './http-transport';
export { LambdaCs2Transport, regionOfFunctionArn } from './lambda-transport';
export type { LambdaCs2TransportOptions, LambdaInvoker } from './lambda-transport';
export { createCs2TransportFactory, readCs2TransportConfig } from './config';
export type { Cs2CallContext, Cs2Mode, Cs2TransportConfig, Cs2TransportFactory, Cs2TransportFactoryOptions } from './config';
