/**
 * The homomorphic-encryption layer (contract: ./types). One module per role, each dispatching
 * on the material's backend, so code that plays one role loads only that role of each backend:
 *   ./provider   key generation and the provider (encrypts records, exports materials)
 *   ./client     encrypts queries                 ./evaluator  CS1: blinded distances
 *   ./decryptor  CS2: decrypts batches            ./blinding   the blinding CS1 applies
 * Each backend (./bfv: SEAL through node-seal; ./she: the paper's scheme) keeps the same split
 * (params, keygen, formats, provider, client, evaluator, decryptor) and shares ./bounds,
 * ./inputs, ./records, ./formats and ./lifecycle. This module gathers what programs that play
 * several roles (the owner's client, the CLI, the benchmarks) use; services import the role they
 * play, and tests import the module that defines what they test.
 */
export type * from './types';
export { isHeBackendName, SHE_WARNING } from './backends';
export { createHeBackend } from './provider';
export { loadHeEvaluator } from './evaluator';
export { loadHeDecryptor } from './decryptor';
