/**
 * GenKey (paper 5.3.1), the user's side, and what a user searches with: the key request that
 * carries the user's random invertible W to the owner, and the grant the owner sends back,
 * opened and checked against that W into a session (user key, image key, PCA, decoys, token).
 */
import { bytesToBase64 } from '../codec/base64';
import { BlindsightError, UnauthorizedError } from '../core/errors';
import { sha256Hex } from '../crypto/digest';
import { decodeImageKey } from '../crypto/image-envelope';
import type { ImageKey } from '../crypto/types';
import type { VectorSet } from '../linalg/vectors';
import { decodePcaModel } from '../ml/pca-format';
import type { PcaModel } from '../ml/types';
import { decodeIndexKey } from '../sealed/index-key';
import type { IndexKey } from '../sealed/types';
import { decodeUserKey } from '../sei/key-formats';
import { TrapdoorGenerator } from '../sei/trapdoor';
import type { UserKey, UserSecret } from '../sei/types';
import { Cs1Client } from './cs1-client';
import { IndexVerifier } from './index-verifier';
import { isServiceError } from './errors';
import { decodeGrant, FORMAT_VERSION, KEY_REQUEST_FORMAT } from './formats';
import type { Grant, KeyRequest } from './formats';

export const DEFAULT_USER_DIMENSION = 128;

/** The request the owner's enroll step reads: the user's W (so it travels only to the owner). */
export function keyRequestOf(secretBytes: Uint8Array, d: number, now: Date = new Date()): KeyRequest {
  return { format: KEY_REQUEST_FORMAT, version: FORMAT_VERSION, createdAt: now.toISOString(), d, userSecret: bytesToBase64(secretBytes) };
}

/** Everything a user searches with. */
export interface UserSession {
  readonly grant: Grant;
  readonly userKey: UserKey;
  readonly imageKey: ImageKey;
  /** The sealed index's key, when the grant has a sealed index. */
  readonly indexKey?: IndexKey;
  readonly pca: PcaModel;
  readonly decoys: VectorSet;
  readonly trapdoors: TrapdoorGenerator;
}

/** A grant that does not belong to this user's key, or does not fit itself. */
class GrantError extends BlindsightError {}

/**
 * Opens a grant (parsed JSON) for the user whose W is `secret` (`secretBytes` its encoding):
 * checked field by field, against the W it was issued for, and for consistent dimensions.
 */
export async function openGrant(value: unknown, secretBytes: Uint8Array, secret: UserSecret, what: string): Promise<UserSession> {
  const decoded = decodeGrant(value, what);
  const { grant } = decoded;
  if (grant.requestSha256 !== (await sha256Hex(secretBytes))) {
    throw new GrantError('INVALID_INPUT', `${what} was issued for another key request, not for the user key in this home: import it with the --home you ran "user request-key" in`);
  }
  const userKey = decodeUserKey(decoded.userKey);
  if (userKey.d !== grant.sei.d || secret.d !== grant.sei.d) {
    throw new GrantError('MALFORMED_DATA', `${what}: its user key has dimension ${userKey.d}, the index ${grant.sei.d}, your key ${secret.d}`);
  }
  const pca = decodePcaModel(decoded.pca);
  if (pca.components > grant.sei.d || pca.inputDimension !== grant.features.dimension) {
    throw new GrantError('MALFORMED_DATA', `${what}: its PCA (${pca.inputDimension} -> ${pca.components}) does not fit features of ${grant.features.dimension} and d = ${grant.sei.d}`);
  }
  const indexKey = decoded.indexKey !== undefined ? decodeIndexKey(decoded.indexKey) : undefined;
  if (indexKey !== undefined && indexKey.keyId !== grant.sealed?.keyId) {
    throw new GrantError('MALFORMED_DATA', `${what}: its index key is key ${indexKey.keyId}, the grant names ${grant.sealed?.keyId}`);
  }
  return {
    grant,
    userKey,
    imageKey: decodeImageKey(decoded.imageKey),
    ...(indexKey ? { indexKey } : {}),
    pca,
    decoys: { n: decoded.decoys.n, d: decoded.decoys.d, data: decoded.decoys.data },
    trapdoors: new TrapdoorGenerator(userKey, secret),
  };
}

/** A client with the user's token for CS1 at `endpoint`; refuses locally a token that has already expired. */
export function userClient(session: UserSession, endpoint: string, now: Date = new Date()): Cs1Client {
  const expires = Date.parse(session.grant.tokenExpiresAt);
  if (Number.isFinite(expires) && expires <= now.getTime()) {
    throw new UnauthorizedError(`your token expired at ${session.grant.tokenExpiresAt}: ask the owner to enroll you again and import the new grant`);
  }
  // Every version searched is checked against the owner's signature (the grant names the owner,
  // whose id is its key's thumbprint). Single-image updates, made on the owner's token, pass.
  return new Cs1Client({ endpoint, token: session.grant.token, verifier: new IndexVerifier({ unsignedUpdates: 'accept' }) });
}

/** A refused token, said the way a user can act on. */
export function explainRefusal(error: unknown, grant: Grant): unknown {
  if (isServiceError(error) && (error.status === 401 || error.status === 403) && error.serverCode === undefined) {
    return new UnauthorizedError(
      `CS1 refused your token (user "${grant.userId}"): the owner has revoked your access, or the token is no longer valid ` +
        `(it expires ${grant.tokenExpiresAt}); ask the owner for a new grant`,
    );
  }
  return error;
}
