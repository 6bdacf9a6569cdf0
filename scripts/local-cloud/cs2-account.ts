/**
 * The CS2 "account" process: its own gateway in front of the decrypt handler, its own key store
 * (a FileSecretStore directory in CS2's folder, named by BLINDSIGHT_CS2_KEY_DIR), and no access
 * to CS1's data or credential, only the digest that identifies CS1.
 */
import { CS2_DECRYPT_FUNCTION_NAME, CS2_DECRYPT_HANDLER } from '../../cdk/names';
import { CS2_DECRYPT_TIMEOUT_MS } from '../../cdk/timeouts';
import { SETTINGS } from '../../lib/config/settings';
import type { Cs2AccountConfig } from './account-protocol';
import { isolateAwsEnvironment, readAccountConfig, runAccount } from './account-process';
import { readTrustedDigest } from './cs1-credential';
import { createCs2Gateway } from './cs2-gateway';
import { listen } from './http-server';
import { moduleHandlerLoader } from './lambda-runtime';

runAccount('cs2', async () => {
  const config = readAccountConfig<Cs2AccountConfig>('cs2');
  const trustedDigest = await readTrustedDigest(config.trustedDigestFile);
  isolateAwsEnvironment(config.isolatedAwsConfigDir, {
    AWS_REGION: config.region,
    BLINDSIGHT_CS2_KEY_DIR: config.keyDir,
    // Large batches come from CS1's S3 (s3rver on loopback) through presigned URLs.
    BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH: 'true',
    ...(config.logLevel ? { BLINDSIGHT_LOG_LEVEL: config.logLevel } : {}),
    ...(config.timeoutScale !== 1 ? { BLINDSIGHT_CS2_FETCH_TIMEOUT_MS: String(Math.round(SETTINGS.cs2FetchTimeoutMs.default * config.timeoutScale)) } : {}),
  });
  const gateway = createCs2Gateway({
    account: 'cs2',
    accountId: config.accountId,
    region: config.region,
    trustedDigest,
    decryptHandler: CS2_DECRYPT_HANDLER,
    functionName: CS2_DECRYPT_FUNCTION_NAME,
    loadHandler: moduleHandlerLoader(config.functionsDir),
    timeoutMs: Math.round(CS2_DECRYPT_TIMEOUT_MS * config.timeoutScale),
  });
  const server = await listen(gateway, config.host, config.port);
  return {
    ready: { type: 'ready', account: 'cs2', url: server.url, port: server.port },
    stop: () => server.close(),
  };
});
