/** The Secrets Manager client (CS2): explicit (tests, the key import tool) and the process's own (see config.ts). */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { processClient, readRegion, sdkClientSettings } from './config';
import type { ClientOptions } from './config';
import { failUnavailable } from './unavailable';

export function newSecretsManagerClient(options: ClientOptions): SecretsManagerClient {
  const client = new SecretsManagerClient(sdkClientSettings(options));
  client.middlewareStack.use(failUnavailable('Secrets Manager'));
  return client;
}

/** The process's Secrets Manager client. */
export function createSecretsManagerClient(): SecretsManagerClient {
  return processClient('secrets-manager', { region: readRegion() }, newSecretsManagerClient);
}
