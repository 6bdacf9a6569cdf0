/**
 * The REST API's Lambda REQUEST authorizer (identity source: the Authorization header; result
 * caching configurable, off by default): verifies the owner-signed bearer token and passes
 * {ownerId, role, userId} to the route's handler as `requestContext.authorizer`.
 *
 * Allowed: an IAM policy allowing every route of the stage. API Gateway caches one verdict per
 * token for all routes when caching is on, so the policy cannot name the one route asked for;
 * the handlers check the owner in the path and the role the route needs themselves.
 * Denied (a token that fails verification): a Deny policy, API Gateway answers 403. A request
 * without the header never gets here (401). The reason is logged (e.g. "token expired at
 * ..."), never the token. A storage failure is not a verdict on the token: it is thrown, API
 * Gateway answers with its AUTHORIZER_FAILURE response (503 in this API) and the client
 * retries instead of discarding a good token.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { CS1_AUTHORIZER } from '../../lib/api/routes';
import { isBlindsightError } from '../../lib/core/errors';
import { accountServices } from '../../lib/service/accounts/account-services';
import type { CallerContext } from '../lib/caller';
import { serviceLogger, serviceNameOf } from '../lib/logger';

const logger = serviceLogger(serviceNameOf(CS1_AUTHORIZER.handler));

/** The identity source, whatever case the client used for the header name. */
function authorizationOf(event: APIGatewayRequestAuthorizerEvent): string | undefined {
  const wanted = CS1_AUTHORIZER.header.toLowerCase();
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === wanted && typeof value === 'string') return value;
  }
  return undefined;
}

/** `arn:...:apiId/stage/METHOD/path` -> `arn:...:apiId/stage/*` (every route of the stage). */
export function stageWildcardOf(methodArn: string): string {
  const [api, stage] = methodArn.split('/');
  if (!api?.startsWith('arn:') || !stage) throw new Error(`unexpected methodArn ${methodArn}`);
  return `${api}/${stage}/*`;
}

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
  };
}

async function authorize(event: APIGatewayRequestAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const route = `${event.httpMethod} ${event.resource}`;
  try {
    const verified = await accountServices().authorizer.authorize(authorizationOf(event));
    const context: CallerContext = { ownerId: verified.ownerId, role: verified.role, ...(verified.userId ? { userId: verified.userId } : {}) };
    // DEBUG: the route's handler logs the caller with its one INFO line per request; a denial
    // is the authorizer's own outcome and stays at INFO.
    logger.debug('allowed', { route, ownerId: verified.ownerId, role: verified.role, userId: verified.userId, tokenId: verified.tokenId });
    const principal = verified.userId ? `${verified.ownerId}/${verified.userId}` : verified.ownerId;
    return { ...policy(principal, 'Allow', stageWildcardOf(event.methodArn)), context: { ...context } };
  } catch (error) {
    if (isBlindsightError(error) && (error.code === 'UNAUTHORIZED' || error.code === 'INVALID_INPUT')) {
      logger.info('denied', { route, reason: error.message });
      return policy('denied', 'Deny', event.methodArn);
    }
    logger.error('authorizer failed', { route, error: error instanceof Error ? { name: error.name, message: error.message } : String(error) });
    throw error;
  }
}

export const handler = middy(authorize).use(injectLambdaContext(logger, { resetKeys: true }));
