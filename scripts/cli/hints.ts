/**
 * Hints for the mix-ups people make with the GenKey files: a grant given where a key request
 * belongs, and the other way round. Said before the strict decoder would only say "it is not a
 * blindsight-key-request file".
 */
import { InvalidInputError } from '../../lib/core/errors';
import { GRANT_FORMAT, KEY_REQUEST_FORMAT } from '../../lib/client/formats';

export function hintForWrongFile(parsed: unknown, expected: 'key request' | 'grant', path: string): void {
  const format = (parsed as { format?: unknown } | null)?.format;
  if (expected === 'key request' && format === GRANT_FORMAT) {
    throw new InvalidInputError(
      `${path} is a grant (what "owner enroll" writes for the user), not a key request: enroll reads the key-request.json the user made with "blindsight user request-key"`,
    );
  }
  if (expected === 'grant' && format === KEY_REQUEST_FORMAT) {
    throw new InvalidInputError(
      `${path} is your key request, not a grant: send it to the owner, who runs "blindsight owner enroll <your user id> --request ${path}" and sends you back a grant to import`,
    );
  }
}
