/**
 * Image keys from chosen bytes, for tests that need fixed keys (a client only ever generates
 * them, generateImageKey).
 */
import { symmetricKeyFromRaw } from '../../lib/crypto/aes-gcm';
import type { ImageKey } from '../../lib/crypto/types';

/** Wraps 32 raw key bytes and a key id (16-64 lowercase hex) as an ImageKey (copies the bytes). */
export function imageKeyFromRaw(raw: Uint8Array, keyId: string): ImageKey {
  return symmetricKeyFromRaw(raw, keyId, 'image key');
}
