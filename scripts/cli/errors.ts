/**
 * The CLI's errors: every failure ends as ONE line on stderr and an exit code (1: the command
 * failed; 2: it was called wrongly). No stack traces: messages of typed errors are written for
 * people and never contain key material; anything else is reduced to its first line.
 */
import { BlindsightError, isBlindsightError } from '../../lib/core/errors';
import type { ErrorCode } from '../../lib/core/errors';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command line itself is wrong (a missing or contradictory option): exit code 2. */
export class UsageError extends BlindsightError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
  }
}

/** A local file problem (missing, unreadable, wrong permissions), named with its path. */
export class LocalFileError extends BlindsightError {
  readonly path: string;

  constructor(path: string, message: string, code: ErrorCode = 'INVALID_INPUT') {
    super(code, message);
    this.path = path;
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
};

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** A file-system error as a LocalFileError: "cannot read <path>: permission denied". */
export function fileError(action: string, path: string, error: unknown): LocalFileError {
  const code = errnoCode(error);
  const text = code !== undefined ? (ERRNO_TEXT[code] ?? code) : error instanceof Error ? firstLine(error.message) : String(error);
  return new LocalFileError(path, `cannot ${action} ${path}: ${text}`, code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT');
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

export interface DescribedError {
  readonly code: string;
  readonly message: string;
  readonly exitCode: number;
}

/** One line for any error, and the exit code it deserves. */
export function describeError(error: unknown): DescribedError {
  if (error instanceof UsageError) return { code: 'USAGE', message: error.message, exitCode: EXIT_USAGE };
  if (isBlindsightError(error)) return { code: error.code, message: firstLine(error.message), exitCode: EXIT_FAILURE };
  const errno = errnoCode(error);
  if (errno !== undefined) {
    const path = (error as { path?: unknown }).path;
    const where = typeof path === 'string' ? ` ${path}` : '';
    return { code: 'INVALID_INPUT', message: `file system error${where}: ${ERRNO_TEXT[errno] ?? errno}`, exitCode: EXIT_FAILURE };
  }
  const message = error instanceof Error ? firstLine(error.message) : String(error);
  return { code: 'INTERNAL', message: message || 'unexpected error', exitCode: EXIT_FAILURE };
}
