/**
 * The API benchmark's server-side split reads CS1's log lines back: the gateway's access line of
 * the searched route and the handler's own line, found by the message the handler logs.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { HANDLER_LOG_MESSAGES } from '../../../functions/lib/log-messages';
import { ServerTimings } from '../../../scripts/bench/server-timings';

const LEAVES_ROUTE = /^POST \/v1\/owners\/\{ownerId\}\/indexes\/\{indexName\}\/leaves$/;

/** The line a handler's Powertools logger writes for `message` (as CS1's account process forwards it). */
function loggedLine(message: string, attributes: Record<string, unknown>): string {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    new Logger({ serviceName: 'cs1-sealed-leaves', logLevel: 'INFO' }).info(message, attributes);
    return String(write.mock.calls.map((call) => call[0]).join('')).trim();
  } finally {
    write.mockRestore();
  }
}

describe('ServerTimings', () => {
  it("records the sealed leaves handler's time from the line the handler logs, and the gateway's for the route", () => {
    const timings = new ServerTimings(LEAVES_ROUTE, HANDLER_LOG_MESSAGES.sealedLeaves);
    timings.start();
    timings.onLine(loggedLine(HANDLER_LOG_MESSAGES.sealedLeaves, { leaves: 75, delivery: 'bytes', ms: 12 }));
    timings.onLine(JSON.stringify({ msg: 'request', route: 'POST /v1/owners/{ownerId}/indexes/{indexName}/leaves', status: 200, ms: 30 }));
    // Other lines count for nothing: another route, another handler's message, not JSON.
    timings.onLine(JSON.stringify({ msg: 'request', route: 'GET /v1/owners/{ownerId}/indexes/{indexName}', status: 200, ms: 5 }));
    timings.onLine(loggedLine(HANDLER_LOG_MESSAGES.search, { ms: 7 }));
    timings.onLine('not json "request"');
    expect(timings.stop()).toEqual({ gateway: [30], handler: [12] });
  });

  it('records nothing outside a recording', () => {
    const timings = new ServerTimings(LEAVES_ROUTE, HANDLER_LOG_MESSAGES.sealedLeaves);
    timings.onLine(loggedLine(HANDLER_LOG_MESSAGES.sealedLeaves, { ms: 12 }));
    timings.start();
    expect(timings.stop()).toEqual({ gateway: [], handler: [] });
  });
});
