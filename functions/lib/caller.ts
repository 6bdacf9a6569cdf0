/**
 * Who is calling: the authorizer verified the token and put {ownerId, role, userId} into the
 * request context; handlers check it again against the route (defence in depth: a handler
 * behind a misconfigured route, or a cached authorizer verdict, still refuses a token for
 * another owner or the wrong role).
 */
import type middy from '@middy/core';
import { ForbiddenError, UnauthorizedError } from '../../lib/core/errors';
import type { RouteAuth } from '../../lib/api/routes';
import { isOwnerId, parseUserId } from '../../lib/core/ids';
import type { OwnerId, UserId } from '../../lib/core/ids';

export interface CallerContext {
  readonly ownerId: OwnerId;
  readonly role: 'owner' | 'user';
  readonly userId?: UserId;
}

/** What every REST proxy event carries for the caller (REST APIs put the context under `authorizer`). */
export interface WithAuthorizer {
  readonly requestContext: { readonly authorizer?: Readonly<Record<string, unknown>> | null };
  readonly pathParameters?: Readonly<Record<string, string | undefined>> | null;
}

/** The verified caller of an authorized route. */
export function callerOf(event: WithAuthorizer): CallerContext {
  const context = event.requestContext.authorizer;
  const ownerId = context?.ownerId;
  const role = context?.role;
  if (!isOwnerId(ownerId) || (role !== 'owner' && role !== 'user')) {
    throw new UnauthorizedError('this request was not authorized: send "Authorization: Bearer <token>"');
  }
  // The authorizer's context is this function's input: its ids are parsed here, once.
  const userId = typeof context?.userId === 'string' && context.userId !== '' ? parseUserId(context.userId) : undefined;
  return { ownerId, role, userId };
}

/** Checks the caller may act on the owner named in the path, with the role the route needs. */
export function requireAccess(auth: RouteAuth): middy.MiddlewareObj<WithAuthorizer> {
  return {
    before: async ({ event }) => {
      if (auth === 'none') return;
      const caller = callerOf(event);
      const pathOwner = event.pathParameters?.ownerId;
      if (pathOwner !== undefined && pathOwner !== caller.ownerId) {
        throw new ForbiddenError('this token belongs to another owner');
      }
      if (auth === 'owner' && caller.role !== 'owner') {
        throw new ForbiddenError('only the owner may do this; user tokens can search and download');
      }
    },
  };
}
