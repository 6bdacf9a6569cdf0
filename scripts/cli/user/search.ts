/**
 * `blindsight user search <image|folder>... [--ids-only | --out <dir>]`: the search workflow
 * (lib/client/user-search) over files and folders on disk, with the model loaded once for all
 * of them. Decrypted results go to files: with one query given as a file and --out, straight
 * into --out; otherwise into one folder per query (<out>/<query name>/), --out defaulting to
 * ./blindsight-results. Earlier results in that folder are replaced.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { collectImages, listImageFolder, uniqueStem } from '../../../lib/client/node/folder-images';
import { ensurePrivateDir, writePrivateFile } from '../../../lib/client/node/private-files';
import { decoyPoolOf, DEFAULT_K, searchImages } from '../../../lib/client/user-search';
import type { ResultSink, SearchOutcome } from '../../../lib/client/user-search';
import type { ImageFormat } from '../../../lib/features/types';
import type { SearchIndexKind } from '../../../lib/client/owner-state';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { openUser } from './user-command';

const DEFAULT_RESULTS_DIR = 'blindsight-results';

export interface SearchOptions {
  /** Image files and folders. */
  readonly images: readonly string[];
  /** Folder for the decrypted results (default ./blindsight-results). */
  readonly out?: string;
  /** Only the result ids: nothing is downloaded or written. */
  readonly idsOnly?: boolean;
  /** Which of the grant's indexes (default: sealed when the grant has one). */
  readonly kind?: SearchIndexKind;
  readonly k?: number;
  /** K of K-anonymity: trapdoors per request (1 = no decoys). */
  readonly anonymity?: number;
  readonly probes?: number;
  /** A folder of the user's own images to draw decoys from (default: the grant's pool). */
  readonly decoys?: string;
  /** Folders are searched with their sub-folders. */
  readonly recursive?: boolean;
}

export type SearchResult = SearchOutcome & { readonly out?: string };

const EXTENSIONS: Record<ImageFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp' };
/** Result files this command writes: rank, image id, format. */
const RESULT_FILE = /^\d{2,}-[a-z2-7]{18}\.(jpg|png|webp|bin)$/;

/** Writes result images to files, one folder per query (or `out` itself for a single query). */
function resultFiles(out: string, perQueryFolders: boolean, k: number): ResultSink {
  const taken = new Set<string>();
  const folders = new Map<string, string>();
  const folderOf = (name: string) => {
    let folder = folders.get(name);
    if (folder === undefined) {
      folder = perQueryFolders ? join(out, uniqueStem(name, taken)) : out;
      folders.set(name, folder);
    }
    return folder;
  };
  const prepared = new Map<string, Promise<void>>();
  const prepare = (folder: string) => {
    let pending = prepared.get(folder);
    if (pending === undefined) {
      pending = (async () => {
        await ensurePrivateDir(folder);
        for (const name of await readdir(folder)) if (RESULT_FILE.test(name)) await unlink(join(folder, name));
      })();
      prepared.set(folder, pending);
    }
    return pending;
  };
  const width = Math.max(2, String(k).length);
  return {
    save: async (query, rank, imageId, bytes, format) => {
      const folder = folderOf(query.name);
      await prepare(folder);
      const file = join(folder, `${String(rank).padStart(width, '0')}-${imageId}.${format ? EXTENSIONS[format] : 'bin'}`);
      await writePrivateFile(file, bytes);
      return file;
    },
  };
}

export async function userSearch(context: CommandContext, options: SearchOptions): Promise<SearchResult> {
  const { session, client: makeClient } = await openUser(context);
  const collected = await collectImages(options.images, (path) => resolvePath(context, path), { recursive: options.recursive });
  const singleFile = collected.folders === 0 && collected.entries.length === 1;
  const client = await makeClient();
  const decoys =
    options.decoys !== undefined && (options.anonymity ?? 1) > 1
      ? await decoyPoolOf(session, context.models, (await listImageFolder(resolvePath(context, options.decoys))).entries, context.listener)
      : undefined;
  const out = options.idsOnly ? undefined : resolvePath(context, options.out ?? DEFAULT_RESULTS_DIR);
  const outcome = await searchImages(
    {
      session,
      client,
      models: context.models,
      queries: collected.entries,
      ...(options.kind !== undefined ? { kind: options.kind } : {}),
      k: options.k,
      anonymity: options.anonymity,
      probes: options.probes,
      decoys,
      skipUnusable: !singleFile,
      ...(out !== undefined ? { results: resultFiles(out, !(singleFile && options.out !== undefined), options.k ?? DEFAULT_K) } : {}),
    },
    context.listener,
  );
  if (collected.unreadable.length > 0) context.listener({ type: 'warning', message: `${collected.unreadable.length} folders could not be read: ${collected.unreadable.map((u) => u.file).join(', ')}` });
  return { ...outcome, ...(out !== undefined ? { out } : {}) };
}
