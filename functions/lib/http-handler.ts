/**
 * Every HTTP handler is a small function wrapped in the same middy chain, configured from its
 * route in the contract (lib/api/routes.ts): Lambda context in the logs, normalised headers,
 * CORS for the configured origins, one error responder, the access check of the route, the
 * path parameters parsed, and, where the route takes a body, its size limit, JSON parsing and
 * validation against the route's schema.
 */
import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import validator from '@middy/validator';
import { transpileSchema } from '@middy/validator/transpile';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Static, TSchema } from '@sinclair/typebox';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { CORS_EXPOSED_HEADERS } from '../../lib/api/cors';
import { EnvironmentConfig } from '../../lib/config/environment';
import type { PathParameterName, PathParameters } from '../../lib/api/path-parameters';
import { isPathParameterName, PATH_PARAMETERS } from '../../lib/api/path-parameters';
import type { RouteDefinition } from '../../lib/api/routes';
import { pathParameterNamesOf } from '../../lib/api/routes';
import { InvalidInputError, PayloadTooLargeError } from '../../lib/core/errors';
import { requireAccess } from './caller';
import { errorResponder } from './error-responder';
import { rejectNonFiniteNumbers } from './json-body';
import { serviceLogger, serviceNameOf } from './logger';
import type { HttpResult } from './responses';

type ParameterNamesOf<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? Name | ParameterNamesOf<Rest> : never;

/** The parsed path parameters of a route. */
export type RouteParameters<R extends Pick<RouteDefinition, 'path'>> = {
  readonly [N in ParameterNamesOf<R['path']> & PathParameterName]: PathParameters[N];
};

/** The parsed body of a route (undefined for routes without one). */
export type RouteBody<R> = R extends { readonly body: infer S extends TSchema } ? Static<S> : undefined;

/** A REST proxy event after the chain: body parsed and valid, path parameters parsed. */
export type RouteEvent<R extends RouteDefinition> = Omit<APIGatewayProxyEvent, 'body' | 'pathParameters'> & {
  body: RouteBody<R>;
  pathParameters: RouteParameters<R>;
};

/** Parses every `{param}` of the route's path (a bad one is a 400 naming it). */
function parsePathParameters(route: RouteDefinition): middy.MiddlewareObj<APIGatewayProxyEvent> {
  const names = pathParameterNamesOf(route.path);
  for (const name of names) {
    if (!isPathParameterName(name)) throw new Error(`route ${route.path}: no parser for path parameter ${name} in lib/api/path-parameters.ts`);
  }
  return {
    before: async ({ event }) => {
      const parsed: Record<string, string> = {};
      for (const name of names) parsed[name] = PATH_PARAMETERS[name](event.pathParameters?.[name]);
      event.pathParameters = parsed;
    },
  };
}

/**
 * Refuses a missing body, and a body over the route's limit, before it is parsed. A REST proxy
 * event carries `body: null` when the request had none, which the JSON parser would read as
 * the JSON value null.
 */
function checkBody(route: RouteDefinition): middy.MiddlewareObj<APIGatewayProxyEvent> {
  return {
    before: async ({ event }) => {
      if (typeof event.body !== 'string' || event.body === '') {
        throw new InvalidInputError('the request body is missing: send a JSON object (Content-Type: application/json)');
      }
      const bytes = event.isBase64Encoded ? Math.floor((event.body.length * 3) / 4) : Buffer.byteLength(event.body, 'utf8');
      if (bytes > route.maxBodyBytes) {
        throw new PayloadTooLargeError(`the request body is ${bytes} bytes; this route takes at most ${route.maxBodyBytes}`);
      }
    },
  };
}

export function routeHandler<R extends RouteDefinition>(route: R, handle: (event: RouteEvent<R>, context: Context) => Promise<HttpResult>) {
  const logger = serviceLogger(serviceNameOf(route.handler));
  const chain = middy(handle as unknown as (event: APIGatewayProxyEvent, context: Context) => Promise<HttpResult>)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    // Before the error responder in the chain, so its `onError` adds the headers to errors too.
    .use(
      httpCors({
        origins: [...new EnvironmentConfig().get('corsOrigins')],
        exposeHeaders: CORS_EXPOSED_HEADERS.join(','),
      }),
    )
    .use(errorResponder(logger))
    .use(requireAccess(route.auth))
    .use(parsePathParameters(route));
  if (route.body !== undefined) {
    chain
      .use(checkBody(route))
      .use(httpJsonBodyParser({ reviver: rejectNonFiniteNumbers }))
      .use(
        validator({
          eventSchema: transpileSchema(
            { type: 'object', required: ['body'], properties: { body: route.body } },
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
