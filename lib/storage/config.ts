/**
 * Storage configuration (settings table: lib/config/settings.ts, "storage"), what the AWS SDK
 * clients built from it share, and the process's clients.
 *
 * Endpoints: the SDK v3 itself reads AWS_ENDPOINT_URL and the service-specific
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SECRETS_MANAGER (and
 * `endpoint_url` in the shared config file), so the factories pass no endpoint and rely on that;
 * explicit endpoints are only for the `new*Client` builders that tests and the local cloud use.
 *
 * The clients themselves live one SDK per module (s3-client.ts, dynamo-clients.ts,
 * secrets-manager-client.ts), so a function imports (and bundles) only the SDKs it calls: the
 * authorizer and the account routes never load the S3 client. Each is built once per process
 * (processClient): a warm Lambda reuses its connections across invocations.
 */
import { EnvironmentConfig } from '../config/environment';
import type { Environment } from '../config/types';

export interface StorageConfig {
  readonly tableName: string;
  readonly bucketName: string;
  readonly region: string;
  readonly s3ForcePathStyle: boolean;
}

/** Options of the explicit client builders (tests, local cloud). */
export interface ClientOptions {
  readonly region: string;
  /** Omit to let the SDK resolve it (AWS, or AWS_ENDPOINT_URL*). */
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Omit to use the SDK's default provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Reads and checks all storage settings at once (so a misconfiguration shows up at start). */
export function readStorageConfig(env?: Environment): StorageConfig {
  const config = new EnvironmentConfig(env);
  return {
    tableName: config.require('table'),
    bucketName: config.require('bucket'),
    region: config.require('region'),
    s3ForcePathStyle: config.get('s3ForcePathStyle'),
  };
}

/** The region the process's clients use (AWS_REGION). */
export function readRegion(): string {
  return new EnvironmentConfig().require('region');
}

/**
 * A host that does not accept the connection is unreachable after this long (the SDK's default
 * is to wait forever, i.e. until the function times out); transfers themselves are not cut.
 */
const CONNECTION_TIMEOUT_MS = 5_000;

/** The settings every SDK client is built with; each client module adds its own. */
export function sdkClientSettings(options: ClientOptions) {
  return {
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS },
  };
}

/** What every SDK client has (the process's clients are destroyed on reset). */
interface SdkClient {
  destroy(): void;
}

const processClients = new Map<string, { key: string; client: SdkClient }>();

/**
 * The process's client named `name`, built by `build` from `options` on first use and again
 * when the options (read from the environment by the caller) change.
 */
export function processClient<C extends SdkClient>(name: string, options: ClientOptions, build: (options: ClientOptions) => C): C {
  const key = JSON.stringify(options);
  const cached = processClients.get(name);
  if (cached?.key === key) return cached.client as C;
  const client = build(options);
  processClients.set(name, { key, client });
  return client;
}

/**
 * Drops the cached clients (tests that change the environment).
 * @internal Only tests call it: a function's process keeps these for its lifetime, and a test
 * suite that sets other variables between cases must drop them. No other way reaches the module's
 * cache.
 */
export function resetStorageClients(): void {
  for (const { client } of processClients.values()) client.destroy();
  processClients.clear();
}
