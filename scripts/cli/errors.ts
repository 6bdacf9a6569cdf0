/**
 * The CLI's errors: every failure ends as ONE line on stderr and an exit code (1: the command
 * failed; 2: it was called wrongly). No stack traces: messages of typed errors are written for
 * people and never contain key material; anything else is reduced to its first line.
 */
import { BlindsightError, isBlindsightError } from '../../lib/core/errors';
import { errnoCode, ERRNO_TEXT } from '../../lib/client/node/file-errors';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command line itself is wrong (a missing or contradictory option): exit code 2. */
export class UsageError extends BlindsightError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
  }
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
