/**
 * GenKey (paper 5.3.1), the owner's side: from the user's key request (their random W), the
 * user key Abar = A W^-1 and U, and a grant carrying it with the image key, the sealed index's
 * key (when the build has a sealed index), the PCA of the
 * build, a decoy pool, the endpoint, the identification index reference and a user token
 * signed by the owner. The user is added (or re-activated) at CS1 first.
 */
import { issueToken } from '../auth/tokens';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../auth/types';
import { bytesToBase64 } from '../codec/base64';
import { InvalidInputError } from '../core/errors';
import { sha256Hex } from '../crypto/digest';
import { encodeImageKey } from '../crypto/image-envelope';
import { decodeUserSecret, encodeUserKey } from '../sei/key-formats';
import { issueUserKey } from '../sei/user-key';
import { CS1_AUDIENCE } from '../service/accounts/token-authorizer';
import type { Cs1Client } from './cs1-client';
import { FORMAT_VERSION, GRANT_FORMAT } from './formats';
import type { Grant, KeyRequest } from './formats';
import type { IndexManifest, Owner } from './owner-state';
import type { UserRecord } from './types';
import type { UserId, VersionId } from '../core/ids';

export const DEFAULT_TOKEN_DAYS = 30;
const DAY_SECONDS = 24 * 60 * 60;

export interface EnrollInput {
  readonly owner: Owner;
  /** A client with an owner token. */
  readonly client: Cs1Client;
  readonly userId: UserId;
  readonly request: KeyRequest;
  /** The W bytes of the request (decoded). */
  readonly userSecret: Uint8Array;
  /** The build the grant is for: its manifest, PCA and decoy pool. */
  readonly manifest: IndexManifest;
  readonly pca: Uint8Array;
  readonly decoys: Uint8Array;
  /** The build's index key (encodeIndexKey), required when the build has a sealed index. */
  readonly indexKey?: Uint8Array;
  /** The endpoint users reach CS1 at (written into the grant). */
  readonly endpoint: string;
  /** Lifetime of the user's token in days (1..30). */
  readonly tokenDays?: number;
  /** The SEI version published from this build, when it was: users are warned once another build serves. */
  readonly publishedVersion?: VersionId;
  readonly now?: Date;
}

export interface Enrollment {
  readonly grant: Grant;
  readonly record: UserRecord;
  readonly tokenExpiresAt: string;
}

export async function enrollUser(input: EnrollInput): Promise<Enrollment> {
  const { owner, manifest } = input;
  const days = input.tokenDays ?? DEFAULT_TOKEN_DAYS;
  const maxDays = MAX_TOKEN_LIFETIME_SECONDS.user / DAY_SECONDS;
  if (!Number.isInteger(days) || days < 1 || days > maxDays) throw new InvalidInputError(`--token-days must be an integer from 1 to ${maxDays}`);
  if (input.request.d !== owner.config.d) {
    throw new InvalidInputError(
      `the key request was made for dimension ${input.request.d}, but this owner's index uses d = ${owner.config.d}: ` +
        `the user must run "blindsight user request-key --dimension ${owner.config.d}"`,
    );
  }
  if (manifest.sealed !== undefined && input.indexKey === undefined) throw new InvalidInputError('the build has a sealed index: its index key must go into the grant');
  const userKey = issueUserKey(owner.seiSecret, decodeUserSecret(input.userSecret).W);

  const record = await input.client.putUser(owner.config.ownerId, input.userId);
  const now = input.now ?? new Date();
  const token = await issueToken(owner.signingKey, {
    ownerId: owner.config.ownerId,
    role: 'user',
    userId: input.userId,
    expiresInSeconds: days * DAY_SECONDS,
    audience: CS1_AUDIENCE,
    now,
  });
  const tokenExpiresAt = new Date(now.getTime() + days * DAY_SECONDS * 1000).toISOString();
  const d = owner.config.d;
  const grant: Grant = {
    format: GRANT_FORMAT,
    version: FORMAT_VERSION,
    issuedAt: now.toISOString(),
    ownerId: owner.config.ownerId,
    userId: input.userId,
    endpoint: input.endpoint,
    token,
    tokenExpiresAt,
    requestSha256: await sha256Hex(input.userSecret),
    features: manifest.features,
    pca: bytesToBase64(input.pca),
    sei: {
      ...(manifest.sei ? { indexName: manifest.sei.indexName } : {}),
      d,
      userKey: bytesToBase64(encodeUserKey(userKey)),
      ...(input.publishedVersion !== undefined ? { publishedVersion: input.publishedVersion } : {}),
    },
    ...(manifest.sealed && input.indexKey ? { sealed: { indexName: manifest.sealed.indexName, keyId: manifest.sealed.keyId, indexKey: bytesToBase64(input.indexKey) } } : {}),
    imageKey: bytesToBase64(encodeImageKey(owner.imageKey)),
    decoys: { n: input.decoys.length / (8 * d), d, data: bytesToBase64(input.decoys) },
    ...(manifest.twoServer
      ? {
          twoServer: {
            indexName: manifest.twoServer.indexName,
            embedding: manifest.twoServer.embedding,
            decimals: manifest.twoServer.decimals,
            maxAbs: manifest.twoServer.maxAbs,
            backend: manifest.twoServer.backend,
            keyId: manifest.twoServer.keyId,
            publicMaterialSha256: manifest.twoServer.publicMaterialSha256,
            defaultQuery: manifest.twoServer.defaultQuery,
          },
        }
      : {}),
  };
  return { grant, record, tokenExpiresAt };
}
