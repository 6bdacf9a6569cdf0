/**
 * Where the page keeps what a user searches with (the grant and the user key it was issued
 * for): in IndexedDB encrypted under a passphrase, or only in this tab's memory.
 *
 * Encryption: PBKDF2-SHA-256 (600,000 iterations, OWASP's 2023 figure, random 16-byte salt)
 * derives a non-extractable AES-256-GCM key; a fresh 12-byte nonce per write; the record's
 * header is the associated data, so a changed iteration count or salt fails to open. All of it
 * is WebCrypto: the passphrase and the derived key never leave the browser's crypto module.
 */
import { BlindsightError } from '../../lib/core/errors';

export const VAULT_FORMAT = 'blindsight-page-vault';
export const VAULT_VERSION = 1;
export const PBKDF2_ITERATIONS = 600_000;
export const MIN_PASSPHRASE_LENGTH = 8;

/** What is kept: the grant as the owner wrote it, and the user's W ("BSUS" bytes). */
export interface StoredAccess {
  readonly grant: unknown;
  readonly secret: Uint8Array;
}

/** A key request made on this page whose grant has not come back yet: only W. */
export interface PendingKey {
  readonly secret: Uint8Array;
}

export interface SealedRecord {
  readonly format: typeof VAULT_FORMAT;
  readonly version: typeof VAULT_VERSION;
  readonly iterations: number;
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** The passphrase does not open the record (or the record was changed). */
export class WrongPassphraseError extends BlindsightError {
  constructor() {
    super('UNAUTHORIZED', 'that passphrase does not unlock the grant stored on this device (or the stored copy was changed): try again, or forget it and import the grant again');
  }
}

const encoder = new TextEncoder();

function headerBytes(iterations: number, salt: Uint8Array): Uint8Array<ArrayBuffer> {
  return encoder.encode(`${VAULT_FORMAT}/${VAULT_VERSION}/${iterations}/${toBase64(salt)}`);
}

function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

async function deriveKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as Uint8Array<ArrayBuffer>, iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Encrypts any JSON-able value (Uint8Array fields as base64) under the passphrase. */
export async function sealValue(value: StoredAccess | PendingKey, passphrase: string, iterations = PBKDF2_ITERATIONS): Promise<SealedRecord> {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new BlindsightError('INVALID_INPUT', `choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters`);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, salt, iterations);
  const plaintext = encoder.encode(JSON.stringify({ ...value, secret: toBase64(value.secret) }));
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: headerBytes(iterations, salt) }, key, plaintext));
  return { format: VAULT_FORMAT, version: VAULT_VERSION, iterations, salt, nonce, ciphertext };
}

/** Decrypts a record; WrongPassphraseError if the passphrase (or the record) is wrong. */
export async function openValue(record: SealedRecord, passphrase: string): Promise<{ grant?: unknown; secret: Uint8Array }> {
  if (record.format !== VAULT_FORMAT || record.version !== VAULT_VERSION) {
    throw new BlindsightError('MALFORMED_DATA', 'the grant stored on this device was written by another version of this page: forget it and import the grant again');
  }
  const key = await deriveKey(passphrase, record.salt, record.iterations);
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: record.nonce as Uint8Array<ArrayBuffer>, additionalData: headerBytes(record.iterations, record.salt) },
      key,
      record.ciphertext as Uint8Array<ArrayBuffer>,
    );
  } catch {
    throw new WrongPassphraseError();
  }
  const value = JSON.parse(new TextDecoder().decode(plaintext)) as { grant?: unknown; secret: string };
  return { ...value, secret: fromBase64(value.secret) };
}

/** Record names in the page's IndexedDB store. */
export type RecordName = 'access' | 'pending-key';

const DB_NAME = 'blindsight';
const STORE = 'vault';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new BlindsightError('UNAVAILABLE', `this browser refused local storage (${request.error?.message ?? 'IndexedDB unavailable'}): keep the grant only for this tab`));
  });
}

async function inStore<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(new BlindsightError('UNAVAILABLE', `local storage failed: ${tx.error?.message ?? 'unknown error'}`));
    });
  } finally {
    db.close();
  }
}

export function saveRecord(name: RecordName, record: SealedRecord): Promise<unknown> {
  return inStore('readwrite', (store) => store.put(record, name));
}

export async function loadRecord(name: RecordName): Promise<SealedRecord | undefined> {
  return (await inStore('readonly', (store) => store.get(name))) as SealedRecord | undefined;
}

export function deleteRecord(name: RecordName): Promise<unknown> {
  return inStore('readwrite', (store) => store.delete(name));
}
