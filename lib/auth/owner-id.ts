/**
 * Owner ids are fingerprints of the owner's public signing key: base32 (RFC 4648 alphabet,
 * lowercase, no padding) of the RFC 7638 SHA-256 JWK thumbprint, 52 characters. Deriving the
 * id from the key means an id can only ever be registered with the key it names, so ids cannot
 * be squatted, and the id is safe inside URLs, S3 keys and DynamoDB keys.
 */
import { base64url, calculateJwkThumbprint } from 'jose';
import { base32 } from '../codec/base32';
import { InvalidInputError } from '../core/errors';
import { assertEd25519PublicJwk } from './signing-key';
import type { Ed25519PublicJwk } from './types';

/** 256 bits in 5-bit base32 digits. */
export const OWNER_ID_LENGTH = 52;
const OWNER_ID_PATTERN = /^[a-z2-7]{52}$/;

/** The owner id of a public signing key (stable: only kty, crv and x enter the thumbprint). */
export async function ownerIdOf(publicJwk: Ed25519PublicJwk): Promise<string> {
  assertEd25519PublicJwk(publicJwk);
  const thumbprint = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x }, 'sha256');
  return base32(base64url.decode(thumbprint));
}

export function isOwnerId(value: unknown): value is string {
  return typeof value === 'string' && OWNER_ID_PATTERN.test(value);
}

export function assertOwnerId(value: unknown, field = 'owner id'): asserts value is string {
  if (!isOwnerId(value)) {
    throw new InvalidInputError(
      `${field} must be the ${OWNER_ID_LENGTH}-character fingerprint of the owner's public key ` +
        `(lowercase base32 a-z, 2-7), as returned when the owner registered`,
    );
  }
}
