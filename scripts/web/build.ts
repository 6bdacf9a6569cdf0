/**
 * Builds the user web page (web/) with Vite: `npm run build:web [-- --out DIR]`. The demo and
 * the browser test call {@link buildWebPage} (or reuse a build that is newer than every source
 * it is made from, {@link ensureWebPage}).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { webConfig } from '../../web/vite.config';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const WEB_DIST = join(ROOT, 'web', 'dist');
/** What the page is built from: a change in any of them makes a build stale. */
const SOURCES = ['web/index.html', 'web/src', 'web/vite.config.ts', 'lib', 'package-lock.json'];

export async function buildWebPage(outDir: string = WEB_DIST): Promise<string> {
  await build(webConfig(outDir));
  return outDir;
}

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

/** The built page in `outDir`, building it first unless a build newer than all its sources is there. */
export async function ensureWebPage(outDir: string = WEB_DIST): Promise<{ dir: string; built: boolean }> {
  const built = await stat(join(outDir, 'index.html')).then((info) => info.mtimeMs, () => undefined);
  if (built !== undefined) {
    const sources = await Promise.all(SOURCES.map((source) => newestMtime(join(ROOT, source)).catch(() => 0)));
    if (Math.max(...sources) < built) return { dir: outDir, built: false };
  }
  await buildWebPage(outDir);
  return { dir: outDir, built: true };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const outDir = at >= 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : WEB_DIST;
  const started = Date.now();
  buildWebPage(outDir).then(
    (dir) => console.log(`web page built in ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
