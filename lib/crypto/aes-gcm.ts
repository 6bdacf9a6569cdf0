/**
 * AES-256-GCM and random bytes through WebCrypto (`globalThis.crypto`), shared by the image
 * envelopes and the sealed index: the same code runs in Node 20 and in a browser. No node:*
 * imports here on purpose.
 *
 * Symmetric keys serialize as `magic | u16 version (1) | u16 L + key id | 32 raw key bytes`; the
 * magic names what the key is for ("BSIK" image key, "BSXK" sealed-index key), so a key of one
 * kind is never read as the other.
 */
import { BinaryReader, BinaryWriter } from '../codec/binary';
import { InvalidInputError } from '../core/errors';
import type { SymmetricKey } from './types';
import { randomBytes } from './web-random';

export const AES_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const KEY_FORMAT_VERSION = 1;
const KEY_ID_PATTERN = /^[0-9a-f]{16,64}$/;
const KEY_ID_RANDOM_BYTES = 16;

export function webCrypto(): Crypto {
  const c = globalThis.crypto;
  if (c?.subtle === undefined) throw new Error('WebCrypto (globalThis.crypto.subtle) is not available');
  return c;
}

export function isKeyId(value: string): boolean {
  return KEY_ID_PATTERN.test(value);
}

/** A fresh random AES-256 key with a random 128-bit key id. */
export function generateSymmetricKey(): SymmetricKey {
  return symmetricKeyFromRaw(randomBytes(AES_KEY_BYTES), toHex(randomBytes(KEY_ID_RANDOM_BYTES)), 'key');
}

/** Wraps 32 raw key bytes and a key id (16-64 lowercase hex) as a key (copies the bytes). */
export function symmetricKeyFromRaw(raw: Uint8Array, keyId: string, what: string): SymmetricKey {
  if (raw.length !== AES_KEY_BYTES) throw new InvalidInputError(`an ${what} must be ${AES_KEY_BYTES} bytes`);
  if (!isKeyId(keyId)) throw new InvalidInputError(`${what} id must be 16-64 lowercase hex characters`);
  return { keyId, raw: raw.slice() };
}

export function encodeSymmetricKey(magic: string, key: SymmetricKey, what: string): Uint8Array {
  if (key.raw.length !== AES_KEY_BYTES) throw new InvalidInputError(`an ${what} must be ${AES_KEY_BYTES} bytes`);
  return new BinaryWriter(48 + key.keyId.length).header(magic, KEY_FORMAT_VERSION).string(key.keyId).bytes(key.raw).finish();
}

export function decodeSymmetricKey(magic: string, bytes: Uint8Array, what: string): SymmetricKey {
  const reader = new BinaryReader(bytes, what);
  reader.header(magic, [KEY_FORMAT_VERSION]);
  const keyId = reader.string('keyId');
  if (!isKeyId(keyId)) reader.fail('keyId is not 16-64 lowercase hex characters');
  const raw = reader.bytes(AES_KEY_BYTES, 'key bytes');
  reader.end();
  return { keyId, raw };
}

// Importing a raw key costs a WebCrypto round trip: cache the CryptoKey per key object.
const cryptoKeys = new WeakMap<SymmetricKey, Promise<CryptoKey>>();

export function aesKey(key: SymmetricKey): Promise<CryptoKey> {
  let pending = cryptoKeys.get(key);
  if (pending === undefined) {
    if (key.raw.length !== AES_KEY_BYTES) throw new InvalidInputError(`an AES-256 key must be ${AES_KEY_BYTES} bytes`);
    pending = webCrypto().subtle.importKey('raw', key.raw.slice(), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    cryptoKeys.set(key, pending);
  }
  return pending;
}

/** AES-GCM encryption: ciphertext followed by the 16-byte tag (WebCrypto's output). */
export async function gcmEncrypt(key: SymmetricKey, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await webCrypto().subtle.encrypt(
      { name: 'AES-GCM', iv: nonce as Uint8Array<ArrayBuffer>, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
      await aesKey(key),
      plaintext as Uint8Array<ArrayBuffer>,
    ),
  );
}

/**
 * AES-GCM decryption of ciphertext || tag. Resolves to undefined when authentication fails
 * (wrong key, nonce, associated data, or any changed byte): callers say what that means.
 */
export async function gcmDecrypt(key: SymmetricKey, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(
      await webCrypto().subtle.decrypt(
        { name: 'AES-GCM', iv: nonce as Uint8Array<ArrayBuffer>, additionalData: aad as Uint8Array<ArrayBuffer>, tagLength: TAG_BYTES * 8 },
        await aesKey(key),
        sealed as Uint8Array<ArrayBuffer>,
      ),
    );
  } catch {
    return undefined;
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
