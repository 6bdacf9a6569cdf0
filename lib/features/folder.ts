/**
 * Lists the files of an image folder in a stable order (code-unit order of their relative
 * paths), so the same folder always yields the same ids in the same order.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../core/errors';
import type { SkippedFile } from './types';

export interface FolderListing {
  /** Relative '/'-separated paths of the regular files (and links to them). */
  readonly files: string[];
  /** Sub-folders that could not be listed (recursive mode); reported, not fatal. */
  readonly unreadable: SkippedFile[];
}

/**
 * Lists a folder. Hidden entries (".name") are left out.
 * @throws NotFoundError when the folder itself cannot be read.
 */
export async function listFolderFiles(dir: string, recursive = false): Promise<FolderListing> {
  const files: string[] = [];
  const unreadable: SkippedFile[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(dir, relative), { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      if (relative === '') throw new NotFoundError(`image folder ${dir} cannot be read (${code})`);
      unreadable.push({ file: relative, reason: `folder cannot be read (${code})` });
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (recursive) await walk(rel);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        files.push(rel);
      }
    }
  };
  await walk('');
  const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  files.sort(byCodeUnits);
  unreadable.sort((a, b) => byCodeUnits(a.file, b.file));
  return { files, unreadable };
}
