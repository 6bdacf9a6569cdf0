/**
 * One synchronous Lambda invocation (RequestResponse) with a JSON payload, as CS1 makes them to
 * CS2's decrypt function and to its own shard workers: the result payload parsed, or the
 * function's error as {errorType, errorMessage} when FunctionError is set. Transport failures
 * (connection, abort, service errors) are thrown as the SDK reports them.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';

/** What an invocation needs of a LambdaClient (tests inject their own). */
export interface LambdaInvoker {
  send(command: InvokeCommand, options?: { abortSignal?: AbortSignal }): Promise<InvokeCommandOutput>;
}

/**
 * A Lambda client for request-reply invocations. maxAttempts 1: the SDK does not retry, because
 * the callers retry once, on connection errors only (a retried evaluation would cost twice).
 */
export function createLambdaInvoker(region?: string): LambdaInvoker {
  return new LambdaClient({ region, maxAttempts: 1 });
}

export type InvocationReply =
  | { readonly kind: 'result'; readonly value: unknown }
  | { readonly kind: 'function-error'; readonly errorType: string; readonly errorMessage: string; readonly errorCode?: string };

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** True when the request never reached Lambda or the connection broke. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
}

function parsePayload(payload: Uint8Array | undefined): unknown {
  if (payload === undefined || payload.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch {
    return undefined;
  }
}

export async function invokeLambda(client: LambdaInvoker, functionName: string, payload: unknown, signal: AbortSignal): Promise<InvocationReply> {
  const response = await client.send(
    new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
    { abortSignal: signal },
  );
  const body = parsePayload(response.Payload);
  if (response.FunctionError === undefined) return { kind: 'result', value: body };
  const error = (typeof body === 'object' && body !== null ? body : {}) as { errorType?: unknown; errorMessage?: unknown; errorCode?: unknown };
  return {
    kind: 'function-error',
    errorType: typeof error.errorType === 'string' ? error.errorType : response.FunctionError,
    errorMessage: typeof error.errorMessage === 'string' ? error.errorMessage : '',
    ...(typeof error.errorCode === 'string' ? { errorCode: error.errorCode } : {}),
  };
}
