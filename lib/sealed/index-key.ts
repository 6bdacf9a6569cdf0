/**
 * The index key of a sealed index: AES-256, serialized as "BSXK" v1 (magic | u16 version |
 * u16 L + key id | 32 raw key bytes), the same layout as image keys under another magic.
 */
import { decodeSymmetricKey, encodeSymmetricKey, generateSymmetricKey } from '../crypto/aes-gcm';
import type { IndexKey } from './types';

export const INDEX_KEY_MAGIC = 'BSXK';

/** A fresh random index key (an owner keeps one, like the image key; versions are told apart by the associated data). */
export function generateIndexKey(): IndexKey {
  return generateSymmetricKey();
}

export function encodeIndexKey(key: IndexKey): Uint8Array {
  return encodeSymmetricKey(INDEX_KEY_MAGIC, key, 'index key');
}

export function decodeIndexKey(bytes: Uint8Array): IndexKey {
  return decodeSymmetricKey(INDEX_KEY_MAGIC, bytes, 'index key');
}
