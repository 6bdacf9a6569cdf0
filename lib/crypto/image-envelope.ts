/**
 * Image encryption (the paper's Enc/Dec with k_ie, sections 5.3.2 and 5.3.6): AES-256-GCM via
 * WebCrypto (`globalThis.crypto`), so the same code and the documented layout work in Node 20 and
 * in a browser that decrypts results. No node:* imports here on purpose.
 *
 * Envelope "BSIE" v1 (integers little-endian):
 *
 *   offset 0      4 bytes   magic "BSIE"
 *   offset 4      u16       version (1)
 *   offset 6      u16       L = byte length of the key id
 *   offset 8      L bytes   key id (ASCII lowercase hex, 16-64 characters)
 *   offset 8+L    12 bytes  nonce (random 96 bits, fresh per encryption)
 *   offset 20+L   rest      AES-GCM ciphertext followed by the 16-byte tag (WebCrypto's output)
 *
 * Associated data = envelope bytes [0, 8+L) (magic, version, key id) || u32 byte length of the
 * image id || image id as UTF-8. Binding the image id stops the server from answering a query
 * with another image's ciphertext under the right id; binding the header stops key-id or
 * version substitution. The nonce is authenticated by GCM itself.
 *
 * Image keys serialize as "BSIK" v1: magic | u16 version | u16 L + key id | 32 raw key bytes.
 */
import { DecryptionError, InvalidInputError } from '../core/errors';
import { BinaryReader, BinaryWriter } from '../codec/binary';
import type { ImageEnvelopeHeader, ImageKey } from './types';

export const IMAGE_ENVELOPE_MAGIC = 'BSIE';
export const IMAGE_ENVELOPE_VERSION = 1;
export const IMAGE_KEY_MAGIC = 'BSIK';
export const IMAGE_KEY_VERSION = 1;
export const IMAGE_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

const KEY_ID_PATTERN = /^[0-9a-f]{16,64}$/;
const KEY_ID_RANDOM_BYTES = 16;
/** Image ids are short identifiers (S3-key-like); a bound keeps the AAD small and sane. */
const MAX_IMAGE_ID_BYTES = 1024;
const ENVELOPE = 'image envelope';
const textEncoder = new TextEncoder();

/** A fresh random AES-256 image key with a random 128-bit key id. */
export async function generateImageKey(): Promise<ImageKey> {
  const raw = webCrypto().getRandomValues(new Uint8Array(IMAGE_KEY_BYTES));
  const idBytes = webCrypto().getRandomValues(new Uint8Array(KEY_ID_RANDOM_BYTES));
  return imageKeyFromRaw(raw, toHex(idBytes));
}

/** Wraps 32 raw key bytes and a key id (16-64 lowercase hex) as an ImageKey (copies the bytes). */
export function imageKeyFromRaw(raw: Uint8Array, keyId: string): ImageKey {
  if (raw.length !== IMAGE_KEY_BYTES) throw new InvalidInputError(`an image key must be ${IMAGE_KEY_BYTES} bytes`);
  if (!KEY_ID_PATTERN.test(keyId)) throw new InvalidInputError('image key id must be 16-64 lowercase hex characters');
  return { keyId, raw: raw.slice() };
}

/** Encrypts image bytes for `imageId` under `key`; a fresh random nonce every call. */
export async function encryptImage(key: ImageKey, imageId: string, bytes: Uint8Array): Promise<Uint8Array> {
  const aadTail = imageIdAad(imageId);
  const nonce = webCrypto().getRandomValues(new Uint8Array(NONCE_BYTES));
  const header = new BinaryWriter(32 + key.keyId.length)
    .header(IMAGE_ENVELOPE_MAGIC, IMAGE_ENVELOPE_VERSION)
    .string(key.keyId)
    .finish();
  const ciphertext = new Uint8Array(
    await webCrypto().subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: concat(header, aadTail), tagLength: TAG_BYTES * 8 },
      await cryptoKey(key),
      bytes as Uint8Array<ArrayBuffer>,
    ),
  );
  return concat(header, nonce, ciphertext);
}

/**
 * Decrypts an envelope made by {@link encryptImage}. Throws MalformedDataError if the bytes are
 * not a well-formed envelope, DecryptionError for a key-id mismatch, the wrong key, the wrong
 * image id or any tampering with header, nonce, ciphertext or tag.
 */
