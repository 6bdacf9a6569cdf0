/**
 * Inside one execution environment (a worker thread started by execution-environments.ts):
 * the function's init (importing its handler module) runs once, then invocations arrive one at
 * a time, as in a Lambda execution environment. Events and results cross the thread boundary
 * as JSON, as they cross Lambda's runtime API, so a handler sees exactly what it would in AWS.
 */
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { EnvironmentConfig, EnvironmentMessage, InvokeMessage } from './execution-environment-protocol';
import type { LambdaHandler } from './lambda-runtime';
import { createLambdaContext, describeError, importHandler, invokeHandler, newLogStreamName } from './lambda-runtime';

/**
 * A Lambda runtime hands the function's stdout and stderr straight to the log service. A worker
 * thread's streams would instead post every line to the gateway thread, which writes it out:
 * a thread hop per log line. So each line is written to the account's own stdout/stderr
 * descriptor directly (one write, small enough not to interleave with other threads' lines),
 * falling back to the worker stream if the descriptor would block.
 */
function writeDirectly(stream: NodeJS.WriteStream, fd: number): void {
  const forward = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return forward(chunk, ...rest);
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let written = 0;
    try {
      written = writeSync(fd, bytes);
    } catch {
      // EAGAIN and the like: nothing was written.
    }
    if (written < bytes.length) return forward(bytes.subarray(written), ...rest);
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    if (callback) queueMicrotask(callback);
    return true;
  }) as typeof stream.write;
}
writeDirectly(process.stdout, 1);
writeDirectly(process.stderr, 2);

const port = parentPort;
if (port === null) throw new Error('execution-environment-main.ts runs only as a worker thread (see execution-environments.ts)');
const config = workerData as EnvironmentConfig;
const send = (message: EnvironmentMessage) => port.postMessage(message);
const logStreamName = newLogStreamName();

// The Node.js Lambda runtime fails the environment on an unhandled rejection; this one reports
// it, and the pool retires the environment once its current invocation is over.
process.on('unhandledRejection', (reason) => {
  send({ type: 'unhandled-rejection', ...describeError(reason) });
});

async function invoke(handler: LambdaHandler, message: InvokeMessage): Promise<EnvironmentMessage> {
  const event: unknown = JSON.parse(message.event);
  const context = createLambdaContext(config.fn, Date.now(), logStreamName);
  try {
    const value = await invokeHandler(handler, event, context);
    const result = JSON.stringify(value) ?? 'null';
    const bytes = Buffer.byteLength(result, 'utf8');
    if (bytes > message.maxPayloadBytes) return { type: 'response-too-large', id: message.id, bytes };
    return { type: 'result', id: message.id, result };
  } catch (error) {
    return { type: 'error', id: message.id, ...describeError(error) };
  }
}

const handler = await importHandler(config.functionsDir, config.handler).catch((error: unknown) => {
  send({ type: 'load-failed', ...describeError(error) });
  return undefined;
});
if (handler === undefined) {
  // Nothing else keeps the thread alive: it ends, and the pool forgets the environment.
  port.close();
} else {
  port.on('message', (message: InvokeMessage) => {
    void invoke(handler, message).then(send);
  });
  send({ type: 'ready' });
}
