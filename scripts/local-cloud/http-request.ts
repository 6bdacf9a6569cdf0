/**
 * The parts of an incoming HTTP request that the local gateways turn into Lambda events, read
 * once from node's IncomingMessage (body capped like API Gateway's payload limit).
 */
import type { IncomingMessage } from 'node:http';

export interface GatewayRequest {
  readonly method: string;
  /** Path as sent, still percent-encoded, without the query string. */
  readonly rawPath: string;
  /** Query string as sent, without the `?` (empty when there is none). */
  readonly rawQueryString: string;
  /** Node's alternating [name, value, name, value, ...] list, original case and order. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  /** e.g. `HTTP/1.1`. */
  readonly protocol: string;
  readonly receivedAt: Date;
}

export type BodyReadResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly received: number };

/**
 * Reads the body up to `maxBytes`. A larger body is drained (so the client can read the 413
 * instead of seeing a reset connection) but not kept; past `drainLimitBytes` the socket is
 * destroyed, as no local client has a reason to send that much.
 */
export function readBody(req: IncomingMessage, maxBytes: number, drainLimitBytes = 16 * maxBytes): Promise<BodyReadResult> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = Number.isFinite(declared) && declared > maxBytes;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (received > drainLimitBytes) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? { ok: false, received } : { ok: true, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) resolve({ ok: false, received });
    });
  });
}

export function splitRequestTarget(url: string): { rawPath: string; rawQueryString: string } {
  // Absolute-form targets (`http://host/path`) are legal in HTTP/1.1; keep only path and query.
  const target = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, '') : url;
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  return { rawPath: rawPath === '' ? '/' : rawPath, rawQueryString: q < 0 ? '' : target.slice(q + 1) };
}

export function toGatewayRequest(req: IncomingMessage, body: Buffer, receivedAt: Date): GatewayRequest {
  const { rawPath, rawQueryString } = splitRequestTarget(req.url ?? '/');
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    rawPath,
    rawQueryString,
    rawHeaders: req.rawHeaders,
    body,
    sourceIp: normalizeIp(req.socket.remoteAddress ?? '127.0.0.1'),
    protocol: `HTTP/${req.httpVersion}`,
    receivedAt,
  };
}

/** `::ffff:127.0.0.1` -> `127.0.0.1`, as API Gateway reports IPv4 clients. */
function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Header value by lower-case name, duplicates joined with commas (first-class for lookups). */
export function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1]);
  }
  return values.length === 0 ? undefined : values.join(',');
}
