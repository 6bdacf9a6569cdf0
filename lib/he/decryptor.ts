/** The CS2 role of either backend, from exportSecret() bytes. */
import { backendOfMaterial } from './backends';
import { loadBfvDecryptor } from './bfv/decryptor';
import { loadSheDecryptor } from './she/decryptor';
import type { HeDecryptor } from './types';

export async function loadHeDecryptor(bytes: Uint8Array): Promise<HeDecryptor> {
  return backendOfMaterial(bytes, 'HE secret material') === 'she' ? loadSheDecryptor(bytes) : loadBfvDecryptor(bytes);
}
