/**
 * Owner-issued tokens: compact JWS (JWT) signed with the owner's Ed25519 key, alg "EdDSA".
 *
 * Claims: iss = owner id, sub = owner id (role "owner") or user id (role "user"), aud, iat,
 * nbf, exp, jti, and the private claim "role". The verifier trusts nothing in the token before
 * the signature is checked against the key registered for `iss`: the algorithm is pinned to
 * EdDSA (so "none" or HMAC tricks cannot work), the key comes from the registry (never from a
 * `jwk`/`jku` header), and users are looked up in the registry on every call, so revocation
 * takes effect on the next request. Each failure has its own message so callers know what to
 * fix; no message contains the token, a key or a claim other than ids and times.
 *
 * Re-activating a revoked user must not revive the tokens it held before: a user token is
 * accepted only if it was issued after the user's latest revocation. `iat` therefore carries
 * milliseconds (RFC 7519 NumericDate may be fractional): whole seconds would make a token
 * issued in the same second as the revocation ambiguous, and a rule that refuses it would fail
 * an owner who revokes, re-adds and issues a new token within one second. The comparison is
 * between the owner's clock (iat) and CS1's (the revocation time); see the threat model.
 */
import { decodeJwt, decodeProtectedHeader, errors, importJWK, jwtVerify, SignJWT } from 'jose';
import type { CryptoKey, JWTPayload } from 'jose';
import { randomBytes } from 'node:crypto';
import { LoadingCache } from '../core/loading-cache';
import { InvalidInputError, UnauthorizedError } from '../core/errors';
import { isOwnerId, parseOwnerId, parseUserId } from '../core/ids';
import type { OwnerId, UserId } from '../core/ids';
import { ownerIdOf } from './owner-id';
import { assertEd25519PrivateJwk, assertEd25519PublicJwk, publicJwkOf } from './signing-key';
import { MAX_TOKEN_LIFETIME_SECONDS } from './types';
import type { Ed25519PrivateJwk, Ed25519PublicJwk, IssueTokenOptions, TokenRole, UserStanding, VerifiedToken, VerifyTokenOptions } from './types';

export const TOKEN_ALGORITHM = 'EdDSA';
/** Tokens longer than this are refused unparsed (ours are ~400 characters). */
export const MAX_TOKEN_LENGTH = 4096;
const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function isRole(value: unknown): value is TokenRole {
  return value === 'owner' || value === 'user';
}

function assertAudience(audience: unknown): asserts audience is string {
  if (typeof audience !== 'string' || audience.length === 0 || audience.length > 256) {
    throw new InvalidInputError('audience must be a non-empty string of at most 256 characters');
  }
}

/** Signs a token for the owner itself or for one of its users. */
export async function issueToken(privateJwk: Ed25519PrivateJwk, options: IssueTokenOptions): Promise<string> {
  assertEd25519PrivateJwk(privateJwk);
  const { role, expiresInSeconds, audience } = options;
  const ownerId = parseOwnerId(options.ownerId);
  if (!isRole(role)) throw new InvalidInputError('role must be "owner" or "user"');
  assertAudience(audience);
  const max = MAX_TOKEN_LIFETIME_SECONDS[role];
  if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > max) {
    throw new InvalidInputError(`expiresInSeconds must be an integer in [1, ${max}] for ${role} tokens`);
  }
  const userId = role === 'user' ? parseUserId(options.userId) : undefined;
  if (role === 'owner' && options.userId !== undefined) throw new InvalidInputError('owner tokens carry no userId; use role "user" for a user');
  if ((await ownerIdOf(publicJwkOf(privateJwk))) !== ownerId) {
    throw new InvalidInputError('ownerId is not the fingerprint of this signing key: use ownerIdOf(publicJwk)');
  }
  let key: CryptoKey;
  try {
    key = (await importJWK(privateJwk, TOKEN_ALGORITHM)) as CryptoKey;
  } catch {
    // No cause: the underlying error could describe the key.
    throw new InvalidInputError('the signing key could not be imported as an Ed25519 private key');
  }
  const issuedAtMs = (options.now ?? new Date()).getTime();
  const issuedAt = Math.floor(issuedAtMs / 1000);
  return new SignJWT({ role })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT', kid: ownerId })
    .setIssuer(ownerId)
    .setSubject(userId ?? ownerId)
    .setAudience(audience)
    .setIssuedAt(issuedAtMs / 1000)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + expiresInSeconds)
    .setJti(randomBytes(16).toString('base64url'))
    .sign(key);
}

