/**
 * A TCP proxy on loopback in front of a storage endpoint, whose link can be cut: while cut, it
 * resets every open connection and every new one, so a client sees storage become unreachable
 * (ECONNRESET) without restarting, and keeps its own state (a warm function's caches, its SDK
 * clients) as it would when AWS storage stops answering.
 *
 *   const proxy = await startCuttableProxy(aws.env.AWS_ENDPOINT_URL_DYNAMODB);
 *   // point the client at proxy.url ... later:
 *   proxy.cut();
 */
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';

export interface CuttableProxy {
  /** `http://127.0.0.1:<port>`: use it in place of the target's URL. */
  readonly url: string;
  /** Resets every connection, now and until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCuttableProxy(targetUrl: string): Promise<CuttableProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let isCut = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // A reset peer is the expected end of a cut link, not a test failure.
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    cut: () => {
      isCut = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore: () => {
      isCut = false;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
