/**
 * Local file problems as typed errors that name the file and say what is wrong in words
 * ("cannot read grant /x/alice.grant.json: no such file or folder"), never an errno alone.
 */
import { BlindsightError } from '../../core/errors';
import type { ErrorCode } from '../../core/errors';

/** A local file problem (missing, unreadable, wrong permissions), named with its path. */
export class LocalFileError extends BlindsightError {
  readonly path: string;

  constructor(path: string, message: string, code: ErrorCode = 'INVALID_INPUT') {
    super(code, message);
    this.path = path;
  }
}

export const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
};

export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

/** A file-system error as a LocalFileError: "cannot read <path>: permission denied". */
export function fileError(action: string, path: string, error: unknown): LocalFileError {
  const code = errnoCode(error);
  const text = code !== undefined ? (ERRNO_TEXT[code] ?? code) : error instanceof Error ? firstLine(error.message) : String(error);
  return new LocalFileError(path, `cannot ${action} ${path}: ${text}`, code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT');
}
