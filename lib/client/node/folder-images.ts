/**
 * Image files on disk as workflow image entries: a folder (optionally with its sub-folders) or
 * a list of files and folders given on a command line. Listing reads no image: the model need
 * not be loaded to find out that a folder holds nothing usable, and why.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InvalidInputError } from '../../core/errors';
import { listFolderFiles } from '../../features/folder';
import type { SkippedFile } from '../../features/types';
import type { ImageEntry, ImageListing } from '../images';
import { fileError } from './file-errors';

/** File name endings of the formats the feature models decode (others are still tried: content decides). */
const IMAGE_NAME = /\.(jpe?g|png|webp)$/i;

export function fileEntry(path: string, name: string): ImageEntry {
  return {
    name,
    source: path,
    read: async () => {
      try {
        return new Uint8Array(await readFile(path));
      } catch (error) {
        throw fileError('read image', path, error);
      }
    },
  };
}

async function kindOf(path: string, what: string): Promise<'folder' | 'file'> {
  try {
    return (await stat(path)).isDirectory() ? 'folder' : 'file';
  } catch (error) {
    throw fileError(`read ${what}`, path, error);
  }
}

/**
 * The files of a folder as entries named by their relative paths ('/'-separated), in a stable
 * order. Hidden entries are left out.
 */
export async function listImageFolder(folder: string, options: { recursive?: boolean } = {}): Promise<ImageListing> {
  if ((await kindOf(folder, 'the image folder')) !== 'folder') {
    throw new InvalidInputError(`${folder} is not a folder: give the folder of images`);
  }
  const listing = await listFolderFiles(folder, options.recursive === true);
  return { entries: listing.files.map((file) => fileEntry(join(folder, file), file)), unreadable: listing.unreadable };
}

/** Why a folder listed without its sub-folders gives no usable image, with what to do about it. */
export async function emptyFolderHint(folder: string, recursive: boolean): Promise<string | undefined> {
  if (recursive) return undefined;
  const nested = (await listFolderFiles(folder, true)).files.filter((file) => file.includes('/'));
  const images = nested.filter((file) => IMAGE_NAME.test(file)).length;
  if (images === 0) return undefined;
  const subfolders = new Set(nested.map((file) => file.slice(0, file.indexOf('/')))).size;
  return `its ${subfolders === 1 ? 'sub-folder holds' : `${subfolders} sub-folders hold`} ${images} image${images === 1 ? '' : 's'}: add --recursive`;
}

/**
 * Query images named on a command line: files as given, folders expanded to their files
 * (sorted; with `recursive`, sub-folders too). Entries are named by the path as typed (files)
 * or folder/relative path (folder contents).
 */
export async function collectImages(paths: readonly string[], resolvePath: (path: string) => string, options: { recursive?: boolean } = {}): Promise<ImageListing & { readonly folders: number }> {
  const entries: ImageEntry[] = [];
  const unreadable: SkippedFile[] = [];
  let folders = 0;
  for (const given of paths) {
    const path = resolvePath(given);
    if ((await kindOf(path, 'query image')) === 'folder') {
      folders++;
      const listing = await listImageFolder(path, options);
      if (listing.entries.length === 0) {
        const hint = await emptyFolderHint(path, options.recursive === true);
        throw new InvalidInputError(`${path} holds no files${hint ? `; ${hint}` : ''}`);
      }
      for (const entry of listing.entries) entries.push(fileEntry(String(entry.source), `${given.replace(/\/+$/, '')}/${entry.name}`));
      unreadable.push(...listing.unreadable.map((s) => ({ file: `${given}/${s.file}`, reason: s.reason })));
    } else {
      entries.push(fileEntry(path, given));
    }
  }
  return { entries, unreadable, folders };
}

/** A file name for a query's result folder: its base name without extension, made unique. */
export function uniqueStem(name: string, taken: Set<string>): string {
  const stem = basename(name).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'query';
  let candidate = stem;
  for (let i = 2; taken.has(candidate); i++) candidate = `${stem}-${i}`;
  taken.add(candidate);
  return candidate;
}
