/** AES-256-GCM image envelopes: round trips, authentication failures, format damage, browser-style decryption. */
import { describe, expect, it } from 'vitest';
import { DecryptionError, InvalidInputError, MalformedDataError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { AES_KEY_BYTES } from '../../../lib/crypto/aes-gcm';
import {
  NONCE_BYTES,
  TAG_BYTES,
  decodeImageKey,
  decryptImage,
  encodeImageKey,
  encryptImage,
  generateImageKey,
  parseImageEnvelopeHeader,
} from '../../../lib/crypto/image-envelope';
import { imageKeyFromRaw } from '../../support/image-keys';

function imageBytes(length: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = random.int(256);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const IMAGE_ID = 'img-000042.jpg';

describe('image envelope', () => {
  it('round-trips images of several sizes, including empty', async () => {
    const key = await generateImageKey();
    expect(key.raw.length).toBe(AES_KEY_BYTES);
    expect(key.keyId).toMatch(/^[0-9a-f]{32}$/);
    for (const length of [0, 1, 15, 16, 17, 1000, 1 << 20]) {
      const plain = imageBytes(length, length);
      const envelope = await encryptImage(key, IMAGE_ID, plain);
      expect(envelope.length).toBe(8 + key.keyId.length + NONCE_BYTES + length + TAG_BYTES);
      // Byte comparison via Buffer: vitest's deep equality is slow on megabyte arrays.
      expect(Buffer.compare(await decryptImage(key, IMAGE_ID, envelope), plain)).toBe(0);
    }
  });

  it('exposes the header without decrypting', async () => {
    const key = await generateImageKey();
    const envelope = await encryptImage(key, IMAGE_ID, imageBytes(100));
    const header = parseImageEnvelopeHeader(envelope);
    expect(header.version).toBe(1);
    expect(header.keyId).toBe(key.keyId);
    expect(header.nonce.length).toBe(NONCE_BYTES);
    expect(header.ciphertextLength).toBe(100 + TAG_BYTES);
  });

  it('uses a fresh nonce per encryption of the same image', async () => {
    const key = await generateImageKey();
    const plain = imageBytes(64);
    const a = await encryptImage(key, IMAGE_ID, plain);
    const b = await encryptImage(key, IMAGE_ID, plain);
    expect(parseImageEnvelopeHeader(a).nonce).not.toEqual(parseImageEnvelopeHeader(b).nonce);
    expect(a).not.toEqual(b);
  });

  it('rejects the wrong key, a same-id key with other bytes, and the wrong image id', async () => {
    const key = await generateImageKey();
    const envelope = await encryptImage(key, IMAGE_ID, imageBytes(300));
    const other = await generateImageKey();
    const byId = await rejection(decryptImage(other, IMAGE_ID, envelope));
    expect(byId).toBeInstanceOf(DecryptionError);
    expect((byId as Error).message).toContain(key.keyId);
    const sameIdOtherBytes = imageKeyFromRaw(other.raw, key.keyId);
    expect(await rejection(decryptImage(sameIdOtherBytes, IMAGE_ID, envelope))).toBeInstanceOf(DecryptionError);
    for (const wrongId of ['img-000043.jpg', 'img-000042.jp', `${IMAGE_ID} `]) {
      expect(await rejection(decryptImage(key, wrongId, envelope))).toBeInstanceOf(DecryptionError);
    }
    // The error for a wrong key names no key bytes.
    const message = ((await rejection(decryptImage(sameIdOtherBytes, IMAGE_ID, envelope))) as Error).message;
    expect(message).not.toMatch(/[0-9a-f]{64}/);
  });

  it('rejects every single-bit flip in header, nonce, ciphertext and tag with a typed error', async () => {
    const key = await generateImageKey();
    const envelope = await encryptImage(key, IMAGE_ID, imageBytes(40));
    const headerAndNonce = 8 + key.keyId.length + NONCE_BYTES;
    const positions = [
      ...Array.from({ length: headerAndNonce }, (_, i) => i), // magic, version, key id, nonce
      headerAndNonce, // first ciphertext byte
      headerAndNonce + 20, // ciphertext
      envelope.length - TAG_BYTES, // tag
      envelope.length - 1, // tag
    ];
    let malformedCount = 0;
    let decryptionCount = 0;
    for (const position of positions) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = envelope.slice();
        flipped[position] ^= 1 << bit;
        const error = await rejection(decryptImage(key, IMAGE_ID, flipped));
        if (error instanceof MalformedDataError) malformedCount++;
        else if (error instanceof DecryptionError) decryptionCount++;
        else throw new Error(`untyped error for a flip at byte ${position}: ${String(error)}`);
      }
    }
    expect(malformedCount + decryptionCount).toBe(positions.length * 8);
    // Magic and version flips are format errors; nonce/ciphertext/tag flips fail authentication.
    expect(malformedCount).toBeGreaterThanOrEqual(6 * 8);
    expect(decryptionCount).toBeGreaterThanOrEqual((NONCE_BYTES + 4) * 8);
  });

  it('rejects truncation at every length and appended bytes', async () => {
    const key = await generateImageKey();
    const envelope = await encryptImage(key, IMAGE_ID, imageBytes(24));
    const minimum = 8 + key.keyId.length + NONCE_BYTES + TAG_BYTES;
    for (let length = 0; length < envelope.length; length++) {
      const error = await rejection(decryptImage(key, IMAGE_ID, envelope.subarray(0, length)));
      expect(error).toBeInstanceOf(length < minimum ? MalformedDataError : DecryptionError);
    }
    const longer = new Uint8Array(envelope.length + 1);
    longer.set(envelope);
    expect(await rejection(decryptImage(key, IMAGE_ID, longer))).toBeInstanceOf(DecryptionError);
    expect(() => parseImageEnvelopeHeader(envelope.subarray(0, minimum - 1))).toThrow(MalformedDataError);
  });

  it('rejects bad image ids and bad raw keys as invalid input', async () => {
    const key = await generateImageKey();
    expect(await rejection(encryptImage(key, '', imageBytes(4)))).toBeInstanceOf(InvalidInputError);
    expect(await rejection(encryptImage(key, 'x'.repeat(1025), imageBytes(4)))).toBeInstanceOf(InvalidInputError);
    expect(() => imageKeyFromRaw(new Uint8Array(16), key.keyId)).toThrow(InvalidInputError);
    expect(() => imageKeyFromRaw(key.raw, 'Not-Hex')).toThrow(InvalidInputError);
  });

  it('decrypts with raw WebCrypto calls following the documented layout (as a browser would)', async () => {
    const key = await generateImageKey();
    const plain = imageBytes(500, 9);
    const imageId = 'photos/ümlaut-é.png';
    const envelope = await encryptImage(key, imageId, plain);

    // Documented layout: "BSIE" | u16 version | u16 L | key id (L) | 12-byte nonce | ciphertext+tag.
    const view = new DataView(envelope.buffer, envelope.byteOffset, envelope.byteLength);
    expect(String.fromCharCode(...envelope.subarray(0, 4))).toBe('BSIE');
    expect(view.getUint16(4, true)).toBe(1);
    const keyIdLength = view.getUint16(6, true);
    expect(new TextDecoder().decode(envelope.subarray(8, 8 + keyIdLength))).toBe(key.keyId);
    const nonce = envelope.slice(8 + keyIdLength, 8 + keyIdLength + 12);
    const body = envelope.slice(8 + keyIdLength + 12);
    // AAD = header bytes [0, 8+L) || u32 LE byte length of the image id || image id UTF-8.
    const id = new TextEncoder().encode(imageId);
    const aad = new Uint8Array(8 + keyIdLength + 4 + id.length);
    aad.set(envelope.subarray(0, 8 + keyIdLength));
    new DataView(aad.buffer).setUint32(8 + keyIdLength, id.length, true);
    aad.set(id, 8 + keyIdLength + 4);

    const subtle = globalThis.crypto.subtle;
    const cryptoKey = await subtle.importKey('raw', key.raw.slice(), 'AES-GCM', false, ['decrypt']);
    const decrypted = await subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad }, cryptoKey, body);
    expect(new Uint8Array(decrypted)).toEqual(plain);
  });
});

