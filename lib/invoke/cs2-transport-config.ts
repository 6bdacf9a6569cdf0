/**
 * How CS1 reaches CS2 (settings table: lib/config/settings.ts, "cs1-to-cs2"):
 * BLINDSIGHT_CS2_MODE `http` (local cloud: BLINDSIGHT_CS2_URL and BLINDSIGHT_CS2_CREDENTIAL) or
 * `lambda` (AWS: BLINDSIGHT_CS2_FUNCTION_ARN), plus timeouts and the inline-batch limit.
 * AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL are read by the SDK (LocalStack, tests).
 *
 * A misconfiguration is a server fault: it is reported as an INTERNAL error naming the
 * variable (logged, never shown to callers).
 */
import { EnvironmentConfig } from '../config/environment';
import type { Environment } from '../config/types';
import { ConfigurationError } from '../core/errors';
import type { ObjectStore } from '../storage/types';
import { ObjectStoreBatchStaging } from '../twoserver/transport/batch-staging';
import { HttpCs2Transport } from './http-transport';
import { LambdaCs2Transport, regionOfFunctionArn } from './lambda-transport';
import { createLambdaInvoker } from './lambda-invoke';
import type { LambdaInvoker } from './lambda-invoke';
import type { RemoteCs2Transport } from '../twoserver/transport/remote-transport';
import type { OwnerId } from '../core/ids';

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

export function readCs2TransportConfig(env?: Environment): Cs2TransportConfig {
  const config = new EnvironmentConfig(env);
  const mode = config.require('cs2Mode');
  const common = {
    timeoutMs: config.get('cs2TimeoutMs'),
    inlineMaxBytes: config.get('cs2InlineMaxBytes'),
    transferUrlSeconds: config.get('cs2TransferUrlSeconds'),
  };
  if (mode === 'http') return { mode, url: config.require('cs2Url'), credential: config.require('cs2Credential'), ...common };
  const functionArn = config.require('cs2FunctionArn');
  try {
    regionOfFunctionArn(functionArn);
  } catch (error) {
    throw new ConfigurationError(error instanceof Error ? error.message : 'BLINDSIGHT_CS2_FUNCTION_ARN is not a function ARN');
  }
  return { mode, functionArn, ...common };
}

/** What one identification needs to talk to CS2. */
export interface Cs2CallContext {
  /** The index's HE key id. */
  readonly keyId: string;
  /** The owner whose request it is: large batches are staged under its prefix. */
  readonly ownerId: OwnerId;
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
    lambdaClient ??= createLambdaInvoker(regionOfFunctionArn(config.functionArn!));
    return new LambdaCs2Transport({ ...common, functionArn: config.functionArn!, client: lambdaClient });
  };
}
