/**
 * Who is calling CS1: verifies the bearer token of a request against the owner's registered
 * key (lib/auth/tokens.ts) and, for user tokens, the owner's user registry, read on every
 * request so a revocation takes effect on the next one. Owner keys never change (the owner id
 * is the key's fingerprint), so they are kept in memory once read.
 */
import { bearerToken, verifyToken } from '../../auth/tokens';
import type { Ed25519PublicJwk, VerifiedToken } from '../../auth/types';
import type { OwnerRegistry, UserRegistry } from '../../storage/types';

/** The audience of every token CS1 accepts. */
export const CS1_AUDIENCE = 'blindsight-cs1';
const MAX_CACHED_OWNER_KEYS = 1000;

export class TokenAuthorizer {
  private readonly ownerKeys = new Map<string, Ed25519PublicJwk>();

  constructor(
    private readonly owners: OwnerRegistry,
    private readonly users: UserRegistry,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The verified caller of an `Authorization` header value; UnauthorizedError saying why not. */
  async authorize(authorizationHeader: string | undefined | null): Promise<VerifiedToken> {
    return verifyToken(bearerToken(authorizationHeader), {
      audience: CS1_AUDIENCE,
      currentDate: this.now(),
      resolveOwnerKey: (ownerId) => this.ownerKey(ownerId),
      resolveUserStatus: async (ownerId, userId) => (await this.users.get(ownerId, userId))?.status,
    });
  }

  private async ownerKey(ownerId: string): Promise<Ed25519PublicJwk | undefined> {
    const cached = this.ownerKeys.get(ownerId);
    if (cached !== undefined) return cached;
    const record = await this.owners.get(ownerId);
    if (record === undefined) return undefined;
    if (this.ownerKeys.size >= MAX_CACHED_OWNER_KEYS) this.ownerKeys.delete(this.ownerKeys.keys().next().value as string);
    this.ownerKeys.set(ownerId, record.publicKeyJwk);
    return record.publicKeyJwk;
  }
}
