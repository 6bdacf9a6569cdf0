/**
 * Messages of the handlers' per-request log lines that tools read back (the API benchmark
 * splits the server's time from them), so a renamed message cannot silently drop a measurement.
 */
export const HANDLER_LOG_MESSAGES = {
  /** SEI search: one line per search with the handler's own `ms`. */
  search: 'search',
  /** Sealed leaves: one line per request with counts and the handler's own `ms`. */
  sealedLeaves: 'sealed leaves',
} as const;
