/**
 * The HTTP API's Lambda authorizer (payload 2.0, simple responses, identity source
 * `$request.header.Authorization`, no result caching): verifies the owner-signed bearer token
 * and passes {ownerId, role, userId} to the route's handler as `requestContext.authorizer.lambda`.
 *
 * A token that fails verification is denied (API Gateway answers 403; a request without the
 * header never gets here, API Gateway answers 401). The reason is logged (e.g. "token expired
 * at ..."), never the token. A storage failure is not a verdict on the token: it is thrown, so
 * API Gateway answers 500 and the client retries instead of discarding a good token.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerResult,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { isBlindsightError } from '../../lib/core/errors';
import { cs1Services } from '../../lib/service/cs1/services';
import type { CallerContext } from '../lib/caller';
import { serviceLogger } from '../lib/logger';

const logger = serviceLogger('blindsight-cs1-authorizer');

export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<CallerContext> | APIGatewaySimpleAuthorizerResult;

async function authorize(event: APIGatewayRequestAuthorizerEventV2): Promise<AuthorizerResult> {
  const header = event.identitySource?.[0] ?? event.headers?.authorization;
  try {
    const verified = await cs1Services().authorizer.authorize(header);
    const context: CallerContext = { ownerId: verified.ownerId, role: verified.role, ...(verified.userId ? { userId: verified.userId } : {}) };
    // DEBUG: the route's handler logs the caller with its one INFO line per request; a denial
    // is the authorizer's own outcome and stays at INFO.
    logger.debug('allowed', { route: event.routeKey, ownerId: verified.ownerId, role: verified.role, userId: verified.userId, tokenId: verified.tokenId });
    return { isAuthorized: true, context };
  } catch (error) {
    if (isBlindsightError(error) && (error.code === 'UNAUTHORIZED' || error.code === 'INVALID_INPUT')) {
      logger.info('denied', { route: event.routeKey, reason: error.message });
      return { isAuthorized: false };
    }
    logger.error('authorizer failed', { route: event.routeKey, error: error instanceof Error ? { name: error.name, message: error.message } : String(error) });
    throw error;
  }
}

export const handler = middy(authorize).use(injectLambdaContext(logger, { resetKeys: true }));
