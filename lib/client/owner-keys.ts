/**
 * The owner's keys and the owner's view of CS1: creating an owner (Ed25519 signing key, SEI
 * owner secret for dimension d, AES-256 image key, the owner's own placement W) registered with
 * CS1, whose answer is the owner id (the key's fingerprint); and clients holding a fresh owner
 * token signed for the one command that runs.
 */
import { ownerIdOf } from '../auth/owner-id';
import { generateOwnerSigningKey } from '../auth/signing-key';
import { issueToken } from '../auth/tokens';
import { InvalidInputError } from '../core/errors';
import { generateImageKey } from '../crypto/image-envelope';
import { generateOwnerSecret, MAX_SEI_DIMENSION } from '../sei/owner-key';
import { generateUserSecret } from '../sei/user-key';
import { CS1_AUDIENCE } from '../service/accounts/token-authorizer';
import { Cs1Client } from './cs1-client';
import { OWNER_FORMAT } from './owner-state';
import type { Owner } from './owner-state';

export const DEFAULT_DIMENSION = 128;
/** Owner tokens are signed per command and live one hour. */
const OWNER_TOKEN_SECONDS = 60 * 60;

export interface CreatedOwner {
  readonly owner: Owner;
  /** False when CS1 already knew the key (cannot happen for a new key, but CS1 says). */
  readonly registeredNew: boolean;
}

/**
 * New keys, registered with CS1 at `endpoint` before anything is kept: if CS1 cannot be
 * reached, the caller has nothing to clean up and simply tries again.
 */
export async function createOwner(endpoint: string, d: number = DEFAULT_DIMENSION, now: Date = new Date()): Promise<CreatedOwner> {
  if (!Number.isInteger(d) || d < 2 || d > MAX_SEI_DIMENSION) throw new InvalidInputError(`--dimension must be an integer from 2 to ${MAX_SEI_DIMENSION}`);
  const signing = await generateOwnerSigningKey();
  const ownerId = await ownerIdOf(signing.publicJwk);
  const seiSecret = generateOwnerSecret(d);
  const imageKey = await generateImageKey();
  const placement = generateUserSecret(d);
  const registration = await new Cs1Client({ endpoint }).registerOwner(signing.publicJwk);
  if (registration.ownerId !== ownerId) {
    throw new InvalidInputError(`CS1 at ${endpoint} answered owner id ${registration.ownerId}, expected ${ownerId}: is this a Blindsight CS1?`);
  }
  return {
    owner: {
      config: {
        format: OWNER_FORMAT,
        version: 1,
        ownerId,
        endpoint,
        d,
        createdAt: now.toISOString(),
        seiKeyId: seiSecret.keyId,
        imageKeyId: imageKey.keyId,
      },
      signingKey: signing.privateJwk,
      seiSecret,
      imageKey,
      placement,
    },
    registeredNew: registration.created,
  };
}

/** A client of CS1 at `endpoint` holding a fresh one-hour owner token. */
export async function ownerClient(endpoint: string, owner: Owner, now: Date = new Date()): Promise<Cs1Client> {
  const token = await issueToken(owner.signingKey, {
    ownerId: owner.config.ownerId,
    role: 'owner',
    expiresInSeconds: OWNER_TOKEN_SECONDS,
    audience: CS1_AUDIENCE,
    now,
  });
  // The signing key signs the manifest of every version published (users verify it).
  return new Cs1Client({ endpoint, token, signingKey: owner.signingKey });
}
