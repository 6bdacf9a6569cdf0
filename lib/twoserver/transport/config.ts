/**
 * How CS1 reaches CS2, from the environment:
 *
 * | Variable | Meaning |
 * | --- | --- |
 * | `BLINDSIGHT_CS2_MODE` | `http` (local cloud) or `lambda` (AWS); required |
 * | `BLINDSIGHT_CS2_URL` | http: CS2's base URL, e.g. `http://127.0.0.1:4520` |
 * | `BLINDSIGHT_CS2_CREDENTIAL` | http: the credential CS2 trusts (sent as a Bearer token) |
 * | `BLINDSIGHT_CS2_FUNCTION_ARN` | lambda: ARN of CS2's decrypt function (another account) |
 * | `BLINDSIGHT_CS2_TIMEOUT_MS` | per-call timeout, default 22000 |
 * | `BLINDSIGHT_CS2_INLINE_MAX_BYTES` | largest batch sent inline, default 4 MiB (at most that) |
 * | `BLINDSIGHT_CS2_TRANSFER_URL_SECONDS` | lifetime of transfer URLs, default 120 |
 * | `AWS_ENDPOINT_URL_LAMBDA` / `AWS_ENDPOINT_URL` | read by the SDK (LocalStack, tests) |
 *
 * A misconfiguration is a server fault: it is reported as an INTERNAL error naming the
 * variable (logged, never shown to callers).
 */
import { envInteger, type Environment } from '../../core/env';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { BlindsightError } from '../../core/errors';
import type { ObjectStore } from '../../storage/types';
import { ObjectStoreBatchStaging } from './batch-staging';
import { INLINE_BATCH_MAX_BYTES } from './decrypt-event';
import { HttpCs2Transport } from './http-transport';
import { LambdaCs2Transport, regionOfFunctionArn } from './lambda-transport';
import type { LambdaInvoker } from './lambda-transport';
import { DEFAULT_CS2_TIMEOUT_MS } from './remote-transport';
import type { RemoteCs2Transport } from './remote-transport';
import { DEFAULT_TRANSFER_URL_SECONDS } from './batch-staging';

export type Cs2Mode = 'http' | 'lambda';

export interface Cs2TransportConfig {
  readonly mode: Cs2Mode;
  readonly url?: string;
  readonly credential?: string;
  readonly functionArn?: string;
  readonly timeoutMs: number;
  readonly inlineMaxBytes: number;
  readonly transferUrlSeconds: number;
}


function misconfigured(message: string): BlindsightError {
  return new BlindsightError('INTERNAL', `CS1 is not configured to reach CS2: ${message}`);
}

function required(env: Environment, name: string, purpose: string): string {
  const value = env[name]?.trim();
  if (!value) throw misconfigured(`set ${name} (${purpose})`);
  return value;
}

const integer = (env: Environment, name: string, fallback: number, min: number, max: number): number =>
  envInteger(env, name, fallback, min, max, misconfigured);

export function readCs2TransportConfig(env: Environment = process.env): Cs2TransportConfig {
  const mode = env.BLINDSIGHT_CS2_MODE?.trim();
  if (mode !== 'http' && mode !== 'lambda') throw misconfigured('set BLINDSIGHT_CS2_MODE to "http" (local cloud) or "lambda" (AWS)');
  const common = {
    timeoutMs: integer(env, 'BLINDSIGHT_CS2_TIMEOUT_MS', DEFAULT_CS2_TIMEOUT_MS, 100, 900_000),
    inlineMaxBytes: integer(env, 'BLINDSIGHT_CS2_INLINE_MAX_BYTES', INLINE_BATCH_MAX_BYTES, 0, INLINE_BATCH_MAX_BYTES),
    transferUrlSeconds: integer(env, 'BLINDSIGHT_CS2_TRANSFER_URL_SECONDS', DEFAULT_TRANSFER_URL_SECONDS, 1, 3600),
  };
  if (mode === 'http') {
    return {
      mode,
      url: required(env, 'BLINDSIGHT_CS2_URL', "CS2's base URL, e.g. http://127.0.0.1:4520"),
      credential: required(env, 'BLINDSIGHT_CS2_CREDENTIAL', 'the credential CS2 trusts'),
      ...common,
    };
  }
  const functionArn = required(env, 'BLINDSIGHT_CS2_FUNCTION_ARN', "the ARN of CS2's decrypt function");
  try {
    regionOfFunctionArn(functionArn);
  } catch (error) {
    throw misconfigured(error instanceof Error ? error.message : 'BLINDSIGHT_CS2_FUNCTION_ARN is not a function ARN');
  }
  return { mode, functionArn, ...common };
}

/** What one identification needs to talk to CS2. */
export interface Cs2CallContext {
  /** The index's HE key id. */
  readonly keyId: string;
  /** The owner whose request it is: large batches are staged under its prefix. */
  readonly ownerId: string;
  /** CS1's bucket (staging of large batches). */
  readonly objects: ObjectStore;
  /** Epoch ms by which every CS2 call must be over. */
  readonly deadline?: number;
}

export type Cs2TransportFactory = (context: Cs2CallContext) => RemoteCs2Transport;

export interface Cs2TransportFactoryOptions {
  /** Lambda mode: the client to use (default: one per factory, maxAttempts 1). */
  readonly lambdaClient?: LambdaInvoker;
  /** HTTP mode: injected fetch (tests). */
  readonly fetch?: typeof fetch;
}

/** A factory of per-request transports; clients and connections are shared by all of them. */
export function createCs2TransportFactory(config: Cs2TransportConfig, options: Cs2TransportFactoryOptions = {}): Cs2TransportFactory {
  let lambdaClient = options.lambdaClient;
  return (context) => {
    const common = {
      keyId: context.keyId,
      staging: new ObjectStoreBatchStaging({ objects: context.objects, ownerId: context.ownerId, urlSeconds: config.transferUrlSeconds }),
      inlineMaxBytes: config.inlineMaxBytes,
      timeoutMs: config.timeoutMs,
      deadline: context.deadline,
    };
    if (config.mode === 'http') {
      return new HttpCs2Transport({ ...common, url: config.url!, credential: config.credential!, fetch: options.fetch });
    }
    // maxAttempts 1: the transport retries once, on connection errors only.
    lambdaClient ??= new LambdaClient({ region: regionOfFunctionArn(config.functionArn!), maxAttempts: 1 });
    return new LambdaCs2Transport({ ...common, functionArn: config.functionArn!, client: lambdaClient });
  };
}
