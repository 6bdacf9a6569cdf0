/** In-process gateways with injected handlers, served on a free loopback port. */
import type { RouteDefinition } from '../../../functions/routes';
import { createCs2Gateway } from '../../../scripts/local-cloud/cs2-gateway';
import type { Cs2GatewayOptions } from '../../../scripts/local-cloud/cs2-gateway';
import { memoryLog } from '../../../scripts/local-cloud/gateway-log';
import type { GatewayLimits } from '../../../scripts/local-cloud/http-api-gateway';
import { createHttpApiGateway } from '../../../scripts/local-cloud/http-api-gateway';
import type { RunningServer } from '../../../scripts/local-cloud/http-server';
import { listen } from '../../../scripts/local-cloud/http-server';
import type { HandlerLoader, LambdaHandler } from '../../../scripts/local-cloud/lambda-runtime';

export const TEST_ROUTES: readonly RouteDefinition[] = [
  { method: 'POST', path: '/v1/open', handler: 'test/open', auth: 'none' },
  { method: 'POST', path: '/v1/owners/{ownerId}/things/{thingId}', handler: 'test/echo', auth: 'owner' },
  { method: 'GET', path: '/v1/owners/{ownerId}/things/{thingId}', handler: 'test/echo', auth: 'owner-or-user' },
  { method: 'POST', path: '/v1/owners/{ownerId}/respond', handler: 'test/respond', auth: 'owner' },
];

export interface Invocation {
  readonly handler: string;
  readonly event: Record<string, unknown>;
}

export function injectedLoader(handlers: Record<string, LambdaHandler>, calls: Invocation[]): HandlerLoader {
  return async (name) => {
    const handler = handlers[name];
    if (!handler) throw new Error(`no test handler ${name}`);
    return (event, context, callback) => {
      calls.push({ handler: name, event: event as Record<string, unknown> });
      return handler(event, context, callback);
    };
  };
}

export async function startTestGateway(handlers: Record<string, LambdaHandler>, limits: Partial<GatewayLimits> = {}) {
  const calls: Invocation[] = [];
  const log = memoryLog();
  const server: RunningServer = await listen(
    createHttpApiGateway({
      account: 'cs1',
      identity: { accountId: '000000000001', region: 'us-east-1', apiId: 'testapi' },
      routes: TEST_ROUTES,
      authorizerHandler: 'test/authorizer',
      loadHandler: injectedLoader(handlers, calls),
      limits,
      log,
    }),
    '127.0.0.1',
    0,
  );
  return { url: server.url, close: server.close, calls, log };
}

export async function startTestCs2(
  handler: LambdaHandler,
  trustedDigest: Buffer,
  extra: Partial<Pick<Cs2GatewayOptions, 'timeoutMs' | 'maxPayloadBytes'>> = {},
) {
  const calls: Invocation[] = [];
  const log = memoryLog();
  const server = await listen(
    createCs2Gateway({
      account: 'cs2',
      accountId: '000000000002',
      region: 'us-east-1',
      trustedDigest,
      decryptHandler: 'cs2/decrypt',
      functionName: 'blindsight-cs2-decrypt',
      loadHandler: injectedLoader({ 'cs2/decrypt': handler }, calls),
      log,
      ...extra,
    }),
    '127.0.0.1',
    0,
  );
  return { url: server.url, close: server.close, calls, log };
}

/** Allows `Bearer good`, denies anything else; echoes the token's owner as context. */
export const testAuthorizer: LambdaHandler = async (event) => {
  const e = event as { identitySource: string[] };
  return e.identitySource[0] === 'Bearer good'
    ? { isAuthorized: true, context: { ownerId: 'o-1', role: 'owner' } }
    : { isAuthorized: false };
};

/** Returns the event it received, so tests can inspect it. */
export const echoHandler: LambdaHandler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(event),
});
