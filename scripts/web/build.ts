/**
 * Builds the user web page (web/) with Vite: `npm run build:web [-- --out DIR]`. The demo and
 * the browser test call {@link buildWebPage} (or reuse a build that is newer than every source
 * it is made from, {@link ensureWebPage}).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

async function isFresh(outDir: string): Promise<boolean> {
  const built = await stat(join(outDir, 'index.html')).then((info) => info.mtimeMs, () => undefined);
  if (built === undefined) return false;
  const sources = await Promise.all(SOURCES.map((source) => newestMtime(join(ROOT, source)).catch(() => 0)));
  return Math.max(...sources) < built;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One build at a time per output folder, across processes (tests in parallel workers, a demo):
 * a lock directory holding the builder's pid; a lock whose process is gone is taken over.
 */
async function withBuildLock<T>(outDir: string, work: () => Promise<T>): Promise<T> {
  const lock = `${outDir}.lock`;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => 'NaN'));
      if (Number.isInteger(holder) && !isAlive(holder)) await rm(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** The built page in `outDir`, building it first unless a build newer than all its sources is there. */
export async function ensureWebPage(outDir: string = WEB_DIST): Promise<{ dir: string; built: boolean }> {
  if (await isFresh(outDir)) return { dir: outDir, built: false };
  return withBuildLock(outDir, async () => {
    // Another process may have built it while this one waited.
    if (await isFresh(outDir)) return { dir: outDir, built: false };
    await buildWebPage(outDir);
    return { dir: outDir, built: true };
  });
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
