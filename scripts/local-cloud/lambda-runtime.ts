/**
 * What the Lambda runtime does around a handler: load its module once (module state survives
 * across invocations, as in a warm Lambda environment), build the context object, and run the
 * handler in either async or callback style.
 */
import type { Context } from 'aws-lambda';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A Lambda handler: async (returns a promise) or callback style. */
export type LambdaHandler = (event: unknown, context: Context, callback: (error?: unknown, result?: unknown) => void) => unknown;

/** Resolves a handler module name from the route table (e.g. `cs1/search`) to its handler. */
export type HandlerLoader = (handler: string) => Promise<LambdaHandler>;

export interface FunctionIdentity {
  readonly functionName: string;
  readonly accountId: string;
  readonly region: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
}

/**
 * Loads `<functionsDir>/<handler>.ts` and returns its `handler` export. Loaded modules are kept
 * (warm); a failed load is not, so fixing the file and retrying works without a restart.
 */
export function moduleHandlerLoader(functionsDir: string): HandlerLoader {
  const cache = new Map<string, Promise<LambdaHandler>>();
  return (handler) => {
    let pending = cache.get(handler);
    if (pending === undefined) {
      pending = importHandler(functionsDir, handler);
      cache.set(handler, pending);
      pending.catch(() => cache.delete(handler));
    }
    return pending;
  };
}

/** Imports `<functionsDir>/<handler>.ts` and returns its `handler` export (the function's init). */
export async function importHandler(functionsDir: string, handler: string): Promise<LambdaHandler> {
  if (!/^[a-z0-9-]+(\/[a-z0-9-]+)*$/.test(handler)) throw new Error(`Invalid handler module name ${handler}`);
  const url = pathToFileURL(join(functionsDir, `${handler}.ts`)).href;
  const module = (await import(url)) as { handler?: unknown };
  if (typeof module.handler !== 'function') throw new Error(`functions/${handler}.ts does not export a function named handler`);
  return module.handler as LambdaHandler;
}

/** A log stream name as Lambda names them: `<yyyy/mm/dd>/[$LATEST]<32 hex>`, one per execution environment. */
export function newLogStreamName(at = Date.now()): string {
  const day = new Date(at).toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/**
 * The context of one invocation. `logStreamName`: the environment's stream (an environment
 * writes all its invocations to one stream); a new one when omitted.
 */
export function createLambdaContext(fn: FunctionIdentity, startedAt = Date.now(), logStreamName = newLogStreamName(startedAt)): Context {
  const deadline = startedAt + fn.timeoutMs;
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported: return a promise from the handler instead`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${fn.accountId}:function:${fn.functionName}`,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}

/** Runs a handler to completion, whichever of promise or callback it uses. */
export function invokeHandler(handler: LambdaHandler, event: unknown, context: Context): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const callback = (error?: unknown, result?: unknown) => (error ? reject(toError(error)) : resolve(result));
    try {
      const returned = handler(event, context, callback);
      if (isPromiseLike(returned)) returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(toError(error));
    }
  });
}

/** Errors as the runtime reports them: `errorType` is the constructor name. */
export function describeError(error: unknown): { errorType: string; errorMessage: string } {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message };
  return { errorType: 'Error', errorMessage: String(error) };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(typeof error === 'string' ? error : JSON.stringify(error));
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
