/**
 * The provider role of either backend: key generation (createHeBackend) and a provider loaded
 * from its exportProviderKey() bytes.
 */
import { backendOfMaterial } from './backends';
import { createBfvProvider, loadBfvProvider } from './bfv/provider';
import { createSheProvider, loadSheProvider } from './she/provider';
import type { BfvParameters, HeBackendName, HeParametersFor, HeProvider, SheParameters } from './types';

/** Generates a fresh key for `name` (validated parameters) and returns the provider role. */
export async function createHeBackend<N extends HeBackendName>(name: N, params: HeParametersFor<N>): Promise<HeProvider> {
  if (name === 'she') return createSheProvider(params as SheParameters);
  return createBfvProvider(params as BfvParameters);
}

/** Provider role from exportProviderKey() bytes. */
export async function loadHeProvider(bytes: Uint8Array): Promise<HeProvider> {
  return backendOfMaterial(bytes, 'HE provider key') === 'she' ? loadSheProvider(bytes) : loadBfvProvider(bytes);
}
