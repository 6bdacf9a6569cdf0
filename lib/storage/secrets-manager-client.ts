/** The Secrets Manager client (CS2): explicit (tests, the key import tool) and the process's own (see config.ts). */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CONNECTION_TIMEOUT_MS, processClient, readRegion } from './config';
import type { ClientOptions } from './config';
import { failUnavailable } from './unavailable';

export function newSecretsManagerClient(options: ClientOptions): SecretsManagerClient {
  const client = new SecretsManagerClient({
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS },
  });
  client.middlewareStack.use(failUnavailable('Secrets Manager'));
  return client;
}

/** The process's Secrets Manager client. */
export function createSecretsManagerClient(): SecretsManagerClient {
  const region = readRegion();
  return processClient('secrets-manager', region, () => newSecretsManagerClient({ region }));
}
