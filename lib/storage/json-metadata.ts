/**
 * Index version metadata is a small JSON object stored as one string attribute, which keeps
 * numbers exact and avoids DynamoDB's map rules. It is checked here so that what is stored is
 * exactly what is read back: no NaN or infinities (JSON would turn them into null silently),
 * no undefined, functions, class instances or cycles, bounded depth and size.
 */
import { InvalidInputError, MalformedDataError } from '../core/errors';
import type { JsonObject } from './types';

/** Metadata must stay well below DynamoDB's 400 KB item limit (the item also holds a manifest). */
export const MAX_METADATA_BYTES = 100 * 1024;
const MAX_DEPTH = 32;

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function check(value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new InvalidInputError(`metadata nests deeper than ${MAX_DEPTH} levels at ${path}`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidInputError(`metadata value at ${path} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => check(item, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) check(item, `${path}.${key}`, depth + 1);
    return;
  }
  throw new InvalidInputError(`metadata value at ${path} is a ${typeof value}, which JSON cannot represent exactly`);
}

/** Validates and serializes metadata; InvalidInputError naming the offending path. */
export function encodeMetadata(metadata: unknown): string {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidInputError('metadata must be a JSON object');
  }
  check(metadata, '$', 0);
  const json = JSON.stringify(metadata);
  const bytes = new TextEncoder().encode(json).length;
  if (bytes >= MAX_METADATA_BYTES) {
    throw new InvalidInputError(`metadata is ${bytes} bytes of JSON; keep it under ${MAX_METADATA_BYTES} (put bulky data in blobs or S3)`);
  }
  return json;
}

export function decodeMetadata(json: unknown, what: string): JsonObject {
  if (typeof json !== 'string') throw new MalformedDataError(what, 'metadata is missing');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new MalformedDataError(what, 'metadata is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedDataError(what, 'metadata is not a JSON object');
  return value as JsonObject;
}
