/**
 * What the local cloud's main process and its two account processes tell each other: the
 * configuration (one JSON argument) and the ready/failed message over the IPC channel.
 */

export interface Cs1AccountConfig {
  readonly account: 'cs1';
  readonly host: string;
  readonly port: number;
  readonly dynamodbPort: number;
  readonly s3Port: number;
  readonly accountId: string;
  readonly region: string;
  readonly table: string;
  readonly bucket: string;
  readonly dynamodbDir: string;
  readonly s3Dir: string;
  /** CS1 reads its own credential from its folder; it never passes through the main process' env. */
  readonly credentialFile: string;
  readonly cs2Url: string;
  readonly functionsDir: string;
  /** Throwaway AWS config paths, so nothing from ~/.aws (profiles, real keys) reaches the handlers. */
  readonly isolatedAwsConfigDir: string;
  /** Most execution environments (concurrent requests) per function. */
  readonly functionConcurrency: number;
  /** Multiplies the emulated AWS time limits (LocalCloudOptions.timeoutScale). */
  readonly timeoutScale: number;
  /** The handlers' DynamoDB endpoint, if not the emulator's (LocalCloudOptions.handlerDynamodbEndpoint). */
  readonly handlerDynamodbEndpoint?: string;
  /** BLINDSIGHT_LOG_LEVEL of the handlers; unset: inherited (default INFO). */
  readonly logLevel?: LogLevel;
  /** BLINDSIGHT_POINTER_TTL_MS of the handlers; unset: inherited (default in the service). */
  readonly pointerTtlMs?: number;
  /** BLINDSIGHT_PUBLISH_LEASE_MS of the handlers (LocalCloudOptions.publishLeaseMs). */
  readonly publishLeaseMs?: number;
  /** Origins whose pages may call CS1's API (CORS). */
  readonly corsOrigins: readonly string[];
  /** BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME of the handlers (publish she indexes); unset: inherited (default off). */
  readonly allowInsecurePaperScheme?: boolean;
}

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Cs2AccountConfig {
  readonly account: 'cs2';
  readonly host: string;
  readonly port: number;
  readonly accountId: string;
  readonly region: string;
  readonly keyDir: string;
  readonly trustedDigestFile: string;
  readonly functionsDir: string;
  readonly isolatedAwsConfigDir: string;
  /** Multiplies the emulated AWS time limits (LocalCloudOptions.timeoutScale). */
  readonly timeoutScale: number;
  readonly logLevel?: LogLevel;
}

export type AccountConfig = Cs1AccountConfig | Cs2AccountConfig;

export interface Cs1Ready {
  readonly type: 'ready';
  readonly account: 'cs1';
  readonly url: string;
  readonly port: number;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
}

export interface Cs2Ready {
  readonly type: 'ready';
  readonly account: 'cs2';
  readonly url: string;
  readonly port: number;
}

export interface AccountFailed {
  readonly type: 'failed';
  readonly message: string;
}

export type AccountMessage = Cs1Ready | Cs2Ready | AccountFailed;

export function isAccountMessage(value: unknown): value is AccountMessage {
  if (typeof value !== 'object' || value === null) return false;
  const type = (value as { type?: unknown }).type;
  return type === 'ready' || type === 'failed';
}

/**
 * Environment entries that would let the handlers reach real AWS or a user's profile instead of
 * the local emulators; the account processes drop them before setting their own.
 */
export const FOREIGN_AWS_ENV = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_ENDPOINT_URL_LAMBDA',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
] as const;
