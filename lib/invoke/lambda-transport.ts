/**
 * CS1 -> CS2 in AWS: a synchronous Lambda Invoke (RequestResponse) of CS2's decrypt function
 * by its fixed ARN in CS2's account. IAM authorizes it: CS2's resource policy names CS1's
 * identify role, and that role may invoke only this ARN (cdk/). No credential travels in the
 * event. Function errors come back as {errorType, errorMessage} with FunctionError set.
 *
 * The client should be built with maxAttempts 1 (see config.ts): the SDK would otherwise retry
 * throttling and 5xx on its own, and retries here are limited to one, on connection errors.
 */
import { InvalidInputError } from '../core/errors';
import type { Cs2DecryptEvent } from '../twoserver/transport/decrypt-event';
import { invokeLambda, isConnectionError } from './lambda-invoke';
import type { LambdaInvoker } from './lambda-invoke';
import { RemoteCs2Transport } from '../twoserver/transport/remote-transport';
import type { Cs2Reply, RemoteCs2TransportOptions } from '../twoserver/transport/remote-transport';


const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(:[A-Za-z0-9_$-]{1,128})?$/;

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

  protected send(event: Cs2DecryptEvent, signal: AbortSignal): Promise<Cs2Reply> {
    return invokeLambda(this.client, this.functionArn, event, signal);
  }

  protected isConnectionError(error: unknown): boolean {
    return isConnectionError(error);
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