export async function decryptImage(key: ImageKey, imageId: string, envelope: Uint8Array): Promise<Uint8Array> {
  const aadTail = imageIdAad(imageId);
  const { header, headerBytes, ciphertextOffset } = readEnvelopeHeader(envelope);
  if (header.keyId !== key.keyId) {
    throw new DecryptionError(
      `image envelope was encrypted under key ${header.keyId}, not under the supplied key ${key.keyId}`,
    );
  }
  try {
    const plaintext = await webCrypto().subtle.decrypt(
      {
        name: 'AES-GCM',
        iv: header.nonce as Uint8Array<ArrayBuffer>,
        additionalData: concat(headerBytes, aadTail),
        tagLength: TAG_BYTES * 8,
      },
      await cryptoKey(key),
      envelope.subarray(ciphertextOffset) as Uint8Array<ArrayBuffer>,
    );
    return new Uint8Array(plaintext);
  } catch {
    throw new DecryptionError(
      'image envelope failed authentication: wrong image key, wrong image id, or the envelope was modified',
    );
  }
}

/** Reads version, key id and nonce without decrypting (e.g. to pick the right key). */
export function parseImageEnvelopeHeader(envelope: Uint8Array): ImageEnvelopeHeader {
  return readEnvelopeHeader(envelope).header;
}

export function encodeImageKey(key: ImageKey): Uint8Array {
  if (key.raw.length !== IMAGE_KEY_BYTES) throw new InvalidInputError(`an image key must be ${IMAGE_KEY_BYTES} bytes`);
  return new BinaryWriter(48 + key.keyId.length)
    .header(IMAGE_KEY_MAGIC, IMAGE_KEY_VERSION)
    .string(key.keyId)
    .bytes(key.raw)
    .finish();
}

export function decodeImageKey(bytes: Uint8Array): ImageKey {
  const reader = new BinaryReader(bytes, 'image key');
  reader.header(IMAGE_KEY_MAGIC, [IMAGE_KEY_VERSION]);
  const keyId = reader.string('keyId');
  if (!KEY_ID_PATTERN.test(keyId)) reader.fail('keyId is not 16-64 lowercase hex characters');
  const raw = reader.bytes(IMAGE_KEY_BYTES, 'key bytes');
  reader.end();
  return { keyId, raw };
}

function readEnvelopeHeader(envelope: Uint8Array): {
  header: ImageEnvelopeHeader;
  headerBytes: Uint8Array;
  ciphertextOffset: number;
} {
  const reader = new BinaryReader(envelope, ENVELOPE);
  const version = reader.header(IMAGE_ENVELOPE_MAGIC, [IMAGE_ENVELOPE_VERSION]);
  const keyId = reader.string('keyId');
  if (!KEY_ID_PATTERN.test(keyId)) reader.fail('keyId is not 16-64 lowercase hex characters');
  const headerEnd = reader.position;
  const nonce = reader.bytes(NONCE_BYTES, 'nonce');
  if (reader.remaining < TAG_BYTES) reader.fail(`truncated: shorter than the ${TAG_BYTES}-byte authentication tag`);
  const ciphertextOffset = reader.position;
  return {
    header: { version, keyId, nonce, ciphertextLength: reader.remaining },
    headerBytes: envelope.subarray(0, headerEnd),
    ciphertextOffset,
  };
}

/** u32 LE byte length || UTF-8 image id: the image-id part of the associated data. */
function imageIdAad(imageId: string): Uint8Array {
  if (typeof imageId !== 'string' || imageId.length === 0) throw new InvalidInputError('image id must be a non-empty string');
  const encoded = textEncoder.encode(imageId);
  if (encoded.length > MAX_IMAGE_ID_BYTES) {
    throw new InvalidInputError(`image id must be at most ${MAX_IMAGE_ID_BYTES} bytes of UTF-8`);
  }
  return new BinaryWriter(4 + encoded.length).blob(encoded).finish();
}

// Importing a raw key costs a WebCrypto round trip: cache the CryptoKey per ImageKey object.
const cryptoKeys = new WeakMap<ImageKey, Promise<CryptoKey>>();

function cryptoKey(key: ImageKey): Promise<CryptoKey> {
  let pending = cryptoKeys.get(key);
  if (pending === undefined) {
    if (key.raw.length !== IMAGE_KEY_BYTES) throw new InvalidInputError(`an image key must be ${IMAGE_KEY_BYTES} bytes`);
    pending = webCrypto().subtle.importKey('raw', key.raw.slice(), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    cryptoKeys.set(key, pending);
  }
  return pending;
}

function webCrypto(): Crypto {
  const c = globalThis.crypto;
  if (c?.subtle === undefined) throw new Error('WebCrypto (globalThis.crypto.subtle) is not available');
  return c;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
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

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
