/**
 * The local cloud's page server: the page's security headers on every answer, the right types
 * (WebAssembly must be application/wasm to compile streaming), nothing outside the build folder,
 * GET and HEAD only.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../../lib/web/security-headers';
import { startWebServer } from '../../../scripts/local-cloud/web-server';
import type { WebServer } from '../../../scripts/local-cloud/web-server';

let scratch: string;
let server: WebServer;
const origins = { api: ['http://127.0.0.1:4510'], storage: ['http://127.0.0.1:4513'] };

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'page-server-'));
  const root = join(scratch, 'dist');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>page</title>');
  await writeFile(join(root, 'assets', 'x.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
  await writeFile(join(scratch, 'secret.txt'), 'outside the root');
  server = await startWebServer({ root, origins });
});

afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('page server', () => {
  it('serves the page with the CSP and security headers', async () => {
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toBe(contentSecurityPolicy(origins));
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:4510 http://127.0.0.1:4513");
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('serves WebAssembly as application/wasm, cached for good', async () => {
    const response = await fetch(`${server.url}assets/x.wasm`);
    expect(response.headers.get('content-type')).toBe('application/wasm');
    expect(response.headers.get('cache-control')).toContain('immutable');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(Uint8Array.from([0, 0x61, 0x73, 0x6d]));
  });

  it('serves nothing outside the build and only GET/HEAD', async () => {
    for (const path of ['../secret.txt', '%2e%2e/secret.txt', 'assets/../../secret.txt', 'missing.js', 'assets/']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text()).not.toContain('outside the root');
    }
    expect((await fetch(server.url, { method: 'POST', body: 'x' })).status).toBe(405);
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-security-policy')).not.toBeNull();
  });
});
