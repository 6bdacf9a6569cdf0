/**
 * Debian's chromium driven by playwright-core (never a browser playwright downloads), started
 * with the flags that keep it off the network it cannot reach (component updates, background
 * networking) in a fresh profile, so every run is a cold cache. Every request the page makes is
 * recorded with its body, for the test that checks what leaves the page.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { timeoutScale } from '../../../lib/core/timeout-scale';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every request the page made, in order. */
  readonly requests: RecordedRequest[];
  /** Requests that finished, in order, with the time from sending to the response's end. */
  readonly finished: { readonly method: string; readonly url: string; readonly ms: number }[];
  /** Response bytes (encoded, as transferred) per URL since the last reset. */
  transferredBytes(): number;
  resetTransferred(): void;
  close(): Promise<void>;
}

export function assertChromiumInstalled(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install chromium; .ci/run does it)`);
  }
}

export async function launchChromium(): Promise<Browser> {
  assertChromiumInstalled();
  const profile = await mkdtemp(join(tmpdir(), 'blindsight-chromium-'));
  // launchPersistentContext passes the fresh profile as --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1200, height: 900 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // Waits only catch hangs: generous, and stretched like every other limit on a loaded machine.
  context.setDefaultTimeout(120_000 * timeoutScale());
  const requests: RecordedRequest[] = [];
  context.on('request', (request) => {
    requests.push({ method: request.method(), url: request.url(), headers: request.headers(), body: request.postDataBuffer() });
  });
  const finished: { method: string; url: string; ms: number }[] = [];
  context.on('requestfinished', (request) => {
    finished.push({ method: request.method(), url: request.url(), ms: Math.round(request.timing().responseEnd) });
  });
  let transferred = 0;
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.loadingFinished', (event: { encodedDataLength: number }) => {
    transferred += event.encodedDataLength;
  });
  return {
    context,
    page,
    requests,
    finished,
    transferredBytes: () => transferred,
    resetTransferred: () => {
      transferred = 0;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
