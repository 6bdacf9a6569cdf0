import { importJWK, SignJWT, UnsecuredJWT } from 'jose';
import type { CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import { bearerToken, issueToken, verifyToken } from '../../../lib/auth/tokens';
import type { Ed25519PublicJwk, OwnerSigningKey, UserStanding, VerifyTokenOptions } from '../../../lib/auth/types';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../../lib/auth/types';
import { InvalidInputError, UnauthorizedError } from '../../../lib/core/errors';

const AUDIENCE = 'blindsight-cs1';
const NOW = new Date('2025-06-01T12:00:00Z');
const DAY = 24 * 3600;

describe('owner-issued tokens', () => {
  let owner: OwnerSigningKey;
  let ownerId: string;
  let attacker: OwnerSigningKey;
  let options: VerifyTokenOptions;
  const users = new Map<string, UserStanding>([
    ['alice', { status: 'active' }],
    ['mallory', { status: 'revoked', revokedAt: new Date(NOW.getTime() - DAY * 1000) }],
  ]);

  beforeAll(async () => {
    owner = await generateOwnerSigningKey();
    ownerId = await ownerIdOf(owner.publicJwk);
    attacker = await generateOwnerSigningKey();
    const registered = new Map<string, Ed25519PublicJwk>([[ownerId, owner.publicJwk]]);
    options = {
      audience: AUDIENCE,
      currentDate: NOW,
      resolveOwnerKey: async (id) => registered.get(id),
      resolveUser: async (id, userId) => (id === ownerId ? users.get(userId) : undefined),
    };
  });

  const ownerToken = (extra: Partial<Parameters<typeof issueToken>[1]> = {}) =>
    issueToken(owner.privateJwk, { ownerId, role: 'owner', expiresInSeconds: 3600, audience: AUDIENCE, now: NOW, ...extra });
  const userToken = (userId: string, extra: Partial<Parameters<typeof issueToken>[1]> = {}) =>
    issueToken(owner.privateJwk, { ownerId, role: 'user', userId, expiresInSeconds: 7 * DAY, audience: AUDIENCE, now: NOW, ...extra });

  /** Signs arbitrary claims/header with a key (to build tokens issueToken refuses to make). */
  const craft = async (signer: OwnerSigningKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
    const key = (await importJWK(signer.privateJwk, 'EdDSA')) as CryptoKey;
    return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', ...header }).sign(key);
  };
  const baseClaims = () => {
    const iat = Math.floor(NOW.getTime() / 1000);
    return { iss: ownerId, sub: 'alice', aud: AUDIENCE, role: 'user', iat, nbf: iat, exp: iat + 3600 };
  };

  const failure = async (token: string | undefined, overrides: Partial<VerifyTokenOptions> = {}): Promise<string> => {
    const error = await verifyToken(token, { ...options, ...overrides }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    return (error as Error).message;
  };

  describe('happy paths', () => {
    it('verifies an owner token', async () => {
      const token = await ownerToken();
      const verified = await verifyToken(token, options);
      expect(verified).toMatchObject({ ownerId, role: 'owner', expiresAt: new Date(NOW.getTime() + 3600_000) });
      expect(verified.userId).toBeUndefined();
      expect(verified.tokenId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    });

    it('verifies a user token of an active user, read from an Authorization header', async () => {
      const token = await userToken('alice');
      expect(await verifyToken(bearerToken(`Bearer ${token}`), options)).toMatchObject({ ownerId, role: 'user', userId: 'alice' });
      expect(bearerToken(`bearer   ${token} `)).toBe(token);
      expect(bearerToken(undefined)).toBeUndefined();
      expect(bearerToken('  ')).toBeUndefined();
    });

    it('accepts small clock skew within the tolerance', async () => {
      const token = await ownerToken({ now: new Date(NOW.getTime() + 20_000) });
      await expect(verifyToken(token, { ...options, clockToleranceSeconds: 30 })).resolves.toMatchObject({ role: 'owner' });
    });
  });

  describe('failure modes, each with its own message', () => {
    const messages = new Map<string, string>();
    const record = (mode: string, message: string) => {
      messages.set(mode, message);
      return message;
    };

    it('missing', async () => {
      for (const token of [undefined, '', '   ']) expect(record('missing', await failure(token))).toMatch(/^missing token/);
      expect(() => bearerToken('Basic abc')).toThrow(UnauthorizedError);
    });

    it('malformed', async () => {
      const notJson = `${Buffer.from('{"alg":').toString('base64url')}.${Buffer.from('x').toString('base64url')}.sig`;
      for (const token of ['abc', 'a.b', 'a.b.c.d', notJson, 'a+b.c.d', `${'a'.repeat(5000)}.b.c`]) {
        expect(record('malformed', await failure(token))).toMatch(/^malformed token/);
      }
      // Claims that do not name an owner are malformed too.
      expect(await failure(await craft(owner, { ...baseClaims(), iss: 'someone' }))).toMatch(/^malformed token: claim "iss"/);
      expect(await failure(await craft(owner, { ...baseClaims(), role: 'admin' }))).toMatch(/^malformed token: claim "role"/);
      expect(await failure(await craft(owner, { ...baseClaims(), role: 'owner', sub: 'alice' }))).toMatch(/"sub" must equal its "iss"/);
    });

    it('bad signature: another key, a tampered payload, an embedded attacker key', async () => {
      const forged = await craft(attacker, baseClaims());
      expect(record('bad signature', await failure(forged))).toMatch(/^token signature is invalid/);

      const [header, , signature] = (await userToken('alice')).split('.');
      const tampered = Buffer.from(JSON.stringify({ ...baseClaims(), sub: 'mallory-admin' })).toString('base64url');
      expect(await failure(`${header}.${tampered}.${signature}`)).toMatch(/^token signature is invalid/);

      const embedded = await craft(attacker, baseClaims(), { jwk: attacker.publicJwk });
      expect(await failure(embedded)).toMatch(/^token signature is invalid/);
    });

    it('wrong algorithm: none, HMAC, ECDSA and fully-specified Ed25519 are refused', async () => {
      const unsecured = new UnsecuredJWT(baseClaims()).encode();
      expect(record('wrong alg', await failure(unsecured))).toMatch(/^token algorithm "none" is not accepted/);

      // HMAC keyed with the public key: the classic algorithm-confusion forgery.
      const hmac = await new SignJWT(baseClaims()).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(owner.publicJwk.x));
      expect(await failure(hmac)).toMatch(/^token algorithm "HS256" is not accepted/);

      const [, payload, signature] = (await userToken('alice')).split('.');
      for (const alg of ['ES256', 'Ed25519', 'RS256']) {
        const header = Buffer.from(JSON.stringify({ alg })).toString('base64url');
        expect(await failure(`${header}.${payload}.${signature}`)).toMatch(new RegExp(`^token algorithm "${alg}" is not accepted`));
      }
      const noAlg = Buffer.from(JSON.stringify({ typ: 'JWT' })).toString('base64url');
      expect(await failure(`${noAlg}.${payload}.${signature}`)).toMatch(/^token algorithm missing is not accepted/);
    });

    it('expired', async () => {
      const token = await ownerToken({ expiresInSeconds: 60 });
      const later = new Date(NOW.getTime() + 10 * 60_000);
      expect(record('expired', await failure(token, { currentDate: later }))).toMatch(/^token expired at 2025-06-01T12:01:00.000Z/);
    });

    it('not yet valid', async () => {
      const token = await ownerToken({ now: new Date(NOW.getTime() + 3600_000) });
      expect(record('not yet valid', await failure(token))).toMatch(/^token is not valid before 2025-06-01T13:00:00.000Z/);
      // Without nbf, an iat in the future is refused as well.
      const { nbf: _nbf, ...claims } = baseClaims();
      const future = await craft(owner, { ...claims, iat: claims.iat + 3600, exp: claims.exp + 3600 });
      expect(await failure(future)).toMatch(/^token is not yet valid: issued in the future/);
    });

    it('unknown owner', async () => {
      const stranger = await generateOwnerSigningKey();
      const token = await issueToken(stranger.privateJwk, {
        ownerId: await ownerIdOf(stranger.publicJwk),
        role: 'owner',
        expiresInSeconds: 60,
        audience: AUDIENCE,
        now: NOW,
      });
      expect(record('unknown owner', await failure(token))).toMatch(/^unknown owner: .* is not registered/);
    });

    it('user unknown', async () => {
      expect(record('user unknown', await failure(await userToken('bob')))).toBe(
        `user "bob" is not registered with owner ${ownerId}: the owner must add the user first`,
      );
    });

    it('user revoked, effective on the next request', async () => {
      expect(record('user revoked', await failure(await userToken('mallory')))).toBe(`user "mallory" has been revoked by owner ${ownerId}`);
      const token = await userToken('alice');
      await expect(verifyToken(token, options)).resolves.toMatchObject({ userId: 'alice' });
      users.set('alice', { status: 'revoked', revokedAt: new Date(NOW.getTime() + 1) });
      try {
        expect(await failure(token)).toMatch(/has been revoked/);
      } finally {
        users.set('alice', { status: 'active' });
      }
    });

    it('user re-activated: tokens issued up to the latest revocation stay refused, later ones work', async () => {
      const revokedAt = new Date(NOW.getTime() + 400);
      const before = await userToken('alice', { now: new Date(NOW.getTime() + 399) });
      const atRevocation = await userToken('alice', { now: revokedAt });
      // The same second as the revocation, a millisecond later: a fresh token for the re-activated user.
      const after = await userToken('alice', { now: new Date(NOW.getTime() + 401) });
      const at = { currentDate: new Date(NOW.getTime() + 1000) };
      users.set('alice', { status: 'active', revokedAt });
      try {
        expect(record('issued before revocation', await failure(before, at))).toBe(
          `token was issued at ${new Date(NOW.getTime() + 399).toISOString()}, before user "alice" was last revoked (${revokedAt.toISOString()}); ` +
            're-activation admits only tokens issued after it: ask the owner for a new token',
        );
        expect(await failure(atRevocation, at)).toMatch(/before user "alice" was last revoked/);
        await expect(verifyToken(after, { ...options, ...at })).resolves.toMatchObject({ userId: 'alice', issuedAt: new Date(NOW.getTime() + 401) });
      } finally {
        users.set('alice', { status: 'active' });
      }
    });

    it('puts milliseconds into iat (RFC 7519 allows fractional NumericDates) and keeps nbf and exp whole', async () => {
      const token = await userToken('alice', { now: new Date(NOW.getTime() + 123) });
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, number>;
      expect(claims.iat).toBe(NOW.getTime() / 1000 + 0.123);
      expect(claims.nbf).toBe(NOW.getTime() / 1000);
      expect(claims.exp).toBe(NOW.getTime() / 1000 + 7 * DAY);
    });

    it('wrong audience', async () => {
      const token = await ownerToken({ audience: 'some-other-service' });
      expect(record('wrong audience', await failure(token))).toMatch(/^token audience does not match: this service accepts only audience "blindsight-cs1"/);
      const noAudience = await craft(owner, { ...baseClaims(), aud: undefined });
      expect(await failure(noAudience)).toMatch(/audience/);
    });

    it('lifetime beyond the maximum', async () => {
      const claims = baseClaims();
      const tooLong = await craft(owner, { ...claims, exp: claims.iat + MAX_TOKEN_LIFETIME_SECONDS.user + 3600 });
      expect(record('lifetime', await failure(tooLong))).toMatch(/^token lifetime \d+ s exceeds the maximum of 2592000 s for user tokens/);
      const ownerClaims = { ...claims, role: 'owner', sub: ownerId, exp: claims.iat + 2 * DAY };
      expect(await failure(await craft(owner, ownerClaims))).toMatch(/exceeds the maximum of 86400 s for owner tokens/);
      const noExp = await craft(owner, { ...claims, exp: undefined });
      expect(await failure(noExp)).toMatch(/^malformed token: claim "exp" is missing/);
    });

    it('gives every failure mode a distinct message that never contains the private key or the token', async () => {
      expect([...messages.keys()].sort()).toEqual(
        [
          'bad signature',
          'expired',
          'issued before revocation',
          'lifetime',
          'malformed',
          'missing',
          'not yet valid',
          'unknown owner',
          'user revoked',
          'user unknown',
          'wrong alg',
          'wrong audience',
        ].sort(),
      );
      const texts = [...messages.values()];
      expect(new Set(texts.map((m) => m.split(':')[0].split(' ').slice(0, 3).join(' '))).size).toBe(texts.length);
      for (const message of texts) {
        expect(message).not.toContain(owner.privateJwk.d);
        expect(message).not.toContain(owner.publicJwk.x);
      }
    });
  });

  describe('issuing', () => {
    it('refuses lifetimes beyond the role maximum, and inconsistent roles', async () => {
      await expect(ownerToken({ expiresInSeconds: DAY + 1 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(userToken('alice', { expiresInSeconds: 31 * DAY })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(userToken('alice', { expiresInSeconds: 0 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(ownerToken({ userId: 'alice' })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(userToken('../alice')).rejects.toBeInstanceOf(InvalidInputError);
      await expect(ownerToken({ audience: '' })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(userToken('alice', { role: 'admin' as never })).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('refuses to sign for an owner id that is not the key fingerprint', async () => {
      await expect(ownerToken({ ownerId: await ownerIdOf(attacker.publicJwk) })).rejects.toThrow(/not the fingerprint/);
    });

    it('never puts the private key into an error', async () => {
      const broken = { ...owner.privateJwk, d: `${owner.privateJwk.d.slice(0, 40)}!!!` };
      const error = await issueToken(broken, { ownerId, role: 'owner', expiresInSeconds: 60, audience: AUDIENCE }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).not.toContain(owner.privateJwk.d.slice(0, 40));
      expect(JSON.stringify(error)).not.toContain(owner.privateJwk.d.slice(0, 40));
      expect((error as Error).cause).toBeUndefined();
      const publicOnly = await issueToken(owner.publicJwk as never, { ownerId, role: 'owner', expiresInSeconds: 60, audience: AUDIENCE }).catch(
        (e: unknown) => e,
      );
      expect(publicOnly).toBeInstanceOf(InvalidInputError);
    });
  });
});
