/**
 * Byte-format pieces both backends share. Every record, query and batch starts with the same
 * 14-byte header (magic 4, version u16, key id 8), so a record of another key is named as such
 * before its payload is parsed; a batch then holds a u32 count of fixed-size ciphertexts.
 * Materials (public, evaluation, secret, provider) have each backend's own header, after a
 * two-letter magic prefix that says which backend wrote them (./backends).
 */
import { randomBytes } from 'node:crypto';
import { DecryptionError, InvalidInputError } from '../core/errors';
import { BinaryReader, BinaryWriter } from '../codec/binary';

/** Key ids are 8 random bytes, shown as 16 hex characters. */
export const KEY_ID_BYTES = 8;
/** magic (4) + version (2) + key id (8). */
export const KEYED_HEADER_BYTES = 14;

export function newKeyId(): string {
  return randomBytes(KEY_ID_BYTES).toString('hex');
}

export function writeKeyId(writer: BinaryWriter, keyId: string): void {
  writer.bytes(Buffer.from(keyId, 'hex'));
}

export function readKeyId(reader: BinaryReader): string {
  return Buffer.from(reader.bytes(KEY_ID_BYTES, 'key id')).toString('hex');
}

/** A writer with the keyed header written, sized for `payloadBytes` more. */
export function keyedWriter(magic: string, version: number, keyId: string, payloadBytes: number): BinaryWriter {
  const writer = new BinaryWriter(KEYED_HEADER_BYTES + payloadBytes);
  writer.header(magic, version);
  writeKeyId(writer, keyId);
  return writer;
}

/**
 * Opens a fixed-size record or query: checks the header and the payload size, then that it
 * belongs to `keyId` (InvalidInputError naming both ids). Returns the reader at the payload.
 * The key id is checked before the payload is parsed: another key's ciphertexts may fail the
 * payload's own checks with a misleading "malformed" error.
 */
export function openKeyed(bytes: Uint8Array, magic: string, version: number, what: string, payloadBytes: number, keyId: string): BinaryReader {
  const reader = new BinaryReader(bytes, what);
  reader.header(magic, [version]);
  const found = readKeyId(reader);
  if (reader.remaining !== payloadBytes) reader.fail(`expected ${payloadBytes} ciphertext bytes, found ${reader.remaining}`);
  if (found !== keyId) {
    throw new InvalidInputError(`${what} was encrypted under another key (key id ${found}, expected ${keyId})`);
  }
  return reader;
}

/** A batch writer: keyed header and the count, sized for `count` ciphertexts of `ciphertextBytes`. */
export function batchWriter(magic: string, version: number, keyId: string, count: number, ciphertextBytes: number): BinaryWriter {
  return keyedWriter(magic, version, keyId, 4 + count * ciphertextBytes).u32(count);
}

/**
 * Opens a batch at CS2: header, a count of at least one ciphertext of exactly `ciphertextBytes`
 * each and nothing after them (MalformedDataError), made for `keyId` (DecryptionError: CS2
 * holds another key). Returns the reader at the first ciphertext and the count.
 */
export function openBatch(
  bytes: Uint8Array,
  magic: string,
  version: number,
  what: string,
  ciphertextBytes: number,
  keyId: string,
): { reader: BinaryReader; count: number } {
  const reader = new BinaryReader(bytes, what);
  reader.header(magic, [version]);
  const found = readKeyId(reader);
  const count = reader.u32InRange('ciphertext count', 1, Math.floor(reader.remaining / ciphertextBytes));
  if (reader.remaining !== count * ciphertextBytes) reader.fail(`${reader.remaining - count * ciphertextBytes} unexpected trailing bytes`);
  if (found !== keyId) {
    throw new DecryptionError('the distance batch was made for another key; check which CS2 secret is deployed');
  }
  return { reader, count };
}
