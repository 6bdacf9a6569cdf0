/**
 * SecretStore on AWS Secrets Manager, for CS2's account: secret `${prefix}${keyId}` holds the
 * key material as SecretBinary (encrypted by Secrets Manager with the configured KMS key).
 * Values read are kept in memory for `maxAgeSeconds` (a LoadingCache bounded in bytes, which
 * also lets concurrent reads of one key share a call), so a warm Lambda does not call Secrets
 * Manager on every request. Values are never logged and never part of an error message.
 *
 * Secrets Manager holds at most 65,536 bytes per secret, and a SEAL secret key at N = 8192 is
 * about 262 KB, so larger material is split: parts `${name}/part-<i>` are written first, then
 * `${name}` itself with a small manifest (part count, length, SHA-256), so a reader never finds a
 * manifest whose parts are missing, and a torn or mixed read fails the digest check.
 */
import { createHash } from 'node:crypto';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, ResourceExistsException } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SETTINGS } from '../config/settings';
import { InvalidInputError, MalformedDataError, NotFoundError, UnavailableError } from '../core/errors';
import { LoadingCache } from '../core/loading-cache';
import type { SecretStore } from './types';
import { parseKeyId } from '../core/ids';

export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;
/** Bytes of secrets kept in memory (a SEAL secret key at N = 8192 is about 262 KB). */
const SECRET_CACHE_BYTES = 64 * 1024 * 1024;
/** Largest part stored in one secret (Secrets Manager's limit is 65,536 bytes). */
export const SECRET_PART_BYTES = 60_000;
const MANIFEST_MAGIC = 'BSSP';
const MANIFEST_BYTES = 4 + 4 + 4 + 32;

export interface SecretsManagerStoreOptions {
  readonly client: SecretsManagerClient;
  /** Prepended to the key id: Secrets Manager name characters only. Default "blindsight/cs2/". */
  readonly prefix?: string;
  /** How long a read value is cached in memory. Default 300 s. */
  readonly maxAgeSeconds?: number;
  /** KMS key for newly created secrets (default: the account's aws/secretsmanager key). */
  readonly kmsKeyId?: string;
}

export class SecretsManagerStore implements SecretStore {
  private readonly client: SecretsManagerClient;
  private readonly cache: LoadingCache<string, Uint8Array>;
  private readonly prefix: string;
  private readonly kmsKeyId?: string;

  constructor(options: SecretsManagerStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? SETTINGS.cs2SecretPrefix.default;
    if (!/^[A-Za-z0-9/_+=.@-]{0,256}$/.test(this.prefix)) {
      throw new InvalidInputError('secret prefix may only use A-Z a-z 0-9 / _ + = . @ -');
    }
    const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
    if (!Number.isInteger(maxAge) || maxAge < 0) throw new InvalidInputError('maxAgeSeconds must be a non-negative integer');
    this.kmsKeyId = options.kmsKeyId;
    this.cache = new LoadingCache({ maxSize: SECRET_CACHE_BYTES, sizeOf: (bytes) => bytes.byteLength, ttlMs: maxAge * 1000 });
  }

  /** The Secrets Manager name of a key id. */
  secretName(keyId: string): string {
    parseKeyId(keyId);
    return `${this.prefix}${keyId}`;
  }

  async get(keyId: string): Promise<Uint8Array> {
    const name = this.secretName(keyId);
    return this.cache.get(name, () => this.read(keyId, name));
  }

  private async read(keyId: string, name: string): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await this.readSecret(name);
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(`no secret with key id "${keyId}" in Secrets Manager (${name}): import it first`);
      if (error instanceof MalformedDataError) throw error;
      // The SDK's message describes the service error, never the value.
      throw new UnavailableError(`could not read secret ${name} from Secrets Manager: retry later`, { cause: error });
    }
    return isManifest(bytes) ? this.readParts(name, bytes) : bytes;
  }

  /** One secret's current value as bytes. */
  private async readSecret(name: string): Promise<Uint8Array> {
    const output = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
    return toBytes(name, output.SecretBinary ?? output.SecretString);
  }

  private async readParts(name: string, manifest: Uint8Array): Promise<Uint8Array> {
    const view = new DataView(manifest.buffer, manifest.byteOffset, manifest.byteLength);
    const parts = view.getUint32(4, true);
    const length = view.getUint32(8, true);
    if (parts < 1 || length > parts * SECRET_PART_BYTES) throw new MalformedDataError(`secret ${name}`, 'its part manifest is inconsistent');
    const out = new Uint8Array(length);
    let at = 0;
    for (let i = 0; i < parts; i++) {
      const partName = `${name}/part-${i}`;
      let part: Uint8Array;
      try {
        part = await this.readSecret(partName);
      } catch (error) {
        if (error instanceof MalformedDataError) throw error;
        throw new UnavailableError(`could not read secret part ${partName} from Secrets Manager: retry later or import the key again`, { cause: error });
      }
      if (at + part.length > length) throw new MalformedDataError(`secret ${name}`, 'its parts are longer than the manifest says');
      out.set(part, at);
      at += part.length;
    }
    const digest = createHash('sha256').update(out).digest();
    if (at !== length || !digest.equals(Buffer.from(manifest.subarray(12, 44)))) {
      throw new MalformedDataError(`secret ${name}`, 'its parts do not match the manifest (torn import?): import the key again');
    }
    return out;
  }

  async put(keyId: string, bytes: Uint8Array): Promise<void> {
    const name = this.secretName(keyId);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new InvalidInputError('a secret must be a non-empty byte array');
    if (bytes.length <= SECRET_PART_BYTES && !isManifest(bytes)) {
      await this.write(name, bytes);
    } else {
      const parts = Math.ceil(bytes.length / SECRET_PART_BYTES);
      for (let i = 0; i < parts; i++) {
        await this.write(`${name}/part-${i}`, bytes.subarray(i * SECRET_PART_BYTES, (i + 1) * SECRET_PART_BYTES));
      }
      const manifest = new Uint8Array(MANIFEST_BYTES);
      manifest.set(Buffer.from(MANIFEST_MAGIC, 'ascii'));
      const view = new DataView(manifest.buffer);
      view.setUint32(4, parts, true);
      view.setUint32(8, bytes.length, true);
      manifest.set(createHash('sha256').update(bytes).digest(), 12);
      await this.write(name, manifest);
    }
    // The cache could hold the old value.
    this.cache.delete(name);
  }

  /** Creates the secret, or adds a new version if it exists. */
  private async write(name: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: name,
          SecretBinary: bytes,
          KmsKeyId: this.kmsKeyId,
          Description: 'Blindsight CS2 secret key material',
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretBinary: bytes }));
    }
  }
}

/** The stored value as bytes (SecretBinary, or base64 in SecretString when stored by hand). */
function toBytes(name: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
      throw new MalformedDataError(`secret ${name}`, 'SecretString is not base64; store the key as SecretBinary');
    }
    return new Uint8Array(Buffer.from(value, 'base64'));
  }
  throw new MalformedDataError(`secret ${name}`, 'it holds neither SecretBinary nor SecretString');
}

function isManifest(bytes: Uint8Array): boolean {
  return bytes.length === MANIFEST_BYTES && Buffer.from(bytes.subarray(0, 4)).toString('ascii') === MANIFEST_MAGIC;
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === 'ResourceNotFoundException';
}
