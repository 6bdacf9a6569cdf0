/**
 * Limits of CS1's services that are not part of the API contract (the request limits are in
 * lib/api/limits.ts).
 */

/** Lifetimes of presigned URLs. */
export const IMAGE_UPLOAD_URL_SECONDS = 15 * 60;
export const IMAGE_DOWNLOAD_URL_SECONDS = 15 * 60;
/** Index parts can be hundreds of megabytes: give the upload time. */
export const INDEX_PART_UPLOAD_URL_SECONDS = 60 * 60;

/** Parallel S3 requests of one invocation (HEADs, leaf range reads). */
export const S3_CONCURRENCY = 16;
