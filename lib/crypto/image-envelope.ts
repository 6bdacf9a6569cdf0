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
import {
  NONCE_BYTES,
  TAG_BYTES,
  concatBytes,
  decodeSymmetricKey,
  encodeSymmetricKey,
  gcmDecrypt,
  gcmEncrypt,
  generateSymmetricKey,
  isKeyId,
} from './aes-gcm';
import { randomBytes } from './web-random';
import type { ImageEnvelopeHeader, ImageKey } from './types';

export { NONCE_BYTES, TAG_BYTES };
export const IMAGE_ENVELOPE_MAGIC = 'BSIE';
export const IMAGE_ENVELOPE_VERSION = 1;
export const IMAGE_KEY_MAGIC = 'BSIK';
/** Image ids are short identifiers (S3-key-like); a bound keeps the AAD small and sane. */
const MAX_IMAGE_ID_BYTES = 1024;
const ENVELOPE = 'image envelope';
const textEncoder = new TextEncoder();

/** A fresh random AES-256 image key with a random 128-bit key id. */
export async function generateImageKey(): Promise<ImageKey> {
  return generateSymmetricKey();
}

/** Encrypts image bytes for `imageId` under `key`; a fresh random nonce every call. */
export async function encryptImage(key: ImageKey, imageId: string, bytes: Uint8Array): Promise<Uint8Array> {
  const aadTail = imageIdAad(imageId);
  const nonce = randomBytes(NONCE_BYTES);
  const header = new BinaryWriter(32 + key.keyId.length)
    .header(IMAGE_ENVELOPE_MAGIC, IMAGE_ENVELOPE_VERSION)
    .string(key.keyId)
    .finish();
  const ciphertext = await gcmEncrypt(key, nonce, concatBytes(header, aadTail), bytes);
  return concatBytes(header, nonce, ciphertext);
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
  const plaintext = await gcmDecrypt(key, header.nonce, concatBytes(headerBytes, aadTail), envelope.subarray(ciphertextOffset));
  if (plaintext === undefined) {
    throw new DecryptionError(
      'image envelope failed authentication: wrong image key, wrong image id, or the envelope was modified',
    );
  }
  return plaintext;
}

/**
 * Reads version, key id and nonce without decrypting.
 * @internal Exported for the tests, which check through it that every envelope gets a fresh nonce
 * and that truncated headers are refused; decryptImage reads the header with the same
 * readEnvelopeHeader.
 */
export function parseImageEnvelopeHeader(envelope: Uint8Array): ImageEnvelopeHeader {
  return readEnvelopeHeader(envelope).header;
}

export function encodeImageKey(key: ImageKey): Uint8Array {
  return encodeSymmetricKey(IMAGE_KEY_MAGIC, key, 'image key');
}

export function decodeImageKey(bytes: Uint8Array): ImageKey {
  return decodeSymmetricKey(IMAGE_KEY_MAGIC, bytes, 'image key');
}

function readEnvelopeHeader(envelope: Uint8Array): {
  header: ImageEnvelopeHeader;
  headerBytes: Uint8Array;
  ciphertextOffset: number;
} {
  const reader = new BinaryReader(envelope, ENVELOPE);
  const version = reader.header(IMAGE_ENVELOPE_MAGIC, [IMAGE_ENVELOPE_VERSION]);
  const keyId = reader.string('keyId');
  if (!isKeyId(keyId)) reader.fail('keyId is not 16-64 lowercase hex characters');
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
