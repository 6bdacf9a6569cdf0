/**
 * CS1's connections to the outside for the two-server protocol: records read from S3 by byte
 * range, and CS2 reached over HTTP (local cloud) or Lambda Invoke (AWS), with large batches
 * staged in CS1's bucket behind presigned URLs.
 */
export { ObjectStoreRecordStore, planSpans } from './object-record-store';
export { ObjectStoreBatchStaging, transferPrefix } from './batch-staging';
export type { BatchStaging } from './batch-staging';
export { decodeValues, sha256Hex } from './decrypt-event';
export { RemoteCs2Transport } from './remote-transport';