describe('image key format (BSIK)', () => {
  it('round-trips and the decoded key decrypts', async () => {
    const key = await generateImageKey();
    const bytes = encodeImageKey(key);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe('BSIK');
    const decoded = decodeImageKey(bytes);
    expect(decoded).toEqual(key);
    const envelope = await encryptImage(key, IMAGE_ID, imageBytes(10));
    expect(await decryptImage(decoded, IMAGE_ID, envelope)).toEqual(imageBytes(10));
  });

  it('rejects truncation, trailing bytes, wrong magic, wrong version and a bad key id', async () => {
    const bytes = encodeImageKey(await generateImageKey());
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodeImageKey(bytes.subarray(0, length))).toThrow(MalformedDataError);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeImageKey(longer)).toThrow(/trailing/);
    const magic = bytes.slice();
    magic[3] = 'E'.charCodeAt(0); // BSIE: an envelope is not a key
    expect(() => decodeImageKey(magic)).toThrow(/bad magic/);
    const version = bytes.slice();
    version[4] = 9;
    expect(() => decodeImageKey(version)).toThrow(/unsupported version/);
    const keyId = bytes.slice();
    keyId[8] = 'Z'.charCodeAt(0);
    expect(() => decodeImageKey(keyId)).toThrow(/keyId/);
  });
});
