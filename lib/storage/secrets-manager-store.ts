/**
 * SecretStore on AWS Secrets Manager, for CS2's account: secret `${prefix}${keyId}` holds the
 * key material as SecretBinary (encrypted by Secrets Manager with the configured KMS key).
 * Reads go through Powertools' SecretsProvider, which caches each value in memory for
 * `maxAgeSeconds`, so a warm Lambda does not call Secrets Manager on every request. Values are
 * never logged and never part of an error message.
 */
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException } from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterError, ParameterNotFoundError } from '@aws-lambda-powertools/parameters/errors';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { InvalidInputError, MalformedDataError, NotFoundError, UnavailableError } from '../core/errors';
import { assertKeyId } from './identifiers';
import type { SecretStore } from './types';

export const DEFAULT_SECRET_PREFIX = 'blindsight/cs2/';
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

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
  private readonly provider: SecretsProvider;
  private readonly prefix: string;
  private readonly maxAge: number;
  private readonly kmsKeyId?: string;

  constructor(options: SecretsManagerStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? DEFAULT_SECRET_PREFIX;
    if (!/^[A-Za-z0-9/_+=.@-]{0,256}$/.test(this.prefix)) {
      throw new InvalidInputError('secret prefix may only use A-Z a-z 0-9 / _ + = . @ -');
    }
    this.maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
    if (!Number.isInteger(this.maxAge) || this.maxAge < 0) throw new InvalidInputError('maxAgeSeconds must be a non-negative integer');
    this.kmsKeyId = options.kmsKeyId;
    this.provider = new SecretsProvider({ awsSdkV3Client: this.client });
  }

  /** The Secrets Manager name of a key id. */
  secretName(keyId: string): string {
    assertKeyId(keyId);
    return `${this.prefix}${keyId}`;
  }

  async get(keyId: string): Promise<Uint8Array> {
    const name = this.secretName(keyId);
    let value: unknown;
    try {
      value = await this.provider.get(name, { maxAge: this.maxAge, throwOnMissing: true });
    } catch (error) {
      if (error instanceof ParameterNotFoundError || (error instanceof GetParameterError && isNotFound(error.cause))) {
        throw new NotFoundError(`no secret with key id "${keyId}" in Secrets Manager (${name}): import it first`);
      }
      // The provider's message comes from the SDK (service errors), never from the value.
      throw new UnavailableError(`could not read secret ${name} from Secrets Manager: retry later`, { cause: error });
    }
    if (value instanceof Uint8Array) return value;
    if (typeof value === 'string') {
      // Stored by hand as SecretString: accept base64 of the bytes.
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
        throw new MalformedDataError(`secret ${name}`, 'SecretString is not base64; store the key as SecretBinary');
      }
      return new Uint8Array(Buffer.from(value, 'base64'));
    }
    throw new MalformedDataError(`secret ${name}`, 'it holds neither SecretBinary nor SecretString');
  }

  async put(keyId: string, bytes: Uint8Array): Promise<void> {
    const name = this.secretName(keyId);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new InvalidInputError('a secret must be a non-empty byte array');
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
    // The cache could hold the old value for this name.
    this.provider.clearCache();
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === 'ResourceNotFoundException';
}
