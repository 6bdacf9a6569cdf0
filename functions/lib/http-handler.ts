/**
 * Every HTTP handler is a small function wrapped in the same middy chain: Lambda context in
 * the logs, normalised headers, JSON body parsing and JSON-schema validation where the route
 * takes a body, the access check of the route, and one error responder.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import validator from '@middy/validator';
import { transpileSchema } from '@middy/validator/transpile';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type { RouteAuth } from '../routes';
import { requireAccess, type AuthorizedEvent } from './caller';
import { errorResponder } from './error-responder';
import { rejectNonFiniteNumbers } from './json-body';
import { serviceLogger } from './logger';
import type { HttpResult } from './responses';

export interface HttpHandlerOptions {
  readonly service: string;
  readonly auth: RouteAuth;
  /** JSON schema of the parsed body; requests with a body are parsed as JSON when given. */
  readonly bodySchema?: object;
}

export function httpHandler<TBody = unknown>(
  options: HttpHandlerOptions,
  handle: (event: AuthorizedEvent<TBody>, context: Context) => Promise<HttpResult>,
) {
  const logger = serviceLogger(options.service);
  const chain = middy(handle as (event: AuthorizedEvent, context: Context) => Promise<HttpResult>)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(errorResponder(logger))
    .use(requireAccess(options.auth));
  if (options.bodySchema) {
    chain.use(httpJsonBodyParser({ reviver: rejectNonFiniteNumbers })).use(
      validator({
        eventSchema: transpileSchema(
          {
            type: 'object',
            required: ['body'],
            properties: { body: options.bodySchema },
          },
          // middy's default coerces types ("array" mode): null and "2" would pass as numbers, so a
          // NaN that JSON.stringify turned into null would silently become 0. Bodies are JSON:
          // every value already has its real type.
          { coerceTypes: false },
        ),
      }),
    );
  }
  return chain;
}
