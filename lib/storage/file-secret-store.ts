/**
 * SecretStore on local files, for the local cloud's CS2 "account": one file per key id,
 * `<directory>/<keyId>.secret`, mode 0600 in a 0700 directory. Writes go to a temporary file
 * that is renamed into place, so a reader never sees half a secret. A secret file that others
 * can read is refused rather than used (as ssh does with private keys).
 */
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlindsightError, InvalidInputError, NotFoundError } from '../core/errors';
import type { SecretStore } from './types';
import { parseKeyId } from '../core/ids';

const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;
const SUFFIX = '.secret';

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

export class FileSecretStore implements SecretStore {
  constructor(private readonly directory: string) {
    if (!directory) throw new InvalidInputError('FileSecretStore needs a directory');
  }

  /** Path of a key's file (for operators and tests; the key id is validated). */
  pathOf(keyId: string): string {
    parseKeyId(keyId);
    return join(this.directory, `${keyId}${SUFFIX}`);
  }

  async get(keyId: string): Promise<Uint8Array> {
    const path = this.pathOf(keyId);
    let mode: number;
    try {
      mode = (await stat(path)).mode;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new NotFoundError(`no secret with key id "${keyId}": import it into CS2's key store first`);
      throw error;
    }
    if ((mode & 0o077) !== 0) {
      throw new BlindsightError(
        'INTERNAL',
        `secret file for key id "${keyId}" is readable by other users (mode ${(mode & 0o777).toString(8)}): run chmod 600 on it`,
      );
    }
    return new Uint8Array(await readFile(path));
  }

  async put(keyId: string, bytes: Uint8Array): Promise<void> {
    const path = this.pathOf(keyId);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new InvalidInputError('a secret must be a non-empty byte array');
    await mkdir(this.directory, { recursive: true, mode: DIRECTORY_MODE });
    const temporary = join(this.directory, `.${keyId}.${randomBytes(6).toString('hex')}.tmp`);
    // 'wx' + mode: created with 0600 from the start, never briefly world-readable.
    const handle = await open(temporary, 'wx', FILE_MODE);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await chmod(temporary, FILE_MODE); // the umask cannot widen it, but be explicit
      await rename(temporary, path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }
}
