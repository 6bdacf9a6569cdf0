/** The client role of either backend, from exportPublic() bytes. */
import { backendOfMaterial } from './backends';
import { loadBfvClient } from './bfv/client';
import { loadSheClient } from './she/client';
import type { HeClient } from './types';

export async function loadHeClient(bytes: Uint8Array): Promise<HeClient> {
  return backendOfMaterial(bytes, 'HE public material') === 'she' ? loadSheClient(bytes) : loadBfvClient(bytes);
}
