/**
 * Owner ids are fingerprints of the owner's public signing key: base32 (RFC 4648 alphabet,
 * lowercase, no padding) of the RFC 7638 SHA-256 JWK thumbprint, 52 characters. Deriving the
 * id from the key means an id can only ever be registered with the key it names, so ids cannot
 * be squatted, and the id is safe inside URLs, S3 keys and DynamoDB keys.
 */
import { base64url, calculateJwkThumbprint } from 'jose';
import { base32 } from '../codec/base32';
import { parseOwnerId } from '../core/ids';
import type { OwnerId } from '../core/ids';
import { assertEd25519PublicJwk } from './signing-key';
import type { Ed25519PublicJwk } from './types';

/** The owner id of a public signing key (stable: only kty, crv and x enter the thumbprint). */
export async function ownerIdOf(publicJwk: Ed25519PublicJwk): Promise<OwnerId> {
  assertEd25519PublicJwk(publicJwk);
  const thumbprint = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x }, 'sha256');
  return parseOwnerId(base32(base64url.decode(thumbprint)));
}
