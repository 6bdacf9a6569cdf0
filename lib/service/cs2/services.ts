/**
 * CS2's service for this process, built once from the environment (config.ts): a warm Lambda
 * keeps its loaded decryptors across invocations.
 */
import { createCs2SecretStore, readCs2ServiceConfig } from './config';
import { Cs2DecryptService } from './decrypt';

let service: Cs2DecryptService | undefined;

export function cs2DecryptService(): Cs2DecryptService {
  service ??= new Cs2DecryptService(createCs2SecretStore(), { config: readCs2ServiceConfig() });
  return service;
}

/**
 * Forgets the process's service and its decryptors (tests that change the environment).
 * @internal Only tests call it: a function's process keeps these for its lifetime, and a test
 * suite that sets other variables between cases must drop them. No other way reaches the module's
 * cache.
 */
export function resetCs2DecryptService(): void {
  service?.decryptors.clear();
  service = undefined;
}
