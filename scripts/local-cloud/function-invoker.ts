/**
 * Synchronous Lambda invocation as API Gateway sees it: the event and the response must each fit
 * Lambda's 6 MB payload limit, and the caller stops waiting after its timeout (the function
 * keeps running, as it would in AWS, but its result is dropped).
 */
import type { FunctionIdentity, HandlerLoader } from './lambda-runtime';
import { createLambdaContext, describeError, invokeHandler } from './lambda-runtime';

export type InvocationOutcome =
  | { readonly kind: 'result'; readonly value: unknown }
  /** The handler threw or rejected: `errorType`/`errorMessage` as the Lambda runtime reports them. */
  | { readonly kind: 'error'; readonly error: unknown; readonly errorType: string; readonly errorMessage: string }
  | { readonly kind: 'event-too-large'; readonly bytes: number }
  | { readonly kind: 'response-too-large'; readonly bytes: number }
  | { readonly kind: 'timeout' }
  /** The module could not be loaded or has no `handler` export (a deployment error in AWS). */
  | { readonly kind: 'load-failed'; readonly errorType: string; readonly errorMessage: string };

export interface InvocationRequest {
  readonly handler: string;
  readonly fn: FunctionIdentity;
  readonly event: unknown;
  readonly loadHandler: HandlerLoader;
  readonly maxPayloadBytes: number;
  /** How long the caller waits for the result. */
  readonly callerTimeoutMs: number;
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
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<InvocationOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timeout' }), request.callerTimeoutMs);
  });
  const run = invokeHandler(handler, request.event, context).then(
    (value): InvocationOutcome => {
      const bytes = Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
      return bytes > request.maxPayloadBytes ? { kind: 'response-too-large', bytes } : { kind: 'result', value };
    },
    (error: unknown): InvocationOutcome => ({ kind: 'error', error, ...describeError(error) }),
  );
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
