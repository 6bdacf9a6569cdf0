/**
 * Entry point of the homomorphic-encryption layer: pick a backend by name, or load a role from
 * its material bytes (the material's magic says which backend made it). See ./types for the
 * contract every backend implements.
 */
import { MalformedDataError } from '../core/errors';
import { createBfvProvider, loadBfvClient, loadBfvDecryptor, loadBfvEvaluator, loadBfvProvider, validateBfvParameters } from './bfv/backend';
import { createSheProvider, loadSheClient, loadSheDecryptor, loadSheEvaluator, loadSheProvider, validateSheParameters } from './she/backend';
import type {
  BfvParameters,
  HeBackendName,
  HeClient,
  HeDecryptor,
  HeEvaluator,
  HeParametersFor,
  HeProvider,
  SheParameters,
} from './types';

export type * from './types';
export {
  assertBlindingInRange,
  blind,
  blindingLeakage,
  DEFAULT_A_BITS,
  drawBlinding,
  drawOffset,
  offsetBound,
  unblind,
  validateBlindingRange,
} from './blinding';
export type { BlindingLeakage, BlindingRange } from './blinding';

export const HE_BACKENDS: readonly HeBackendName[] = ['she', 'bfv'];

export function isHeBackendName(value: unknown): value is HeBackendName {
  return value === 'she' || value === 'bfv';
}

/**
 * Validates parameters without generating a key; throws InvalidParametersError naming the bound
 * that fails. createHeBackend runs the same checks.
 */
export async function validateHeParameters<N extends HeBackendName>(name: N, params: HeParametersFor<N>): Promise<void> {
  if (name === 'she') validateSheParameters(params as SheParameters);
  else await validateBfvParameters(params as BfvParameters);
}

/** Generates a fresh key for `name` (validated parameters) and returns the provider role. */
export async function createHeBackend<N extends HeBackendName>(name: N, params: HeParametersFor<N>): Promise<HeProvider> {
  if (name === 'she') return createSheProvider(params as SheParameters);
  return createBfvProvider(params as BfvParameters);
}

/** Which backend wrote these material bytes (she materials start with "SH", bfv with "BF"). */
export function backendOfMaterial(bytes: Uint8Array, what: string): HeBackendName {
  if (bytes.length >= 2 && bytes[0] === 0x53 && bytes[1] === 0x48) return 'she';
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x46) return 'bfv';
  throw new MalformedDataError(what, 'not homomorphic-encryption material of a known backend (bad magic)');
}

/** Provider role from exportProviderKey() bytes. */
export async function loadHeProvider(bytes: Uint8Array): Promise<HeProvider> {
  return backendOfMaterial(bytes, 'HE provider key') === 'she' ? loadSheProvider(bytes) : loadBfvProvider(bytes);
}

/** Client role from exportPublic() bytes. */
export async function loadHeClient(bytes: Uint8Array): Promise<HeClient> {
  return backendOfMaterial(bytes, 'HE public material') === 'she' ? loadSheClient(bytes) : loadBfvClient(bytes);
}

/** CS1 role from exportEvaluation() bytes. */
export async function loadHeEvaluator(bytes: Uint8Array): Promise<HeEvaluator> {
  return backendOfMaterial(bytes, 'HE evaluation material') === 'she' ? loadSheEvaluator(bytes) : loadBfvEvaluator(bytes);
}

/** CS2 role from exportSecret() bytes. */
export async function loadHeDecryptor(bytes: Uint8Array): Promise<HeDecryptor> {
  return backendOfMaterial(bytes, 'HE secret material') === 'she' ? loadSheDecryptor(bytes) : loadBfvDecryptor(bytes);
}
