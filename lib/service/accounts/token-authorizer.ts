/**
 * Who is calling CS1: verifies the bearer token of a request against the owner's registered
 * key (lib/auth/tokens.ts) and, for user tokens, the owner's user registry, read on every
 * request (strongly consistent) so a revocation takes effect on the next one, and a token
 * issued before the user's latest revocation stays refused after a re-activation.
 *
 * Two things are kept in memory across warm invocations, both safe because they cannot change:
 * - owner keys, once read (the owner id is the key's fingerprint, so an id never names another
 *   key), in a bounded LRU;
 * - tokens already verified (VerifiedTokenCache): the signature and claims of a token are fixed
 *   by its bytes and that key, so Ed25519 verification runs once per token; expiry is checked
 *   again on every request, and the user's status and latest revocation are read every time.
 */
import { assertUserMayUseToken, bearerToken, verifyToken } from '../../auth/tokens';
import type { Ed25519PublicJwk, UserStanding, VerifiedToken } from '../../auth/types';
import type { OwnerId, UserId } from '../../core/ids';
import { LoadingCache } from '../../core/loading-cache';
import type { OwnerRegistry, UserRegistry } from '../../storage/types';
import { VerifiedTokenCache } from './verified-token-cache';

/** The audience of every token CS1 accepts. */
export const CS1_AUDIENCE = 'blindsight-cs1';
/** Allowed clock skew between the owner who signs and CS1 (exp, nbf, iat). */
export const CS1_CLOCK_TOLERANCE_SECONDS = 30;
const MAX_CACHED_OWNER_KEYS = 1000;

export interface TokenAuthorizerOptions {
  /** Clock (tests). */
  readonly now?: () => Date;
  /** Verified tokens kept (0 disables the cache). Default 10,000. */
  readonly verifiedTokenCacheEntries?: number;
}

export class TokenAuthorizer {
  private readonly ownerKeys = new LoadingCache<string, Ed25519PublicJwk | undefined>({ maxSize: MAX_CACHED_OWNER_KEYS });
  private readonly verified: VerifiedTokenCache;
  private readonly now: () => Date;

  constructor(
    private readonly owners: OwnerRegistry,
    private readonly users: UserRegistry,
    options: TokenAuthorizerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.verified = new VerifiedTokenCache(CS1_CLOCK_TOLERANCE_SECONDS, options.verifiedTokenCacheEntries);
  }

  /** The verified caller of an `Authorization` header value; UnauthorizedError saying why not. */
  async authorize(authorizationHeader: string | undefined | null): Promise<VerifiedToken> {
    const token = bearerToken(authorizationHeader);
    const now = this.now();
    const cached = token === undefined ? undefined : this.verified.get(token, now);
    if (cached !== undefined) {
      if (cached.role === 'user') {
        const userId = cached.userId as UserId;
        assertUserMayUseToken(cached.ownerId, userId, cached.issuedAt, await this.userStanding(cached.ownerId, userId));
      }
      return cached;
    }
    const verified = await verifyToken(token, {
      audience: CS1_AUDIENCE,
      currentDate: now,
      clockToleranceSeconds: CS1_CLOCK_TOLERANCE_SECONDS,
      resolveOwnerKey: (ownerId) => this.ownerKey(ownerId),
      resolveUser: (ownerId, userId) => this.userStanding(ownerId, userId),
    });
    // Only tokens that passed every check, the registry's included, are remembered.
    this.verified.remember(token as string, verified);
    return verified;
  }

  private async userStanding(ownerId: OwnerId, userId: UserId): Promise<UserStanding | undefined> {
    const record = await this.users.get(ownerId, userId);
    if (record === undefined) return undefined;
    return { status: record.status, revokedAt: record.revokedAt === undefined ? undefined : new Date(record.revokedAt) };
  }

  /** An unknown owner is not remembered: it may register a moment later. */
  private ownerKey(ownerId: OwnerId): Promise<Ed25519PublicJwk | undefined> {
    return this.ownerKeys.get(ownerId, async () => (await this.owners.get(ownerId))?.publicKeyJwk);
  }
}
