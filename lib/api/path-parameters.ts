/**
 * Every path parameter of CS1's routes and how it is parsed: a route's handler receives its
 * parameters only after each one passed its parser, so a bad id is a 400 naming it before any
 * handler or service code runs, and the handler gets the branded id (lib/core/ids.ts).
 */
import { parseImageId, parseIndexName, parseOwnerId, parseUserId, parseVersionId } from '../core/ids';

export const PATH_PARAMETERS = {
  ownerId: (value: unknown) => parseOwnerId(value),
  userId: parseUserId,
  indexName: parseIndexName,
  version: parseVersionId,
  imageId: parseImageId,
} as const;

export type PathParameterName = keyof typeof PATH_PARAMETERS;
export type PathParameters = { readonly [N in PathParameterName]: ReturnType<(typeof PATH_PARAMETERS)[N]> };

export function isPathParameterName(name: string): name is PathParameterName {
  return Object.hasOwn(PATH_PARAMETERS, name);
}
