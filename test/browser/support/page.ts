/**
 * The built page for browser tests: one build per test run (web/dist unless it is newer than
 * its sources), and the URL of a module chunk of it (from Vite's manifest), so a test can load
 * the page's own feature code in the page.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureWebPage, WEB_DIST } from '../../../scripts/web/build';

export async function builtPage(): Promise<string> {
  return (await ensureWebPage(WEB_DIST)).dir;
}

/** The path (from the page's root) of the chunk built from `source` (relative to web/). */
export async function chunkPath(dist: string, source: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<string, { file: string }>;
  const entry = manifest[source];
  if (!entry) throw new Error(`the page's build has no chunk for ${source}`);
  return `/${entry.file}`;
}
