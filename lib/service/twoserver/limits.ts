/** Request limits of the identify API, shared by the handler's JSON schema and the service. */

/** k-nearest queries return at most this many templates. */
export const MAX_IDENTIFY_K = 50;

/**
 * Largest encrypted query accepted. Queries come inline in the JSON body as base64 (4/3
 * larger): 4 MiB of query is about 5.6 MB of body, under Lambda's 6 MB event limit. Real
 * queries are far smaller (she, d = 512: 128 KB; bfv, N = 8192: about 400 KB).
 */
export const MAX_QUERY_BYTES = 4 * 1024 * 1024;
export const MAX_QUERY_BASE64_LENGTH = Math.ceil(MAX_QUERY_BYTES / 3) * 4;

/**
 * A range query returns at most this many matches, nearest first (`truncated` says when more
 * were within the threshold), so an over-wide threshold cannot produce a response past the
 * 6 MB Lambda limit.
 */
export const MAX_RANGE_MATCHES = 1000;

/** Time kept back from the function's deadline for answering after the last CS2 call. */
export const DEADLINE_MARGIN_MS = 1500;
