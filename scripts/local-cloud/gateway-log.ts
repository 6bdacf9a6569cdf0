/**
 * Structured JSON log lines of the local gateways: one line per request (method, route, status,
 * duration) and one per notable event. Never bodies, tokens or credentials: callers pass only
 * the fields below.
 */

export interface RequestLogEntry {
  readonly account: string;
  readonly requestId: string;
  readonly method: string;
  /** Route key, or `-` when no route matched. */
  readonly route: string;
  readonly status: number;
  readonly ms: number;
  /** Why the gateway answered by itself (e.g. `authorizer-denied`, `integration-timeout`). */
  readonly reason?: string;
}

export interface GatewayEventEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly account: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface GatewayLog {
  request(entry: RequestLogEntry): void;
  event(entry: GatewayEventEntry): void;
}

/** Writes each entry as one JSON line (default: stdout). */
export function jsonLineLog(write: (line: string) => void = (line) => process.stdout.write(line)): GatewayLog {
  const emit = (fields: Record<string, unknown>) => write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
  return {
    request: (entry) => emit({ level: entry.status >= 500 ? 'error' : 'info', msg: 'request', ...entry }),
    event: (entry) => emit({ ...entry }),
  };
}
