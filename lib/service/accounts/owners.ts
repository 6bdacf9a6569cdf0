/**
 * Owners and their users. An owner registers its Ed25519 public key; its id is the key's
 * fingerprint, so registering is idempotent and nobody can claim an id of someone else's key.
 * The owner then adds users (who get owner-signed tokens) and revokes them; a revocation is
 * seen by the very next request, because the authorizer reads the registry every time.
 */
import { ownerIdOf } from '../../auth/owner-id';
import { assertEd25519PublicJwk } from '../../auth/signing-key';
import type { OwnerRegistry, UserRecord, UserRegistry } from '../../storage/types';
import type { OwnerId, UserId } from '../../core/ids';

export interface RegisterOwnerResult {
  readonly ownerId: OwnerId;
  /** False when the same key was registered before. */
  readonly created: boolean;
  readonly createdAt: string;
}

export class OwnerService {
  constructor(
    private readonly owners: OwnerRegistry,
    private readonly users: UserRegistry,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Registers a public key (InvalidInputError for anything but a public Ed25519 JWK). */
  async registerOwner(publicKeyJwk: unknown): Promise<RegisterOwnerResult> {
    assertEd25519PublicJwk(publicKeyJwk, 'publicKeyJwk');
    const key = { kty: publicKeyJwk.kty, crv: publicKeyJwk.crv, x: publicKeyJwk.x };
    const ownerId = await ownerIdOf(key);
    const { owner, created } = await this.owners.register(ownerId, key, this.now());
    return { ownerId, created, createdAt: owner.createdAt };
  }

  async putUser(ownerId: OwnerId, userId: UserId): Promise<UserRecord> {
    return this.users.put(ownerId, userId);
  }

  async revokeUser(ownerId: OwnerId, userId: UserId): Promise<UserRecord> {
    return this.users.revoke(ownerId, userId);
  }
}
