/**
 * The backends by name, and which backend wrote a material (its magic: she materials start
 * with "SH", bfv materials with "BF").
 */
import { MalformedDataError } from '../core/errors';
import type { HeBackendName } from './types';

export const HE_BACKENDS: readonly HeBackendName[] = ['she', 'bfv'];

export function isHeBackendName(value: unknown): value is HeBackendName {
  return value === 'she' || value === 'bfv';
}

/** Which backend wrote these material bytes. */
export function backendOfMaterial(bytes: Uint8Array, what: string): HeBackendName {
  if (bytes.length >= 2 && bytes[0] === 0x53 && bytes[1] === 0x48) return 'she';
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x46) return 'bfv';
  throw new MalformedDataError(what, 'not homomorphic-encryption material of a known backend (bad magic)');
}
