/** Limits of the identify service that are not part of the API contract (lib/api/limits.ts). */

/** Time kept back from the function's deadline for answering after the last CS2 call. */
export const DEADLINE_MARGIN_MS = 1500;
