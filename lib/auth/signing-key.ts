/**
 * Owner signing keys: Ed25519 (JWS alg EdDSA) key pairs as JWKs. The private JWK stays with the
 * owner; only the public JWK is registered with CS1. Error messages here describe which member
 * is wrong, never its value.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { InvalidInputError } from '../core/errors';
import type { Ed25519PrivateJwk, Ed25519PublicJwk, OwnerSigningKey } from './types';

/** base64url of exactly 32 bytes: 43 characters, the last one ending in 2 zero bits. */
const KEY_32_BYTES = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export async function generateOwnerSigningKey(): Promise<OwnerSigningKey> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const privateJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d } as Ed25519PrivateJwk;
  assertEd25519PrivateJwk(privateJwk);
  return { privateJwk, publicJwk: publicJwkOf(privateJwk) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the shape of a public Ed25519 JWK and that it carries no private part. */
export function assertEd25519PublicJwk(jwk: unknown, field = 'public key'): asserts jwk is Ed25519PublicJwk {
  if (!isRecord(jwk)) throw new InvalidInputError(`${field} must be a JWK object`);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
    throw new InvalidInputError(`${field} must be an Ed25519 key (JWK with kty "OKP" and crv "Ed25519")`);
  }
  if (typeof jwk.x !== 'string' || !KEY_32_BYTES.test(jwk.x)) {
    throw new InvalidInputError(`${field}: member "x" must be the base64url encoding of 32 bytes`);
  }
  if ('d' in jwk) {
    throw new InvalidInputError(`${field} contains a private key (member "d"): send only the public key`);
  }
}

export function assertEd25519PrivateJwk(jwk: unknown): asserts jwk is Ed25519PrivateJwk {
  if (!isRecord(jwk) || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') {
    throw new InvalidInputError('the signing key must be an Ed25519 private JWK (kty "OKP", crv "Ed25519")');
  }
  if (typeof jwk.x !== 'string' || !KEY_32_BYTES.test(jwk.x)) {
    throw new InvalidInputError('the signing key: member "x" must be the base64url encoding of 32 bytes');
  }
  if (typeof jwk.d !== 'string' || !KEY_32_BYTES.test(jwk.d)) {
    throw new InvalidInputError('the signing key has no valid private part (member "d" of 32 bytes)');
  }
}

/** The public JWK of a private one, reduced to the members that define the key. */
export function publicJwkOf(privateJwk: Ed25519PrivateJwk): Ed25519PublicJwk {
  return { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x };
}
