/**
 * The user web page in Debian's chromium, served as `npm start` serves it beside the local cloud
 * (scripts/demo/web-page.ts), for an owner's small Fashion-MNIST gallery: import the grant, wait
 * for the feature model, search with a gallery image and see it ranked first, open a decrypted result (byte-identical to the original), and
 * check from every recorded request that neither the image's bytes nor its feature vector left
 * the page. Clear messages for a bad grant, an unreadable image, a network failure and a
 * revoked user. Times and bytes are measured and printed (for docs/benchmarks.md), not asserted.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageIdOf } from '../../lib/client/image-ids';
import { encodeUserSecret } from '../../lib/sei/key-formats';
import { generateUserSecret } from '../../lib/sei/user-key';
import { loadUserSession } from '../../lib/client/node/user-home';
import { ownerClient } from '../../lib/client/owner-keys';
import { timeoutScale } from '../../lib/core/timeout-scale';
import { serveWebPage } from '../../scripts/demo/web-page';
import type { WebServer } from '../../scripts/local-cloud/web-server';
import { WEB_DIST } from '../../scripts/web/build';
import type { Browser, RecordedRequest } from './support/chromium';
import { launchChromium } from './support/chromium';
import { chunkPath } from './support/page';
import type { PageWorld } from './support/world';
import { makePageWorld, USER_ID } from './support/world';
import { EnvironmentConfig } from '../../lib/config/environment';
import { toUserId } from '../support/ids';

const GALLERY_SIZE = 40;
/** Set to a folder (e.g. docs) to save screenshots of the page there. */
const SCREENSHOTS = new EnvironmentConfig().get('webScreenshots');
const SEARCHES = 3;

/** Where `needle` occurs in `haystack` (bytes), or -1. */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Encodings of a secret that would show it left the page: windows of its raw bytes and their
 * base64 and hex, and for a vector its leading values as float32/float64 bytes and decimal text.
 */
function leakPatterns(image: Uint8Array, vector: readonly number[]): { name: string; bytes: Uint8Array }[] {
  const text = (s: string) => new TextEncoder().encode(s);
  const patterns: { name: string; bytes: Uint8Array }[] = [];
  for (const at of [0, Math.floor(image.length / 2) - 24, image.length - 48]) {
    const window = image.subarray(Math.max(0, at), Math.max(0, at) + 48);
    patterns.push({ name: `image bytes @${at}`, bytes: window });
    patterns.push({ name: `image hex @${at}`, bytes: text(Buffer.from(window).toString('hex')) });
  }
  const base64 = Buffer.from(image).toString('base64');
  for (const at of [0, 400, base64.length - 80]) patterns.push({ name: `image base64 @${at}`, bytes: text(base64.slice(Math.max(0, at), Math.max(0, at) + 64)) });
  const lead = vector.slice(0, 4);
  patterns.push({ name: 'feature float32', bytes: new Uint8Array(Float32Array.from(lead).buffer) });
  patterns.push({ name: 'feature float64', bytes: new Uint8Array(Float64Array.from(lead).buffer) });
  for (const v of vector.filter((x) => Math.abs(x) > 1e-3).slice(0, 4)) patterns.push({ name: `feature decimal ${v}`, bytes: text(v.toPrecision(7).replace(/0+$/, '')) });
  return patterns;
}

function leaksIn(requests: readonly RecordedRequest[], patterns: { name: string; bytes: Uint8Array }[]): string[] {
  const found: string[] = [];
  for (const request of requests) {
    const parts = [Buffer.from(request.url), Buffer.from(JSON.stringify(request.headers)), request.body ?? Buffer.alloc(0)];
    for (const part of parts) {
      for (const pattern of patterns) if (indexOfBytes(part, pattern.bytes) >= 0) found.push(`${pattern.name} in ${request.method} ${request.url}`);
    }
  }
  return found;
}

