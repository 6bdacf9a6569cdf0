/**
 * Logs for tests: one that drops everything (the feature layer's structured log, whose lines
 * would only clutter the test output) and one that keeps the local cloud's gateway entries in
 * memory for a test to read.
 */
import type { Logger } from '../../lib/features/types';
import type { GatewayEventEntry, GatewayLog, RequestLogEntry } from '../../scripts/local-cloud/gateway-log';

/** A feature-layer logger that drops everything. */
export const silentLogger: Logger = () => {};

/** A gateway log that keeps its entries in memory. */
export function memoryLog(): GatewayLog & { readonly requests: RequestLogEntry[]; readonly events: GatewayEventEntry[] } {
  const requests: RequestLogEntry[] = [];
  const events: GatewayEventEntry[] = [];
  return { requests, events, request: (e) => requests.push(e), event: (e) => events.push(e) };
}
