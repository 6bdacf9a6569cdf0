/**
 * Handler tests: the handlers run as in a Lambda process configured for dynalite + s3rver
 * (environment variables, the storage factory, the service singletons), and are called with
 * API Gateway REST proxy events. `callWithToken` goes through the real authorizer first, exactly
 * like the REST API: denied -> 403 without calling the route's handler.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Value } from '@sinclair/typebox/value';
import { expect } from 'vitest';
import { CS1_ROUTES, routeKeyOf } from '../../../lib/api/routes';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import { issueToken } from '../../../lib/auth/tokens';
import type { OwnerSigningKey } from '../../../lib/auth/types';
import { STATUS_OF_CODE, isErrorCode } from '../../../lib/api/errors';
import { setPublishJobLauncher } from '../../../lib/service/versions/publish-job-services';
import { resetCs1Services } from '../../../lib/service/cs1-services';
import { resetAccountServices } from '../../../lib/service/accounts/account-services';
import { CS1_AUDIENCE } from '../../../lib/service/accounts/token-authorizer';
import { resetStorageClients } from '../../../lib/storage/config';
import { resetStorageFactories } from '../../../lib/storage/factory';
import { authorizerEvent, httpEvent, isAllowed, lambdaContext, parseResponse } from '../../support/http-events';
import type { CallerContextInput, HttpEventOptions } from '../../support/http-events';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = (event: any, context: any) => Promise<unknown>;

export interface Owner {
  readonly key: OwnerSigningKey;
  readonly ownerId: string;
  readonly caller: CallerContextInput;
  token(options?: { userId?: string; expiresInSeconds?: number; now?: Date }): Promise<string>;
}

export async function newOwner(): Promise<Owner> {
  const key = await generateOwnerSigningKey();
  const ownerId = await ownerIdOf(key.publicJwk);
  return {
    key,
    ownerId,
    caller: { ownerId, role: 'owner' },
    token: (options = {}) =>
      issueToken(key.privateJwk, {
        ownerId,
        role: options.userId === undefined ? 'owner' : 'user',
        userId: options.userId,
        expiresInSeconds: options.expiresInSeconds ?? 600,
        audience: CS1_AUDIENCE,
        now: options.now,
      }),
  };
}

/** Starts the emulators and points this process's handlers at them. */
export async function startHandlerWorld(extraEnv: Record<string, string> = {}): Promise<LocalAws> {
  const aws = await startLocalAws();
  Object.assign(process.env, aws.env, { BLINDSIGHT_LOG_LEVEL: 'SILENT', BLINDSIGHT_INDEX_CACHE_MB: '64' }, extraEnv);
  resetStorageClients();
  resetStorageFactories();
  resetCs1Services();
  resetAccountServices();
  await runPublishWorkersInProcess();
  return aws;
}

/**
 * The publish route starts its worker in this process (the local cloud runs it in an execution
 * environment, AWS as an asynchronous invocation) and answers once the job has ended.
 */
export async function runPublishWorkersInProcess(): Promise<void> {
  const worker = await loadCs1Handler('index-version-publish-worker');
  setPublishJobLauncher({
    launch: async (event) => {
      await worker(event, lambdaContext('blindsight-cs1-index-version-publish-worker'));
    },
  });
}

/**
 * A publish answer (202 with its job) as the client reports it once the job has ended: 200 with
 * the result, or the failed job's error with its code's status. Other answers pass unchanged.
 */
export function settled(response: Response): Response {
  if (response.statusCode !== 202) return response;
  const job = response.body as { status: string; result?: Record<string, unknown>; error?: { code: string; message: string } };
  if (job.status === 'succeeded') return { ...response, statusCode: 200, body: job.result ?? {} };
  if (job.status === 'failed') return { ...response, statusCode: isErrorCode(job.error?.code) ? STATUS_OF_CODE[job.error.code] : 500, body: { error: job.error } };
  throw new Error(`the publish job is still ${job.status}: in-process workers finish before the route answers`);
}

export interface Response {
  statusCode: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** A binary answer's bytes (its route's decoder checks them, not a JSON schema). */
  bytes?: Uint8Array;
}

/**
 * Calls a handler with an event for `routeKey` (with the authorizer's context if `caller`). A
 * success must be one the contract documents for the route, with a body its schema accepts.
 */
export async function call(handler: AnyHandler, routeKey: string, options: HttpEventOptions = {}): Promise<Response> {
  const response = parseResponse(await handler(httpEvent(routeKey, options), lambdaContext()));
  const route = CS1_ROUTES.find((candidate) => routeKeyOf(candidate) === routeKey);
  if (route !== undefined && response.statusCode < 300 && response.bytes === undefined) {
    const schema = route.responses[response.statusCode as 200 | 201];
    expect(schema, `${routeKey} answered ${response.statusCode}, which the contract does not list`).toBeDefined();
    expect([...Value.Errors(schema!, response.body)].map((e) => `${e.path} ${e.message}`), `${routeKey} response body`).toEqual([]);
  }
  return response;
}

