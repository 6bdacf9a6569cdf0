/**
 * JSON.parse accepts 1e999 and turns it into Infinity; no vector, trapdoor or count may be
 * infinite, so the body parser's reviver refuses such numbers, and the error responder names
 * the field.
 */

/** Marks the parse error so the error responder can tell it from malformed JSON. */
export const NON_FINITE_MARKER = 'non-finite number in JSON body';

export function rejectNonFiniteNumbers(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`${NON_FINITE_MARKER}: "${key}"`);
  }
  return value;
}
