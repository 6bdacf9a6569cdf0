/**
 * The provider role of either backend: key generation (createHeBackend) and a provider loaded
 * from its exportProviderKey() bytes.
 */
import { InvalidParametersError } from '../core/errors';
import { backendOfMaterial, SHE_IS_INSECURE } from './backends';
import { createBfvProvider, loadBfvProvider } from './bfv/provider';
import { createSheProvider, loadSheProvider } from './she/provider';
import type { BfvParameters, HeBackendName, HeBackendOptions, HeParametersFor, HeProvider, SheParameters } from './types';

/**
 * Generates a fresh key for `name` (validated parameters) and returns the provider role. A `she`
 * key needs options.allowInsecurePaperScheme (InvalidParametersError otherwise).
 */
export async function createHeBackend<N extends HeBackendName>(name: N, params: HeParametersFor<N>, options: HeBackendOptions = {}): Promise<HeProvider> {
  if (name === 'she') {
    if (options.allowInsecurePaperScheme !== true) {
      throw new InvalidParametersError(
        `${SHE_IS_INSECURE}. Use 'bfv'; to make a she key anyway (experiments on synthetic data only), pass { allowInsecurePaperScheme: true }`,
      );
    }
    return createSheProvider(params as SheParameters);
  }
  return createBfvProvider(params as BfvParameters);
}

/** Provider role from exportProviderKey() bytes. */
export async function loadHeProvider(bytes: Uint8Array): Promise<HeProvider> {
  return backendOfMaterial(bytes, 'HE provider key') === 'she' ? loadSheProvider(bytes) : loadBfvProvider(bytes);
}