/**
 * Like API Gateway: runs the authorizer on `Authorization: Bearer <token>`; denied -> 403
 * (the gateway's own answer), allowed -> the route's handler with the authorizer's context.
 */
export async function callWithToken(
  authorizer: AnyHandler,
  handler: AnyHandler,
  routeKey: string,
  token: string,
  options: Omit<HttpEventOptions, 'caller'> = {},
): Promise<Response> {
  const verdict = authorizerVerdict(await authorizer(authorizerEvent(routeKey, `Bearer ${token}`, options.pathParameters ?? {}), lambdaContext()));
  if (!verdict.isAuthorized) return { statusCode: 403, headers: {}, body: { message: 'Forbidden' } };
  return call(handler, routeKey, { ...options, caller: verdict.context as unknown as CallerContextInput });
}

/**
 * A REST authorizer result read the way API Gateway reads it for one method: allowed when its
 * policy has an Allow and no Deny; the context it hands to the route.
 */
export function authorizerVerdict(result: unknown): { isAuthorized: boolean; context?: Record<string, unknown> } {
  const { policyDocument, context } = result as { policyDocument?: { Statement?: Array<{ Effect?: string }> }; context?: Record<string, unknown> };
  const allowed = isAllowed({ policyDocument });
  return allowed ? { isAuthorized: true, context } : { isAuthorized: false };
}

/** Everything stored: every table item and every object (key, size, ETag). */
export async function storageSnapshot(aws: LocalAws): Promise<{ items: string[]; objects: string[] }> {
  const items: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await aws.dynamoClient.send(new ScanCommand({ TableName: aws.tableName, ExclusiveStartKey: start as never, ConsistentRead: true }));
    // A publish job's record is the job's own report (a refused publish records why), not data that serves.
    for (const item of (page.Items ?? []).filter((i) => !String(i.sk?.S ?? '').startsWith('PUBLISH#'))) items.push(JSON.stringify(item, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  const objects: string[] = [];
  let token: string | undefined;
  do {
    const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucketName, ContinuationToken: token }));
    for (const object of page.Contents ?? []) objects.push(`${object.Key} ${object.Size} ${object.ETag}`);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return { items: items.sort(), objects: objects.sort() };
}

/** Runs a request that must be refused, and checks it changed nothing in storage. */
export async function expectRefused(
  aws: LocalAws,
  request: () => Promise<Response>,
  statusCode: number,
  message?: string | RegExp,
): Promise<Response> {
  const before = await storageSnapshot(aws);
  const response = await request();
  expect(response.statusCode, JSON.stringify(response.body)).toBe(statusCode);
  if (message !== undefined) {
    const error = response.body.error as { message: string } | undefined;
    if (typeof message === 'string') expect(error?.message).toBe(message);
    else expect(error?.message).toMatch(message);
  }
  expect(await storageSnapshot(aws)).toEqual(before);
  return response;
}

/** PUTs bytes to a presigned URL like a client (no AWS credentials). */
export async function putPresigned(upload: { url: string; headers: Record<string, string> }, bytes: Uint8Array): Promise<Response> {
  const headers = { ...upload.headers };
  delete headers['content-length'];
  const response = await fetch(upload.url, { method: 'PUT', headers, body: bytes as Uint8Array<ArrayBuffer> });
  return { statusCode: response.status, headers: {}, body: { text: await response.text() } };
}

export const REGISTER_ROUTE = 'POST /v1/owners';
export const USER_PUT_ROUTE = 'PUT /v1/owners/{ownerId}/users/{userId}';

/** A CS1 handler module's `handler`, loaded the way Lambda loads it. */
export async function loadCs1Handler(name: string): Promise<AnyHandler> {
  return (await import(`../../../functions/cs1/${name}.ts`)).handler as AnyHandler;
}

/**
 * Two registered owners, alice and bob, and one user "uma" alice enrolled: the world most
 * handler tests start from (owners of different accounts to check isolation).
 */
export async function registerTwoOwners(handlers: { register: AnyHandler; userPut: AnyHandler }): Promise<{ alice: Owner; bob: Owner }> {
  const alice = await newOwner();
  const bob = await newOwner();
  for (const owner of [alice, bob]) await call(handlers.register, REGISTER_ROUTE, { body: { publicKeyJwk: owner.key.publicJwk } });
  await call(handlers.userPut, USER_PUT_ROUTE, { pathParameters: { ownerId: alice.ownerId, userId: 'uma' }, caller: alice.caller });
  return { alice, bob };
}
