/**
 * What the local cloud's gateway thread and its execution environments (worker threads) tell
 * each other. Events and results travel as JSON text, as through Lambda's runtime API.
 */
import type { FunctionIdentity } from './lambda-runtime';

/** Given to an environment at its start (workerData). */
export interface EnvironmentConfig {
  readonly functionsDir: string;
  /** Handler module, e.g. `cs1/search`. */
  readonly handler: string;
  readonly fn: FunctionIdentity;
}

/** Gateway -> environment: one invocation (the environment runs one at a time). */
export interface InvokeMessage {
  readonly type: 'invoke';
  readonly id: number;
  /** The event as JSON. */
  readonly event: string;
  readonly maxPayloadBytes: number;
}

/** Environment -> gateway. */
export type EnvironmentMessage =
  /** Init done: the handler module is loaded. */
  | { readonly type: 'ready' }
  /** Init failed; the environment ends. */
  | { readonly type: 'load-failed'; readonly errorType: string; readonly errorMessage: string }
  /** The handler's result as JSON. */
  | { readonly type: 'result'; readonly id: number; readonly result: string }
  | { readonly type: 'response-too-large'; readonly id: number; readonly bytes: number }
  | { readonly type: 'error'; readonly id: number; readonly errorType: string; readonly errorMessage: string }
  /** A promise rejected with nobody handling it: the environment is retired after this invocation. */
  | { readonly type: 'unhandled-rejection'; readonly errorType: string; readonly errorMessage: string };
