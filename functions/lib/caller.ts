/**
 * Who is calling: the authorizer verified the token and put {ownerId, role, userId} into the
 * request context; handlers check it again against the route (defence in depth: a handler
 * behind a misconfigured route still refuses a token for another owner).
 */
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2WithLambdaAuthorizer } from 'aws-lambda';
import { ForbiddenError, UnauthorizedError } from '../../lib/core/errors';
import type { RouteAuth } from '../routes';

export interface CallerContext {
  readonly ownerId: string;
  readonly role: 'owner' | 'user';
  readonly userId?: string;
}

export type AuthorizedEvent<TBody = unknown> = Omit<APIGatewayProxyEventV2WithLambdaAuthorizer<CallerContext>, 'body'> & {
  body: TBody;
};

/** The verified caller of an authorized route. */
export function callerOf(event: { requestContext: { authorizer?: { lambda?: Partial<CallerContext> } } }): CallerContext {
  const context = event.requestContext.authorizer?.lambda;
  if (!context?.ownerId || (context.role !== 'owner' && context.role !== 'user')) {
    throw new UnauthorizedError('this request was not authorized: send "Authorization: Bearer <token>"');
  }
  return { ownerId: context.ownerId, role: context.role, userId: context.userId || undefined };
}

/** Checks the caller may act on the owner named in the path, with the role the route needs. */
export function requireAccess(auth: RouteAuth): middy.MiddlewareObj<AuthorizedEvent> {
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
