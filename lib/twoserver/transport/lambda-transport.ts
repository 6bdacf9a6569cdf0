/**
 * CS1 -> CS2 in AWS: a synchronous Lambda Invoke (RequestResponse) of CS2's decrypt function
 * by its fixed ARN in CS2's account. IAM authorizes it: CS2's resource policy names CS1's
 * identify role, and that role may invoke only this ARN (cdk/). No credential travels in the
 * event. Function errors come back as {errorType, errorMessage} with FunctionError set.
 *
 * The client should be built with maxAttempts 1 (see config.ts): the SDK would otherwise retry
 * throttling and 5xx on its own, and retries here are limited to one, on connection errors.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { InvalidInputError } from '../../core/errors';
import type { Cs2DecryptEvent } from './decrypt-event';
import { RemoteCs2Transport } from './remote-transport';
import type { Cs2Reply, RemoteCs2TransportOptions } from './remote-transport';

/** What the transport needs of a LambdaClient (tests inject their own). */
export interface LambdaInvoker {
  send(command: InvokeCommand, options?: { abortSignal?: AbortSignal }): Promise<InvokeCommandOutput>;
}

const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(:[A-Za-z0-9_$-]{1,128})?$/;

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** The region of a Lambda function ARN; InvalidInputError if it is not one. */
export function regionOfFunctionArn(arn: string): string {
  const match = FUNCTION_ARN.exec(arn);
  if (match === null) {
    throw new InvalidInputError('the CS2 function ARN must look like arn:aws:lambda:<region>:<account>:function:<name> (set BLINDSIGHT_CS2_FUNCTION_ARN)');
  }
  return match[1];
}

export interface LambdaCs2TransportOptions extends RemoteCs2TransportOptions {
  /** ARN of CS2's decrypt function (BLINDSIGHT_CS2_FUNCTION_ARN). */
  readonly functionArn: string;
  readonly client: LambdaInvoker;
}

function parsePayload(payload: Uint8Array | undefined): unknown {
  if (payload === undefined || payload.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8'));
  } catch {
    return undefined;
  }
}

export class LambdaCs2Transport extends RemoteCs2Transport {
  protected readonly channel = 'Lambda';
  private readonly functionArn: string;
  private readonly client: LambdaInvoker;

  constructor(options: LambdaCs2TransportOptions) {
    super(options);
    regionOfFunctionArn(options.functionArn);
    this.functionArn = options.functionArn;
    this.client = options.client;
  }

  protected async send(event: Cs2DecryptEvent, signal: AbortSignal): Promise<Cs2Reply> {
    const response = await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionArn,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
      { abortSignal: signal },
    );
    const body = parsePayload(response.Payload);
    if (response.FunctionError === undefined) return { kind: 'result', value: body };
    const payload = (typeof body === 'object' && body !== null ? body : {}) as { errorType?: unknown; errorMessage?: unknown };
    return {
      kind: 'function-error',
      errorType: typeof payload.errorType === 'string' ? payload.errorType : response.FunctionError,
      errorMessage: typeof payload.errorMessage === 'string' ? payload.errorMessage : '',
    };
  }

  protected isConnectionError(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code);
  }

  /** Service errors by name and status only: their messages carry ARNs and account ids. */
  protected describeFailure(error: unknown): string {
    const name = error instanceof Error ? error.name : 'error';
    const code = (error as { code?: unknown } | null)?.code;
    const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
    const parts = [typeof code === 'string' && code !== name ? code : name, status !== undefined ? `HTTP ${status}` : undefined].filter(Boolean);
    const hint =
      name === 'AccessDeniedException' || status === 403
        ? ': CS2 does not let this role invoke it (check the resource policy on CS2\'s function names CS1\'s identify role)'
        : name === 'ResourceNotFoundException'
          ? ': CS2\'s decrypt function does not exist at the configured ARN (BLINDSIGHT_CS2_FUNCTION_ARN)'
          : '';
    return `the Lambda invocation of CS2 failed (${parts.join(', ')})${hint}`;
  }
}
