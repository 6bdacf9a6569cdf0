/**
 * Which names are backends, which backend wrote a material (its magic: she materials start with
 * "SH", bfv materials with "BF"), and why `she` is only ever used on purpose.
 */
import { MalformedDataError } from '../core/errors';
import type { HeBackendName } from './types';

export function isHeBackendName(value: unknown): value is HeBackendName {
  return value === 'she' || value === 'bfv';
}

/** Which backend wrote these material bytes. */
export function backendOfMaterial(bytes: Uint8Array, what: string): HeBackendName {
  if (bytes.length >= 2 && bytes[0] === 0x53 && bytes[1] === 0x48) return 'she';
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x46) return 'bfv';
  throw new MalformedDataError(what, 'not homomorphic-encryption material of a known backend (bad magic)');
}

/**
 * Why `she` needs an explicit opt-in everywhere (library option allowInsecurePaperScheme, CLI
 * flag --insecure-paper-scheme, CS1 setting BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME) and is
 * announced wherever it is used: docs/threat-model.md, "SHE does not protect anything against
 * CS1" (test/unit/he/she-attack.test.ts recovers the key).
 */
export const SHE_IS_INSECURE =
  "the 'she' backend is the paper's scheme, and it is broken: N (in the public and evaluation material) and one " +
  'ciphertext reveal the secret prime p, and with it every template and query (docs/threat-model.md)';

/** The warning printed or logged wherever a she key is made or used. */
export const SHE_WARNING = `${SHE_IS_INSECURE}; use it for experiments on synthetic data only, never for real templates`;
