/**
 * Function timeouts shared by the CDK stacks and the local cloud (plain constants, no CDK
 * imports), so both run the handlers under the same deadlines.
 */

/** REST API: the default (and for edge-optimized APIs the largest) integration timeout. */
export const REST_API_INTEGRATION_TIMEOUT_MS = 29_000;

/**
 * API-backed functions: one second under the REST API's 29 s integration timeout, so a slow
 * request ends in the function's own timeout error rather than a gateway 504.
 */
export const API_FUNCTION_TIMEOUT_MS = REST_API_INTEGRATION_TIMEOUT_MS - 1_000;

/** CS2's decrypt function: a CS1 identify request must still have time left to answer. */
export const CS2_DECRYPT_TIMEOUT_MS = 20_000;

/**
 * The scheduled clean-up's limit (Lambda's maximum): a run that does not finish is continued by
 * the next one. Far below the clean-up's grace period (lib/service/versions/cleanup.ts, 1 hour).
 */
export const CLEANUP_FUNCTION_TIMEOUT_MS = 15 * 60 * 1000;

/** CS1's identify worker: one shard's candidates, well within the coordinator's own timeout. */
export const IDENTIFY_WORKER_TIMEOUT_MS = 20_000;
