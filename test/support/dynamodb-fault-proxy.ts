/**
 * A DynamoDB proxy for crash tests (LocalCloudOptions.handlerDynamodbEndpoint): it forwards
 * CS1's handlers' requests to the emulator, except one a test asked it to hold. That request is
 * never forwarded and never answered, and the test learns at once that the handler has got
 * exactly that far; it then kills the account. So the crash lands at a chosen point of the
 * handler's work, however loaded the machine is, instead of "some time after" a signal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DynamoRequest {
  /** The operation, from X-Amz-Target (e.g. "BatchWriteItem"). */
  readonly operation: string;
  /** The JSON body as sent. */
  readonly body: string;
}

export interface DynamoFaultProxy {
  readonly url: string;
  /** The emulator's endpoint, once the cloud runs: requests are forwarded there. */
  target: string | undefined;
  /** Holds the first request from now on that `matches`; resolves with it when it arrives. */
  holdNext(matches: (request: DynamoRequest) => boolean): Promise<DynamoRequest>;
  close(): Promise<void>;
}

export async function startDynamoFaultProxy(): Promise<DynamoFaultProxy> {
  let hold: { matches: (request: DynamoRequest) => boolean; resolve: (request: DynamoRequest) => void } | undefined;
  const held: ServerResponse[] = [];
  const proxy: DynamoFaultProxy = {
    url: '',
    target: undefined,
    holdNext: (matches) => new Promise((resolve) => (hold = { matches, resolve })),
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    if (proxy.target === undefined) {
      res.writeHead(503).end();
      return;
    }
    const upstream = httpRequest(`${proxy.target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = req.headers['x-amz-target'];
      const request: DynamoRequest = { operation: String(target ?? '').split('.').pop() ?? '', body: body.toString('utf8') };
      if (hold !== undefined && hold.matches(request)) {
        const { resolve } = hold;
        hold = undefined;
        held.push(res);
        resolve(request);
        return;
      }
      forward(req, res, body);
    });
  });
  server.keepAliveTimeout = 300_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
