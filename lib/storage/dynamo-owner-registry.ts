/**
 * OwnerRegistry on DynamoDB: one item per owner (pk OWNER#<ownerId>, sk PROFILE). The first
 * registration is a conditional put (attribute_not_exists), so two racing registrations of one
 * id cannot both win; a repeat with the same key is answered with the stored record.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { assertEd25519PublicJwk } from '../auth/signing-key';
import type { Ed25519PublicJwk } from '../auth/types';
import { ConflictError, InvalidInputError, MalformedDataError } from '../core/errors';
import { isConditionalCheckFailed } from './dynamo-errors';
import { ownerKey } from './dynamo-keys';
import type { OwnerRecord, OwnerRegistry, RegisterOwnerResult } from './types';
import type { OwnerId } from '../core/ids';

export interface DynamoTableOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * Sends the reads made on every request (raw GetItem); default `client`, which accepts raw
   * commands too. The services pass a client with a cached middleware stack (config.ts).
   */
  readonly readClient?: Pick<DynamoDBClient, 'send'>;
}

function toRecord(ownerId: OwnerId, item: Record<string, unknown>): OwnerRecord {
  const jwk = item.publicKeyJwk;
  try {
    assertEd25519PublicJwk(jwk, 'stored owner key');
  } catch {
    throw new MalformedDataError(`owner record ${ownerId}`, 'the stored public key is not an Ed25519 JWK');
  }
  if (typeof item.createdAt !== 'string') throw new MalformedDataError(`owner record ${ownerId}`, 'createdAt is missing');
  return { ownerId, publicKeyJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, createdAt: item.createdAt };
}

export class DynamoOwnerRegistry implements OwnerRegistry {
  constructor(private readonly options: DynamoTableOptions) {}

  async register(ownerId: OwnerId, publicKeyJwk: Ed25519PublicJwk, createdAt: Date): Promise<RegisterOwnerResult> {
    const key = ownerKey(ownerId);
    assertEd25519PublicJwk(publicKeyJwk);
    if (!(createdAt instanceof Date) || Number.isNaN(createdAt.getTime())) throw new InvalidInputError('createdAt must be a valid Date');
    // Keep only the members that define the key, so comparisons and thumbprints are stable.
    const jwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: publicKeyJwk.x };
    const record: OwnerRecord = { ownerId, publicKeyJwk: jwk, createdAt: createdAt.toISOString() };
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: { ...key, type: 'owner', ownerId, publicKeyJwk: jwk, createdAt: record.createdAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { owner: record, created: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const existing = await this.get(ownerId);
    if (existing === undefined) {
      // Only possible if the item was deleted between the two calls.
      throw new ConflictError(`owner ${ownerId} changed while registering: retry the registration`);
    }
    if (existing.publicKeyJwk.x !== jwk.x) {
      throw new ConflictError(
        `owner ${ownerId} is already registered with a different public key: an owner id is the fingerprint of its key, ` +
          'so register under the id derived from your key (ownerIdOf)',
      );
    }
    return { owner: existing, created: false };
  }

  async get(ownerId: OwnerId): Promise<OwnerRecord | undefined> {
    const response = await this.options.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: ownerKey(ownerId), ConsistentRead: true }),
    );
    return response.Item === undefined ? undefined : toRecord(ownerId, response.Item);
  }
}
