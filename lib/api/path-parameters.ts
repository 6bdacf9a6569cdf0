/**
 * Every path parameter of CS1's routes and how it is parsed: a route's handler receives its
 * parameters only after each one passed its parser, so a bad id is a 400 naming it before any
 * handler or service code runs.
 */
import { assertOwnerId } from '../auth/owner-id';
import { assertImageId, assertIndexName, assertUserId, assertVersionName } from '../storage/identifiers';

export const PATH_PARAMETERS = {
  ownerId: (value: unknown): string => {
    assertOwnerId(value);
    return value;
  },
  userId: (value: unknown): string => {
    assertUserId(value);
    return value;
  },
  indexName: (value: unknown): string => {
    assertIndexName(value);
    return value;
  },
  version: (value: unknown): string => {
    assertVersionName(value);
    return value;
  },
  imageId: (value: unknown): string => {
    assertImageId(value);
    return value;
  },
} as const;

export type PathParameterName = keyof typeof PATH_PARAMETERS;
export type PathParameters = { readonly [N in PathParameterName]: ReturnType<(typeof PATH_PARAMETERS)[N]> };

export function isPathParameterName(name: string): name is PathParameterName {
  return Object.hasOwn(PATH_PARAMETERS, name);
}
