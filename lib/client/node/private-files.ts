/**
 * Files that hold keys, tokens and decrypted images: folders 0700, files 0600 from the moment
 * they exist (created under a temporary name with 'wx' and the mode, then renamed into place,
 * so a reader never sees a half-written key and nobody else ever can). Reading a secret that
 * other users can read is refused, as ssh refuses such private keys.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileError, LocalFileError } from './file-errors';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates the folder (and missing parents) with mode 0700; tightens an existing one to 0700. */
export async function ensurePrivateDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
    await chmod(path, PRIVATE_DIR_MODE);
  } catch (error) {
    throw fileError('create the folder', path, error);
  }
}

/** Writes a file with mode 0600 atomically (its folder is created 0700 if missing). */
export async function writePrivateFile(path: string, data: Uint8Array | string): Promise<void> {
  const directory = dirname(path);
  await ensurePrivateDir(directory);
  const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw fileError('write', path, error);
  }
}

export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  await writePrivateFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function fileMode(path: string, what: string): Promise<number> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new LocalFileError(path, `${what} ${path} is a folder, not a file`);
    return info.mode & 0o777;
  } catch (error) {
    if (error instanceof LocalFileError) throw error;
    throw fileError(`read ${what}`, path, error);
  }
}

/** Reads a secret file, refusing it if other users could read it. */
export async function readPrivateFile(path: string, what: string): Promise<Uint8Array> {
  const mode = await fileMode(path, what);
  if ((mode & 0o077) !== 0) {
    throw new LocalFileError(path, `${what} ${path} is accessible by other users (mode ${mode.toString(8)}): run "chmod 600 ${path}"`);
  }
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw fileError(`read ${what}`, path, error);
  }
}

/** Reads any file the user names (an image, a request, a grant), with a clear error. */
export async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  await fileMode(path, what);
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw fileError(`read ${what}`, path, error);
  }
}

/** Whether other users can read the file (for warnings about grants and requests left lying around). */
export async function isExposed(path: string): Promise<boolean> {
  try {
    return ((await stat(path)).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** JSON.parse with an error that names the file instead of a parser position. */
export function parseJson(bytes: Uint8Array, path: string, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new LocalFileError(path, `${what} ${path} is not a JSON file`, 'MALFORMED_DATA');
  }
}
