/**
 * CS2's configuration (settings table: lib/config/settings.ts, "cs2"). Without a key directory
 * the secrets come from Secrets Manager, kept in memory for 300 s after a read
 * (lib/storage/secrets-manager-store.ts); AWS_REGION and AWS_ENDPOINT_URL_SECRETS_MANAGER are
 * read by the SDK.
 */
import { EnvironmentConfig } from '../../config/environment';
import type { Environment } from '../../config/types';
import { createSecretsManagerClient } from '../../storage/secrets-manager-client';
import { FileSecretStore } from '../../storage/file-secret-store';
import { SecretsManagerStore } from '../../storage/secrets-manager-store';
import type { SecretStore } from '../../storage/types';
import { LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES } from '../../twoserver/transport/decrypt-event';
import type { BatchFetchPolicy } from './batch-fetch';

export interface Cs2ServiceConfig {
  readonly fetch: BatchFetchPolicy;
  /** Largest inline batch (decoded): what fits a 6 MB event as base64. */
  readonly maxInlineBytes: number;
  readonly maxCachedKeys: number;
}

export function readCs2ServiceConfig(env?: Environment): Cs2ServiceConfig {
  const config = new EnvironmentConfig(env);
  return {
    fetch: {
      hostSuffixes: config.get('cs2FetchHosts'),
      allowLoopback: config.get('cs2AllowLoopbackFetch'),
      maxBytes: config.get('cs2MaxBatchMb') * 1024 * 1024,
      timeoutMs: config.get('cs2FetchTimeoutMs'),
    },
    maxInlineBytes: Math.floor((LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES * 3) / 4),
    maxCachedKeys: config.get('cs2MaxKeys'),
  };
}

/** CS2's secret store: a local directory if one is named, else Secrets Manager. */
export function createCs2SecretStore(env?: Environment): SecretStore {
  const config = new EnvironmentConfig(env);
  const directory = config.get('cs2KeyDir');
  if (directory !== undefined) return new FileSecretStore(directory);
  return new SecretsManagerStore({
    client: createSecretsManagerClient(),
    prefix: config.get('cs2SecretPrefix'),
    kmsKeyId: config.get('secretKmsKeyId'),
  });
}
