/** In-process gateways with injected handlers, served on a free loopback port. */

import { createCs2Gateway } from '../../../scripts/local-cloud/cs2-gateway';
import type { Cs2GatewayOptions } from '../../../scripts/local-cloud/cs2-gateway';
import { memoryLog } from '../../support/logs';
import type { GatewayLimits, GatewayRoute } from '../../../scripts/local-cloud/rest-api-gateway';
import { createRestApiGateway } from '../../../scripts/local-cloud/rest-api-gateway';
import type { RunningServer } from '../../../scripts/local-cloud/http-server';
import { listen } from '../../../scripts/local-cloud/http-server';
import type { HandlerLoader, LambdaHandler } from '../../../scripts/local-cloud/lambda-runtime';

export const TEST_ROUTES: readonly GatewayRoute[] = [
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

export async function startTestGateway(handlers: Record<string, LambdaHandler>, limits: Partial<GatewayLimits> = {}, corsOrigins: readonly string[] = []) {
  const calls: Invocation[] = [];
  const log = memoryLog();
  const server: RunningServer = await listen(
    createRestApiGateway({
      account: 'cs1',
      identity: { accountId: '000000000001', region: 'us-east-1', apiId: 'testapi' },
      routes: TEST_ROUTES,
      authorizerHandler: 'test/authorizer',
      loadHandler: injectedLoader(handlers, calls),
      limits,
      corsOrigins,
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

/** A REST authorizer result: `effect` on `resource`, with the caller as context. */
export function policyResult(effect: 'Allow' | 'Deny', resource: string, context: Record<string, unknown> = { ownerId: 'o-1', role: 'owner' }) {
  return {
    principalId: 'o-1',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    context,
  };
}

/** Allows `Bearer good` (for every method of the stage), denies anything else. */
export const testAuthorizer: LambdaHandler = async (event) => {
  const e = event as { headers: Record<string, string>; methodArn: string };
  const allowed = e.headers.Authorization === 'Bearer good' || e.headers.authorization === 'Bearer good';
  return allowed ? policyResult('Allow', `${e.methodArn.split('/').slice(0, 2).join('/')}/*`) : policyResult('Deny', e.methodArn);
};

/** Returns the event it received, so tests can inspect it. */
export const echoHandler: LambdaHandler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(event),
});