describe('the web page in chromium, on the local cloud', () => {
  let scratch: string;
  let world: PageWorld;
  let web: WebServer;
  let browser: Browser;
  let webUrl: string;
  let grantFile: string;
  let secretFile: string;
  /** Indexed gallery images the searches use. */
  let queries: string[];
  const timings: Record<string, unknown> = {};
  /** The local cloud's log lines (JSON), for where a search's time went at CS1. */
  const cloudLog: { account: string; line: string }[] = [];
  /** CS1's log entries from `from` on: function inits (cold starts) and requests (route, ms). */
  const cloudActivity = (from: number) => {
    const out: { inits: Record<string, number>; requests: string[] } = { inits: {}, requests: [] };
    for (const { line } of cloudLog.slice(from)) {
      let entry: { msg?: string; handler?: string; initMs?: number; method?: string; route?: string; ms?: number; status?: number };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if (entry.msg === 'function init' && entry.handler) out.inits[entry.handler] = entry.initMs ?? -1;
      if (entry.msg === 'request' && entry.route) out.requests.push(`${entry.route} ${entry.status} ${entry.ms} ms`);
    }
    return out;
  };

  // Setting up the owner's index (features of the gallery) and building the page take minutes on a loaded machine.
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'blindsight-web-'));
    world = await makePageWorld(GALLERY_SIZE, (account, line) => cloudLog.push({ account, line }));
    web = await serveWebPage(world.cloud);
    webUrl = web.url;
    grantFile = world.grantFile;
    secretFile = world.secretFile;
    queries = [...world.files].sort().slice(0, SEARCHES);
    const logFrom = cloudLog.length;
    timings.warmUp = { ms: await world.warmUp(), cs1: cloudActivity(logFrom) };
    browser = await launchChromium();
  }, 30 * 60_000 * timeoutScale());

  afterAll(async () => {
    console.log(`web page measurements: ${JSON.stringify(timings)}`);
    await browser?.close();
    world?.models.dispose();
    await web?.stop();
    await world?.cloud.stop();
    for (const dir of [scratch, world?.dir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  const page = () => browser.page;
  const state = (name: string) => page().waitForSelector(`body[data-state="${name}"]`);
  const messages = async () => (await page().locator('#messages').innerText()).trim();
  let searches = 0;
  /** Drops `file` on the page's file input and waits until that search has finished. */
  const searchWith = async (file: string) => {
    await page().setInputFiles('#query-file', file);
    await page().waitForSelector(`body[data-searches="${++searches}"]`);
  };

  it('refuses a file that is not a grant, with a message saying so', async () => {
    await page().goto(webUrl);
    await state('setup');
    const bogus = join(scratch, 'not-a-grant.json');
    await writeFile(bogus, JSON.stringify({ hello: 'world' }));
    await page().setInputFiles('#grant-file', bogus);
    await page().setInputFiles('#secret-file', secretFile);
    await page().check('input[name="keep"][value="memory"]');
    await page().click('#import');
    await page().waitForSelector('#messages .error');
    expect(await messages()).toMatch(/not a blindsight-grant file/i);
    expect(await page().getAttribute('body', 'data-state')).toBe('setup');
  });

  it('refuses a grant issued for another user key, saying which key it needs', async () => {
    await page().goto(webUrl);
    await state('setup');
    const otherKey = join(scratch, 'other-user-secret.key');
    await writeFile(otherKey, encodeUserSecret(generateUserSecret(world.owner.config.d)));
    await page().setInputFiles('#grant-file', grantFile);
    await page().setInputFiles('#secret-file', otherKey);
    await page().check('input[name="keep"][value="memory"]');
    await page().click('#import');
    await page().waitForSelector('#messages .error');
    expect(await messages()).toMatch(/issued for another key request/i);
    expect(await page().getAttribute('body', 'data-state')).toBe('setup');
  });

  it('loads cold, imports the grant (memory only) and loads the feature model', async () => {
    await browser.context.clearCookies();
    browser.resetTransferred();
    const started = Date.now();
    await page().goto(webUrl);
    await state('setup');
    await page().setInputFiles('#grant-file', grantFile);
    await page().setInputFiles('#secret-file', secretFile);
    await page().check('input[name="keep"][value="memory"]');
    await page().click('#import');
    await state('ready');
    timings.readyMs = Date.now() - started;
    timings.modelLoadMs = Number(await page().getAttribute('body', 'data-model-ms'));
    timings.firstLoadBytes = browser.transferredBytes();
    expect(await page().locator('#grant-summary').innerText()).toContain(USER_ID);
    if (SCREENSHOTS) await page().screenshot({ path: join(SCREENSHOTS, 'web-page-ready.png'), fullPage: true });
  });

  it('searches with a gallery image, ranks it first, and opens its decrypted original', async () => {
    const session = await loadUserSession(join(world.dir, 'user'));
    const searchMs: number[] = [];
    const phases: unknown[] = [];
    for (const relative of queries) {
      const before = browser.requests.length;
      const logFrom = cloudLog.length;
      const finishedFrom = browser.finished.length;
      await searchWith(join(world.galleryDir, relative));
      phases.push({
        page: JSON.parse((await page().getAttribute('body', 'data-search-phases')) ?? '{}') as unknown,
        cs1: cloudActivity(logFrom),
        network: browser.finished.slice(finishedFrom).map((r) => `${r.method} ${new URL(r.url).pathname.replace(/[^/]{24,}/g, '…')} ${r.ms} ms`),
      });
      expect(await messages()).toBe('');
      const first = page().locator('#grid li').first();
      expect(await first.getAttribute('data-image-id')).toBe(await imageIdOf(session.imageKey, relative));
      expect(await page().locator('#grid li').count()).toBe(10);
      // The default kind: the query stayed here, CS1 handed out leaves.
      expect(await page().locator('#results-summary').innerText()).toMatch(/from sealed index .* leaves read/);
      searchMs.push(Number(await page().getAttribute('body', 'data-search-ms')));
      expect(browser.requests.length).toBeGreaterThan(before);
      // The page keeps the routing data it read: only the first search downloads it.
      const routingReads = browser.requests.slice(before).filter((r) => r.method === 'GET' && new URL(r.url).pathname.endsWith('/routing')).length;
      expect(routingReads).toBe(relative === queries[0] ? 1 : 0);
    }
    timings.searchMs = searchMs;
    timings.searchPhases = phases;
    if (SCREENSHOTS) await page().screenshot({ path: join(SCREENSHOTS, 'web-page-results.png'), fullPage: true });

    await page().locator('#grid li button').first().click();
    await page().waitForSelector('#viewer[open]');
    const width = await page().evaluate(async () => {
      const img = document.getElementById('viewer-image') as HTMLImageElement;
      await img.decode();
      return img.naturalWidth;
    });
    expect(width).toBeGreaterThan(0);
    // The page's CSP does not let scripts fetch blob: URLs; its Save link hands over the same bytes.
    const [download] = await Promise.all([page().waitForEvent('download'), page().click('#viewer-save')]);
    const saved = await readFile(await download.path());
    expect(saved.equals(await readFile(join(world.galleryDir, queries.at(-1)!)))).toBe(true);
    await page().keyboard.press('Escape');
  });

  it('searches the SEI index beside it with K-anonymous queries, and ranks the image first there too', async () => {
    const session = await loadUserSession(join(world.dir, 'user'));
    expect(await page().isVisible('#anonymity-option')).toBe(false);
    await page().selectOption('#kind', 'sei');
    expect(await page().isVisible('#anonymity-option')).toBe(true);
    await page().fill('#anonymity', '3');
    const before = browser.requests.length;
    await searchWith(join(world.galleryDir, queries[0]));
    expect(await messages()).toBe('');
    expect(await page().locator('#grid li').first().getAttribute('data-image-id')).toBe(await imageIdOf(session.imageKey, queries[0]));
    expect(await page().locator('#grid li').count()).toBe(10);
    expect(await page().locator('#results-summary').innerText()).toMatch(/from sei index .* with 2 decoy queries/);
    expect(browser.requests.slice(before).some((r) => r.method === 'POST' && /\/search$/.test(new URL(r.url).pathname))).toBe(true);
    timings.seiSearchMs = Number(await page().getAttribute('body', 'data-search-ms'));
    await page().selectOption('#kind', 'sealed');
  });

  it('sent neither the query image nor its feature vector in any request', async () => {
    const chunk = await chunkPath(WEB_DIST, 'src/features.ts');
    expect(browser.requests.some((r) => r.method === 'POST' && r.body && r.body.length > 0)).toBe(true);
    for (const file of queries) {
      const bytes = await readFile(join(world.galleryDir, file));
      const script = `(async () => {
        const features = await import(${JSON.stringify(chunk)});
        const extractor = await features.createPageExtractor({ model: 'mobilenet_v2_mid', layer: 'mid', inputSize: 128 });
        try { return Array.from((await extractor.extract([new Uint8Array(${JSON.stringify(Array.from(bytes))})])).data); } finally { extractor.dispose(); }
      })()`;
      const vector = (await page().evaluate(script)) as number[];
      const patterns = leakPatterns(new Uint8Array(bytes), vector);
      // The detector finds each pattern where it is planted (so a clean result means something).
      const planted: RecordedRequest[] = patterns.map((p) => ({ method: 'POST', url: 'http://x/', headers: {}, body: Buffer.concat([Buffer.from('{"a":'), Buffer.from(p.bytes), Buffer.from('}')]) }));
      expect(leaksIn(planted, patterns).length).toBeGreaterThanOrEqual(patterns.length);
      expect(leaksIn(browser.requests, patterns)).toEqual([]);
    }
  });

  it('says an image it cannot read is unusable', async () => {
    const bogus = join(scratch, 'photo.png');
    await writeFile(bogus, 'this is text, not a picture');
    await searchWith(bogus);
    expect(await messages()).toMatch(/cannot be used.*not a JPEG, PNG or WebP/i);
    await state('ready');
  });

  it('names a network failure when CS1 cannot be reached', async () => {
    await world.cloud.stopAccount('cs1');
    try {
      await searchWith(join(world.galleryDir, queries[0]));
      expect(await messages()).toMatch(/network failure/i);
      await state('ready');
    } finally {
      await world.cloud.startAccount('cs1');
      // A restarted account has no warm functions: start them before the page needs them.
      await world.warmUp();
    }
  });

  it('says the index is missing when CS1 has no index of the name the grant holds', async () => {
    // As after the owner re-indexed under another name: the grant names an index CS1 does not have.
    const grant = JSON.parse(await readFile(grantFile, 'utf8')) as { sealed: { indexName: string } };
    grant.sealed.indexName = 'no-such-index';
    const renamed = join(scratch, 'renamed-index.grant.json');
    await writeFile(renamed, JSON.stringify(grant));
    await page().goto(webUrl);
    await state('setup');
    await page().setInputFiles('#grant-file', renamed);
    await page().setInputFiles('#secret-file', secretFile);
    await page().check('input[name="keep"][value="memory"]');
    await page().click('#import');
    await state('ready');
    searches = 0;
    await searchWith(join(world.galleryDir, queries[0]));
    expect(await messages()).toMatch(/not found.*no-such-index.*deleted or renamed the index/i);
    expect(await page().locator('#grid li').count()).toBe(0);
    await state('ready');
  });

  it('makes a key request in the page, imports its grant under a passphrase, and unlocks it after a reload', async () => {
    await page().goto(webUrl);
    await state('setup');
    await page().fill('#import-passphrase', 'a long passphrase');
    await page().locator('#key-request-panel summary').click();
    const [download] = await Promise.all([page().waitForEvent('download'), page().click('#make-request')]);
    const request = JSON.parse(await readFile(await download.path(), 'utf8')) as unknown;
    const grant = await world.enroll(request, 'page-made-key');
    const grantPath = join(scratch, 'page-made-key.grant.json');
    await writeFile(grantPath, JSON.stringify(grant));
    // The grant only: the key it was issued for stayed in the page (encrypted in IndexedDB).
    await page().setInputFiles('#grant-file', grantPath);
    await page().check('input[name="keep"][value="vault"]');
    await page().fill('#import-passphrase', 'a long passphrase');
    await page().click('#import');
    await state('ready');
    expect(await page().locator('#grant-summary').innerText()).toContain('page-made-key');

    await page().reload();
    await state('locked');
    await page().fill('#unlock-passphrase', 'not the passphrase');
    await page().click('#unlock');
    await page().waitForSelector('#messages .error');
    expect(await messages()).toMatch(/passphrase does not unlock/i);
    await page().fill('#unlock-passphrase', 'a long passphrase');
    await page().click('#unlock');
    await state('ready');
    expect(await page().locator('#grant-summary').innerText()).toContain('page-made-key');
    searches = 0;
    await searchWith(join(world.galleryDir, queries[0]));
    expect(await messages()).toBe('');
    expect(await page().locator('#grid li').count()).toBe(10);
  });

  it('tells a revoked user that access was revoked', async () => {
    const client = await ownerClient(world.cloud.cs1Url, world.owner);
    await client.revokeUser(world.owner.config.ownerId, toUserId('page-made-key'));
    await searchWith(join(world.galleryDir, queries[0]));
    expect(await messages()).toMatch(/revoked/i);
  });
});
