/**
 * CS2's configuration from the environment:
 *
 * | Variable | Meaning |
 * | --- | --- |
 * | `BLINDSIGHT_CS2_KEY_DIR` (or `BLINDSIGHT_SECRET_DIR`) | local key store (FileSecretStore); set by the local cloud |
 * | `BLINDSIGHT_CS2_SECRET_PREFIX` (or `BLINDSIGHT_SECRET_PREFIX`) | Secrets Manager name prefix, default `blindsight/cs2/` |
 * | `BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH` | `true`: staged batches may come from 127.0.0.1 / localhost (local cloud only) |
 * | `BLINDSIGHT_CS2_FETCH_HOSTS` | comma-separated hosts CS2 may fetch staged batches from (".suffix" or exact); default `.amazonaws.com,.amazonaws.com.cn` |
 * | `BLINDSIGHT_CS2_MAX_BATCH_MB` | largest staged batch, default 256 |
 * | `BLINDSIGHT_CS2_FETCH_TIMEOUT_MS` | timeout of the staged-batch GET, default 10000 |
 * | `BLINDSIGHT_CS2_MAX_KEYS` | decryptors kept in memory, default 8 |
 * | `AWS_REGION`, `AWS_ENDPOINT_URL_SECRETS_MANAGER` | Secrets Manager (the SDK reads them) |
 *
 * Without a key directory the secrets come from Secrets Manager, read through Powertools with
 * a 300 s cache (lib/storage/secrets-manager-store.ts).
 */
import { envInteger, type Environment } from '../../core/env';
import { BlindsightError } from '../../core/errors';
import { createSecretsManagerClient } from '../../storage/config';
import { FileSecretStore } from '../../storage/file-secret-store';
import { DEFAULT_SECRET_PREFIX, SecretsManagerStore } from '../../storage/secrets-manager-store';
import type { SecretStore } from '../../storage/types';
import { LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES } from '../../twoserver/transport/decrypt-event';
import type { BatchFetchPolicy } from './batch-fetch';
import { DEFAULT_FETCH_HOST_SUFFIXES } from './batch-fetch';
import { DEFAULT_MAX_CACHED_KEYS } from './decryptor-cache';


export interface Cs2ServiceConfig {
  readonly fetch: BatchFetchPolicy;
  /** Largest inline batch (decoded): what fits a 6 MB event as base64. */
  readonly maxInlineBytes: number;
  readonly maxCachedKeys: number;
}

function misconfigured(message: string): BlindsightError {
  return new BlindsightError('INTERNAL', `CS2 is misconfigured: ${message}`);
}

const integer = (env: Environment, name: string, fallback: number, min: number, max: number): number =>
  envInteger(env, name, fallback, min, max, misconfigured);

function flag(env: Environment, name: string): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw misconfigured(`${name} must be "true" or "false"`);
}

function hostList(env: Environment): readonly string[] {
  const raw = env.BLINDSIGHT_CS2_FETCH_HOSTS?.trim();
  if (raw === undefined || raw === '') return DEFAULT_FETCH_HOST_SUFFIXES;
  const hosts = raw.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
  for (const host of hosts) {
    if (!/^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host)) throw misconfigured(`BLINDSIGHT_CS2_FETCH_HOSTS entry "${host.slice(0, 60)}" is not a host name`);
  }
  return hosts;
}

/** Default timeout of CS2's GET of a staged batch (BLINDSIGHT_CS2_FETCH_TIMEOUT_MS). */
export const DEFAULT_BATCH_FETCH_TIMEOUT_MS = 10_000;

export function readCs2ServiceConfig(env: Environment = process.env): Cs2ServiceConfig {
  return {
    fetch: {
      hostSuffixes: hostList(env),
      allowLoopback: flag(env, 'BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH'),
      maxBytes: integer(env, 'BLINDSIGHT_CS2_MAX_BATCH_MB', 256, 1, 4096) * 1024 * 1024,
      timeoutMs: integer(env, 'BLINDSIGHT_CS2_FETCH_TIMEOUT_MS', DEFAULT_BATCH_FETCH_TIMEOUT_MS, 100, 900_000),
    },
    maxInlineBytes: Math.floor((LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES * 3) / 4),
    maxCachedKeys: integer(env, 'BLINDSIGHT_CS2_MAX_KEYS', DEFAULT_MAX_CACHED_KEYS, 1, 256),
  };
}

/** CS2's secret store: a local directory if one is named, else Secrets Manager. */
export function createCs2SecretStore(env: Environment = process.env): SecretStore {
  const directory = (env.BLINDSIGHT_CS2_KEY_DIR ?? env.BLINDSIGHT_SECRET_DIR)?.trim();
  if (directory) return new FileSecretStore(directory);
  return new SecretsManagerStore({
    client: createSecretsManagerClient(),
    prefix: (env.BLINDSIGHT_CS2_SECRET_PREFIX ?? env.BLINDSIGHT_SECRET_PREFIX)?.trim() || DEFAULT_SECRET_PREFIX,
  });
}
