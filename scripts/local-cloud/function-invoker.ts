/**
 * Synchronous Lambda invocation as API Gateway sees it: the event and the response must each fit
 * Lambda's 6 MB payload limit, and the caller stops waiting after its timeout (the function
 * keeps running, as it would in AWS, but its result is dropped).
 *
 * Two runtimes carry invocations out: `inProcessRuntime` runs the handler in the caller's own
 * thread (unit tests with injected handlers), and ExecutionEnvironments
 * (execution-environments.ts) runs each invocation in a pool of separate environments, one
 * request at a time each, as Lambda does (the local cloud).
 */
import type { FunctionIdentity, HandlerLoader } from './lambda-runtime';
import { createLambdaContext, describeError, invokeHandler } from './lambda-runtime';

export type InvocationOutcome =
  | { readonly kind: 'result'; readonly value: unknown }
  /**
   * The handler threw or rejected: `errorType`/`errorMessage` as the Lambda runtime reports them;
   * `error` is the thrown value itself in process, its reported form across environments.
   */
  | { readonly kind: 'error'; readonly error: unknown; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'event-too-large'; readonly bytes: number }
  | { readonly kind: 'response-too-large'; readonly bytes: number }
  | { readonly kind: 'timeout' }
  /** The module could not be loaded or has no `handler` export (a deployment error in AWS). */
  | { readonly kind: 'load-failed'; readonly errorType: string; readonly errorMessage: string };

/** One synchronous invocation of a handler module. */
export interface FunctionCall {
  readonly handler: string;
  readonly fn: FunctionIdentity;
  readonly event: unknown;
  readonly maxPayloadBytes: number;
  /** How long the caller waits for the result. */
  readonly callerTimeoutMs: number;
}

/** Carries out invocations: in this thread, or in execution environments. */
export type FunctionRuntime = (call: FunctionCall) => Promise<InvocationOutcome>;

export interface InvocationRequest extends FunctionCall {
  readonly loadHandler: HandlerLoader;
}

/** Runs every invocation in this thread, on handlers from `loadHandler` (shared module state). */
export function inProcessRuntime(loadHandler: HandlerLoader): FunctionRuntime {
  return (call) => invokeFunction({ ...call, loadHandler });
}

export async function invokeFunction(request: InvocationRequest): Promise<InvocationOutcome> {
  const eventBytes = Buffer.byteLength(JSON.stringify(request.event) ?? '', 'utf8');
  if (eventBytes > request.maxPayloadBytes) return { kind: 'event-too-large', bytes: eventBytes };

  let handler;
  try {
    handler = await request.loadHandler(request.handler);
  } catch (error) {
    return { kind: 'load-failed', ...describeError(error) };
  }

  const context = createLambdaContext(request.fn);
  return withCallerTimeout(
    invokeHandler(handler, request.event, context).then(
      (value): InvocationOutcome => {
        const bytes = Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
        return bytes > request.maxPayloadBytes ? { kind: 'response-too-large', bytes } : { kind: 'result', value };
      },
      (error: unknown): InvocationOutcome => ({ kind: 'error', error, ...describeError(error) }),
    ),
    request.callerTimeoutMs,
  );
}

/** The outcome, or `timeout` once the caller stops waiting (the invocation itself runs on). */
export async function withCallerTimeout(run: Promise<InvocationOutcome>, callerTimeoutMs: number): Promise<InvocationOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<InvocationOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), callerTimeoutMs);
  });
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
