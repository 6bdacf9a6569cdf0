/**
 * Sealing and opening the parts of a sealed index with AES-256-GCM (lib/crypto/aes-gcm), a
 * fresh random 96-bit nonce per part.
 *
 * Associated data of every part = string "blindsight/sealed-index" || u8 part kind (0 routing,
 * 1 leaf) || string ownerId || string indexName || string version || u32 leaf number (0 for the
 * routing data) || the public header's bytes. So a leaf served under another number, from
 * another version, index or owner, or next to a changed header, fails authentication: the
 * cloud can refuse to answer, but never make a client rank bytes the owner did not seal there.
 *
 * No node:* imports: clients in browsers open parts here.
 */
import { BinaryWriter } from '../codec/binary';
import { DecryptionError, MalformedDataError } from '../core/errors';
import { NONCE_BYTES, concatBytes, gcmDecrypt, gcmEncrypt } from '../crypto/aes-gcm';
import { randomBytes } from '../crypto/web-random';
import { decodeLeafPlaintext, decodeRoutingPlaintext, encodeLayout, readLayout } from './format';
import type { IndexKey, SealedBinding, SealedLayout, SealedLeaf, SealedRouting } from './types';

const DOMAIN = 'blindsight/sealed-index';
const ROUTING_PART = 0;
const LEAF_PART = 1;

function associatedData(binding: SealedBinding, kind: number, leaf: number, headerBytes: Uint8Array): Uint8Array {
  return new BinaryWriter(128 + headerBytes.length)
    .string(DOMAIN)
    .u8(kind)
    .string(binding.ownerId)
    .string(binding.indexName)
    .string(binding.version)
    .u32(leaf)
    .bytes(headerBytes)
    .finish();
}

async function seal(key: IndexKey, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = randomBytes(NONCE_BYTES);
  return concatBytes(nonce, await gcmEncrypt(key, nonce, aad, plaintext));
}

function where(binding: SealedBinding): string {
  return `index "${binding.indexName}" version "${binding.version}"`;
}

/** The routing part: public header, then the sealed routing plaintext. */
export async function sealRouting(key: IndexKey, binding: SealedBinding, headerBytes: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  return concatBytes(headerBytes, await seal(key, associatedData(binding, ROUTING_PART, 0, headerBytes), plaintext));
}

/** One sealed leaf (exactly SEAL_OVERHEAD + plaintext.length bytes). */
export async function sealLeaf(key: IndexKey, binding: SealedBinding, headerBytes: Uint8Array, leaf: number, plaintext: Uint8Array): Promise<Uint8Array> {
  return seal(key, associatedData(binding, LEAF_PART, leaf, headerBytes), plaintext);
}

/**
 * Decrypts and checks the routing part of the version `binding` names. DecryptionError if the
 * key is not the index's or any byte was changed (or the part belongs elsewhere);
 * MalformedDataError if the header cannot be read.
 */
export async function openRouting(key: IndexKey, binding: SealedBinding, bytes: Uint8Array): Promise<SealedRouting> {
  const { layout, headerBytes, sealedStart } = readLayout(bytes);
  if (layout.keyId !== key.keyId) {
    throw new DecryptionError(`${where(binding)} is sealed under index key ${layout.keyId}, not under your key ${key.keyId}: ask the owner for a new grant`);
  }
  const nonce = bytes.subarray(sealedStart, sealedStart + NONCE_BYTES);
  const plaintext = await gcmDecrypt(key, nonce, associatedData(binding, ROUTING_PART, 0, headerBytes), bytes.subarray(sealedStart + NONCE_BYTES));
  if (plaintext === undefined) {
    throw new DecryptionError(`the routing data of ${where(binding)} failed authentication: it was changed, or belongs to another index or version`);
  }
  return decodeRoutingPlaintext(plaintext, layout, binding);
}

/**
 * Authenticates and decrypts leaf `leaf` of the index the routing data describes; returns its
 * plaintext. DecryptionError for any change, swap or wrong length.
 */
export async function decryptLeaf(key: IndexKey, routing: SealedRouting, leaf: number, bytes: Uint8Array): Promise<Uint8Array> {
  const { layout, binding } = routing;
  if (!Number.isInteger(leaf) || leaf < 0 || leaf >= layout.leafCount) throw new MalformedDataError(`leaf ${leaf}`, `is not a leaf of ${where(binding)}`);
  if (bytes.length !== layout.leafBytes) {
    throw new DecryptionError(`leaf ${leaf} of ${where(binding)} is ${bytes.length} bytes, every leaf is ${layout.leafBytes}: the stored leaf was changed`);
  }
  const aad = associatedData(binding, LEAF_PART, leaf, headerOf(layout));
  const plaintext = await gcmDecrypt(key, bytes.subarray(0, NONCE_BYTES), aad, bytes.subarray(NONCE_BYTES));
  if (plaintext === undefined) {
    throw new DecryptionError(`leaf ${leaf} of ${where(binding)} failed authentication: it was changed, swapped with another leaf, or belongs to another version`);
  }
  return plaintext;
}

/** Decrypts and decodes one leaf. */
export async function openLeaf(key: IndexKey, routing: SealedRouting, leaf: number, bytes: Uint8Array): Promise<SealedLeaf> {
  return decodeLeafPlaintext(await decryptLeaf(key, routing, leaf, bytes), routing, leaf);
}

// The header bytes are the deterministic encoding of the layout: rebuild them once per layout.
const headers = new WeakMap<SealedLayout, Uint8Array>();

function headerOf(layout: SealedLayout): Uint8Array {
  let header = headers.get(layout);
  if (header === undefined) {
    header = encodeLayout(layout);
    headers.set(layout, header);
  }
  return header;
}