/** Extracts the token from an `Authorization: Bearer <token>` header value (undefined if absent or empty). */
export function bearerToken(authorizationHeader: string | undefined | null): string | undefined {
  if (authorizationHeader === undefined || authorizationHeader === null || authorizationHeader.trim() === '') return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorizationHeader);
  if (match === null) {
    throw new UnauthorizedError('malformed Authorization header: expected "Bearer <token>"');
  }
  return match[1];
}

/** Imported public keys by their x value: importing is cheap, but a warm Lambda need not repeat it. */
const keyCache = new LoadingCache<string, CryptoKey>({ maxSize: 1000 });

function importPublicKey(jwk: Ed25519PublicJwk, ownerId: OwnerId): Promise<CryptoKey> {
  return keyCache.get(jwk.x, async () => {
    try {
      return (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, TOKEN_ALGORITHM)) as CryptoKey;
    } catch {
      throw new UnauthorizedError(`the registered key of owner ${ownerId} is not a usable Ed25519 key`);
    }
  });
}

const malformed = (detail: string) =>
  new UnauthorizedError(`malformed token: ${detail}; send a compact JWT signed by the owner (header.claims.signature)`);

interface UnverifiedToken {
  readonly ownerId: OwnerId;
  readonly role: TokenRole;
}

/** Structure, algorithm and issuer checks that need no key (and no trust in the claims). */
function inspectUnverified(token: string): UnverifiedToken {
  if (token.length > MAX_TOKEN_LENGTH) throw malformed(`longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!COMPACT_JWS.test(token)) throw malformed('expected three base64url parts separated by dots');
  let alg: unknown;
  let claims: JWTPayload;
  try {
    alg = decodeProtectedHeader(token).alg;
    claims = decodeJwt(token);
  } catch {
    throw malformed('the header or claims are not base64url-encoded JSON objects');
  }
  if (alg !== TOKEN_ALGORITHM) {
    const shown = typeof alg === 'string' ? `"${alg.slice(0, 20)}"` : 'missing';
    throw new UnauthorizedError(`token algorithm ${shown} is not accepted: tokens must be signed with EdDSA (Ed25519)`);
  }
  if (!isOwnerId(claims.iss)) throw malformed('claim "iss" must be the owner id');
  if (!isRole(claims.role)) throw malformed('claim "role" must be "owner" or "user"');
  return { ownerId: claims.iss, role: claims.role };
}

function isoOf(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : 'an invalid time';
}

/** Maps jose's verification errors onto distinct, actionable messages. */
function verificationFailure(error: unknown, ownerId: string, audience: string): UnauthorizedError {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new UnauthorizedError(`token signature is invalid: it was not signed by the registered key of owner ${ownerId}`);
  }
  if (error instanceof errors.JWTExpired) {
    if (error.claim === 'iat') return new UnauthorizedError('token was issued too long ago: ask the owner for a new token');
    return new UnauthorizedError(`token expired at ${isoOf(error.payload.exp)}: ask the owner for a new token`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return new UnauthorizedError(`token is not valid before ${isoOf(error.payload.nbf)}: check the clocks or wait`);
      case 'iat':
        return error.reason === 'missing' || error.reason === 'invalid'
          ? malformed('claim "iat" is missing or not a number')
          : new UnauthorizedError(`token is not yet valid: issued in the future (${isoOf(error.payload.iat)})`);
      case 'aud':
        return new UnauthorizedError(`token audience does not match: this service accepts only audience "${audience}"`);
      case 'iss':
        return malformed('claim "iss" does not name the owner');
      default:
        return malformed(`claim "${error.claim}" is ${error.reason === 'missing' ? 'missing' : 'invalid'}`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new UnauthorizedError('token algorithm is not accepted: tokens must be signed with EdDSA (Ed25519)');
  }
  if (error instanceof errors.JOSEError) return malformed(error.code);
  return malformed('it could not be verified');
}

/**
 * Verifies a token and returns whom it speaks for, or throws UnauthorizedError saying why not.
 * Owner keys and user status are resolved through the given callbacks (the registries).
 */
export async function verifyToken(token: string | undefined | null, options: VerifyTokenOptions): Promise<VerifiedToken> {
  assertAudience(options.audience);
  if (token === undefined || token === null || token.trim() === '') {
    throw new UnauthorizedError('missing token: send "Authorization: Bearer <token>" with a token issued by the owner');
  }
  const { ownerId, role } = inspectUnverified(token);

  const publicJwk = await options.resolveOwnerKey(ownerId);
  if (publicJwk === undefined) {
    throw new UnauthorizedError(`unknown owner: ${ownerId} is not registered; the owner must register its public key first`);
  }
  assertEd25519PublicJwk(publicJwk, 'registered owner key');
  const key = await importPublicKey(publicJwk, ownerId);

  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const maxLifetime = MAX_TOKEN_LIFETIME_SECONDS[role];
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [TOKEN_ALGORITHM],
      audience: options.audience,
      issuer: ownerId,
      clockTolerance: tolerance,
      // Also makes jose require iat and refuse an iat in the future.
      maxTokenAge: maxLifetime + tolerance,
      requiredClaims: ['exp', 'iat', 'sub'],
      currentDate: options.currentDate,
    }));
  } catch (error) {
    throw verificationFailure(error, ownerId, options.audience);
  }

  const exp = payload.exp as number;
  const iat = payload.iat as number;
  const issuedAt = new Date(Math.round(iat * 1000));
  if (exp - iat > maxLifetime) {
    throw new UnauthorizedError(
      `token lifetime ${exp - iat} s exceeds the maximum of ${maxLifetime} s for ${role} tokens: ask the owner for a shorter-lived token`,
    );
  }
  const expiresAt = new Date(exp * 1000);
  const tokenId = typeof payload.jti === 'string' ? payload.jti : undefined;

  if (role === 'owner') {
    if (payload.sub !== ownerId) throw malformed('an owner token\'s "sub" must equal its "iss"');
    return { ownerId, role, expiresAt, issuedAt, tokenId };
  }
  let userId: UserId;
  try {
    userId = parseUserId(payload.sub);
  } catch {
    throw malformed('claim "sub" is not a valid user id');
  }
  assertUserMayUseToken(ownerId, userId, issuedAt, await options.resolveUser(ownerId, userId));
  return { ownerId, role, userId, expiresAt, issuedAt, tokenId };
}

/**
 * The registry's verdict on a user whose token verified: UnauthorizedError unless the owner has
 * the user registered and active, and the token was issued after the user's latest revocation.
 * Exported for verifiers that cache signature checks but must still ask the registry on every
 * request.
 */
export function assertUserMayUseToken(ownerId: OwnerId, userId: UserId, issuedAt: Date, user: UserStanding | undefined): void {
  if (user === undefined) {
    throw new UnauthorizedError(`user "${userId}" is not registered with owner ${ownerId}: the owner must add the user first`);
  }
  if (user.status !== 'active') {
    throw new UnauthorizedError(`user "${userId}" has been revoked by owner ${ownerId}`);
  }
  if (user.revokedAt !== undefined && issuedAt.getTime() <= user.revokedAt.getTime()) {
    throw new UnauthorizedError(
      `token was issued at ${issuedAt.toISOString()}, before user "${userId}" was last revoked (${user.revokedAt.toISOString()}); ` +
        're-activation admits only tokens issued after it: ask the owner for a new token',
    );
  }
}
