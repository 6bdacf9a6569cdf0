/** A loopback HTTP server for a gateway, with a close that also ends idle keep-alive sockets. */
import type { RequestListener, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpResponse } from './lambda-response';

/** How long an idle keep-alive connection stays open. */
export const KEEP_ALIVE_TIMEOUT_MS = 300_000;

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listen(listener: RequestListener, host: string, port: number): Promise<RunningServer> {
  const server = createServer(listener);
  // The gateway enforces its own integration timeout; node's default request timeout is longer.
  server.requestTimeout = 0;
  // Idle keep-alive connections stay open for minutes, as at API Gateway. With node's default
  // of 5 s, a client whose event loop was busy for a few seconds (a loaded machine, a test
  // building an index) sends its next request on a connection the server has just closed, and
  // gets "other side closed" for a request that never arrived. Clients close idle connections
  // themselves, by the timeout this server announces.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export function sendResponse(res: ServerResponse, method: string, response: HttpResponse, extraHeaders: Record<string, string>): void {
  if (res.headersSent) return;
  const headers: Record<string, string | string[]> = { ...response.headers, ...extraHeaders };
  for (const [name, values] of Object.entries(response.multiValueHeaders)) headers[name] = [...values];
  headers['content-length'] = String(response.body.length);
  res.writeHead(response.statusCode, headers);
  res.end(method === 'HEAD' ? undefined : response.body);
}
