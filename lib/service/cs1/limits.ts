/**
 * Request limits of CS1's API, shared by the handlers' JSON schemas and the services' own
 * checks (the services are also called without a schema in front, e.g. by tests and scripts).
 */
import { MAX_FEATURE_DIMENSION } from '../../sei/index-tree/format';
import { encryptedDimension } from '../../sei/types';

/** K-anonymity: one request carries the real trapdoor and at most 15 decoys. */
export const MAX_TRAPDOORS_PER_SEARCH = 16;
export const MAX_SEARCH_K = 100;
export const MAX_SEARCH_PROBES = 64;
export const DEFAULT_SEARCH_PROBES = 4;
/** Longest encrypted vector or trapdoor any index can need (m = 2d + 2). */
export const MAX_ENCRYPTED_DIMENSION = encryptedDimension(MAX_FEATURE_DIMENSION);

export const MAX_IMAGES_PER_REQUEST = 100;
/** Encrypted image envelopes are uploaded with presigned PUTs of at most this size. */
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;

/** Lifetimes of presigned URLs. */
export const IMAGE_UPLOAD_URL_SECONDS = 15 * 60;
export const IMAGE_DOWNLOAD_URL_SECONDS = 15 * 60;
/** Index parts can be hundreds of megabytes: give the upload time. */
export const INDEX_PART_UPLOAD_URL_SECONDS = 60 * 60;

/** Parallel S3 requests of one invocation (HEADs, leaf range reads). */
export const S3_CONCURRENCY = 16;
