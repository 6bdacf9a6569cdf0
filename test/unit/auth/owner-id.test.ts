import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { isOwnerId, parseOwnerId } from '../../../lib/core/ids';
import { assertEd25519PublicJwk, generateOwnerSigningKey, publicJwkOf } from '../../../lib/auth/signing-key';

// RFC 8037 appendix A.1 test key; its RFC 7638 thumbprint is given in A.3.
const RFC8037_PUBLIC = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' } as const;
const RFC8037_THUMBPRINT = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';

describe('owner ids', () => {
  it('are the base32 SHA-256 thumbprint of the public key (RFC 8037 test vector)', async () => {
    expect(await calculateJwkThumbprint(RFC8037_PUBLIC, 'sha256')).toBe(RFC8037_THUMBPRINT);
    const digest = Buffer.from(RFC8037_THUMBPRINT, 'base64url');
    // Reference base32 (RFC 4648, lowercase, unpadded) of the digest.
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    const bits = [...digest].map((b) => b.toString(2).padStart(8, '0')).join('');
    const expected = (bits.match(/.{1,5}/g) ?? []).map((chunk) => alphabet[parseInt(chunk.padEnd(5, '0'), 2)]).join('');
    const ownerId = await ownerIdOf(RFC8037_PUBLIC);
    expect(ownerId).toBe(expected);
    expect(ownerId).toHaveLength(52);
    expect(isOwnerId(ownerId)).toBe(true);
  });

  it('depend only on the key, not on extra JWK members', async () => {
    const { publicJwk } = await generateOwnerSigningKey();
    const id = await ownerIdOf(publicJwk);
    expect(await ownerIdOf({ ...publicJwk, kid: 'k', alg: 'EdDSA' } as never)).toBe(id);
    const other = await generateOwnerSigningKey();
    expect(await ownerIdOf(other.publicJwk)).not.toBe(id);
  });

  it('reject malformed ids', () => {
    for (const value of ['', 'owner', 'A'.repeat(52), 'a'.repeat(51), '1'.repeat(52), 42, null]) {
      expect(isOwnerId(value)).toBe(false);
      expect(() => parseOwnerId(value)).toThrow(InvalidInputError);
    }
  });
});

describe('owner signing keys', () => {
  it('generate Ed25519 key pairs whose public half carries no private member', async () => {
    const { privateJwk, publicJwk } = await generateOwnerSigningKey();
    expect(privateJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(privateJwk.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: privateJwk.x });
    expect(publicJwkOf(privateJwk)).toEqual(publicJwk);
    expect(() => assertEd25519PublicJwk(publicJwk)).not.toThrow();
  });

  it('refuse public keys of the wrong shape without echoing them', async () => {
    const { privateJwk, publicJwk } = await generateOwnerSigningKey();
    const cases: unknown[] = [
      privateJwk,
      { ...publicJwk, crv: 'X25519' },
      { ...publicJwk, kty: 'EC' },
      { ...publicJwk, x: publicJwk.x.slice(1) },
      { ...publicJwk, x: `${publicJwk.x.slice(0, 42)}B` },
      'not a key',
    ];
    for (const jwk of cases) {
      expect(() => assertEd25519PublicJwk(jwk)).toThrow(InvalidInputError);
      try {
        assertEd25519PublicJwk(jwk);
      } catch (error) {
        expect((error as Error).message).not.toContain(privateJwk.d);
      }
    }
  });
});
