/**
 * The local cloud's page server: the built web page (web/dist) over HTTP on loopback, with the
 * headers CloudFront sends in AWS (lib/web/security-headers.ts). Static files only: GET and
 * HEAD, no directory listings, nothing outside the root.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { pageHeaders } from '../../lib/web/security-headers';
import type { PagePolicyOrigins } from '../../lib/web/security-headers';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface WebServerOptions {
  /** The built page (index.html and its files). */
  readonly root: string;
  readonly origins: PagePolicyOrigins;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

export interface WebServer {
  /** The page's URL, ending in '/'. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Files whose names carry a content hash or a version may be cached for good; the HTML never. */
function cacheControl(path: string): string {
  return path.startsWith('/assets/') || path.startsWith('/models/') ? 'public, max-age=31536000, immutable' : 'no-cache';
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const root = normalize(options.root);
  const headers = pageHeaders(options.origins);
  const server: Server = createServer((request, response) => {
    void (async () => {
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      let path: string;
      try {
        path = decodeURIComponent(new URL(request.url ?? '/', 'http://page').pathname);
      } catch {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('bad path\n');
        return;
      }
      if (path.endsWith('/')) path += 'index.html';
      const file = normalize(join(root, path));
      const type = TYPES[extname(file)];
      const info = type === undefined || !file.startsWith(root + sep) ? undefined : await stat(file).catch(() => undefined);
      if (info === undefined || !info.isFile()) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      response.writeHead(200, { 'content-type': type, 'content-length': info.size, 'cache-control': cacheControl(path) });
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      createReadStream(file).on('error', () => response.destroy()).pipe(response);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
