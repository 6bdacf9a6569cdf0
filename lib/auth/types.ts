/**
 * Types of Blindsight's token authentication. An owner holds an Ed25519 signing key whose
 * public half is registered with CS1; the owner id is the key's fingerprint, so nobody can
 * register an id that belongs to someone else's key. The owner signs short-lived tokens for
 * itself (role "owner") and for its users (role "user"); CS1 verifies them against the
 * registered key and, for users, against the owner's user registry on every request.
 */

import type { OwnerId, UserId } from '../core/ids';

/** Public half of an owner signing key (RFC 8037 OKP JWK, curve Ed25519). */
export interface Ed25519PublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  /** base64url of the 32-byte public key. */
  readonly x: string;
}

/** The owner's private signing key. Never logged, never sent, never part of an error. */
export interface Ed25519PrivateJwk extends Ed25519PublicJwk {
  /** base64url of the 32-byte private seed. */
  readonly d: string;
}

export interface OwnerSigningKey {
  readonly privateJwk: Ed25519PrivateJwk;
  readonly publicJwk: Ed25519PublicJwk;
}

export type TokenRole = 'owner' | 'user';

/** Status of a user in the owner's registry. */
export type UserStatus = 'active' | 'revoked';

/** What the verifier needs to know about a user from the owner's registry. */
export interface UserStanding {
  readonly status: UserStatus;
  /**
   * The user's latest revocation, if it was ever revoked. Tokens issued at or before it stay
   * refused after a re-activation: re-activating a user lets in only tokens issued afterwards.
   */
  readonly revokedAt?: Date;
}

export interface IssueTokenOptions {
  /** Must be the fingerprint of the signing key (checked, so a token can never name another owner). */
  readonly ownerId: string;
  readonly role: TokenRole;
  /** Required for role "user", forbidden for role "owner". */
  readonly userId?: string;
  /** Lifetime; at most {@link MAX_TOKEN_LIFETIME_SECONDS} for the role. */
  readonly expiresInSeconds: number;
  /** The service the token is for (e.g. "blindsight-cs1"); the verifier requires the same. */
  readonly audience: string;
  /** Issue time; default now. Kept to the millisecond in iat (see tokens.ts). */
  readonly now?: Date;
}

export interface VerifyTokenOptions {
  /** The registered public key of an owner, or undefined for an unknown owner. */
  readonly resolveOwnerKey: (ownerId: OwnerId) => Promise<Ed25519PublicJwk | undefined>;
  /** The user's standing in the owner's registry, or undefined if the owner never registered it. */
  readonly resolveUser: (ownerId: OwnerId, userId: UserId) => Promise<UserStanding | undefined>;
  /** This service's audience; tokens for any other audience are refused. */
  readonly audience: string;
  /** Allowed clock skew for exp / nbf / iat. Default 30 s. */
  readonly clockToleranceSeconds?: number;
  /** Verification time; default now. */
  readonly currentDate?: Date;
}

/** Who a verified token speaks for. */
export interface VerifiedToken {
  readonly ownerId: OwnerId;
  readonly role: TokenRole;
  /** Set for role "user". */
  readonly userId?: UserId;
  readonly expiresAt: Date;
  /** The token's iat (millisecond precision for tokens issued by issueToken). */
  readonly issuedAt: Date;
  /** The token's jti, for audit logs (not secret). */
  readonly tokenId?: string;
}

/** Largest lifetime a token of each role may have (checked on issue and on verify). */
export const MAX_TOKEN_LIFETIME_SECONDS: Readonly<Record<TokenRole, number>> = {
  // Owners can always sign a fresh token, so their own tokens stay short.
  owner: 24 * 60 * 60,
  user: 30 * 24 * 60 * 60,
};
