/**
 * Asynchronous Lambda invocation (InvocationType "Event"): Lambda queues the event and answers
 * 202 at once; the function runs on its own, up to its own timeout, long after the caller has
 * moved on. The local cloud serves the same Invoke API for its execution environments
 * (AWS_ENDPOINT_URL_LAMBDA), so this code runs unchanged there.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';

/** What the invoker needs of a LambdaClient (tests inject their own). */
export interface InvokeClient {
  send(command: InvokeCommand): Promise<InvokeCommandOutput>;
}

export class LambdaEventInvoker {
  private client: InvokeClient | undefined;

  /** @param functionName the function's name or ARN. */
  constructor(
    readonly functionName: string,
    client?: InvokeClient,
  ) {
    this.client = client;
  }

  /** Queues one invocation with `event` as its JSON payload; resolves once Lambda accepted it. */
  async invoke(event: unknown): Promise<void> {
    // Built on first use: a cold start does not pay for it unless it invokes.
    this.client ??= new LambdaClient({ maxAttempts: 3 });
    const response = await this.client.send(
      new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
    );
    if (response.StatusCode !== 202) throw new Error(`the asynchronous invocation of ${this.functionName} answered ${response.StatusCode}, not 202`);
  }
}
