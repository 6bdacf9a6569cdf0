/**
 * CS1's TokenAuthorizer with its caches: a token's signature is verified once and then served
 * from memory until it expires, but the user registry is read on every request, so revocation
 * still applies to the very next request; owner keys are read once. Registries in memory,
 * counting reads; the clock is the test's.
 */
import { describe, expect, it } from 'vitest';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import { issueToken } from '../../../lib/auth/tokens';
import type { Ed25519PublicJwk } from '../../../lib/auth/types';
import { CS1_AUDIENCE, CS1_CLOCK_TOLERANCE_SECONDS, TokenAuthorizer } from '../../../lib/service/accounts/token-authorizer';
import { VerifiedTokenCache } from '../../../lib/service/accounts/verified-token-cache';
import type { OwnerRecord, OwnerRegistry, UserRecord, UserRegistry } from '../../../lib/storage/types';
import { parseOwnerId } from '../../../lib/core/ids';

const T0 = new Date('2026-03-01T12:00:00.000Z');

async function world() {
  const key = await generateOwnerSigningKey();
  const ownerId = await ownerIdOf(key.publicJwk);
  const counts = { ownerReads: 0, userReads: 0 };
  const statuses = new Map<string, 'active' | 'revoked'>([['alice', 'active']]);
  const revocations = new Map<string, Date>();
  const owners = {
    get: async (id: string): Promise<OwnerRecord | undefined> => {
      counts.ownerReads++;
      return id === ownerId ? { ownerId, publicKeyJwk: key.publicJwk as Ed25519PublicJwk, createdAt: T0.toISOString() } : undefined;
    },
  } as unknown as OwnerRegistry;
  const users = {
    get: async (id: string, userId: string): Promise<UserRecord | undefined> => {
      counts.userReads++;
      const status = id === ownerId ? statuses.get(userId) : undefined;
      const revokedAt = revocations.get(userId)?.toISOString();
      return status === undefined ? undefined : ({ ownerId: id, userId, status, revokedAt } as UserRecord);
    },
  } as unknown as UserRegistry;
  let now = T0;
  const authorizer = new TokenAuthorizer(owners, users, { now: () => now });
  const token = (userId?: string, expiresInSeconds = 600, issuedAt = T0) =>
    issueToken(key.privateJwk, { ownerId, role: userId ? 'user' : 'owner', userId, expiresInSeconds, audience: CS1_AUDIENCE, now: issuedAt });
  return { ownerId, counts, statuses, revocations, authorizer, token, setNow: (date: Date) => (now = date) };
}

describe('TokenAuthorizer caches', () => {
  it('reads the user registry on every request, so a revocation applies to the next one even for a cached token', async () => {
    const w = await world();
    const bearer = `Bearer ${await w.token('alice')}`;
    for (let i = 0; i < 3; i++) expect(await w.authorizer.authorize(bearer)).toMatchObject({ ownerId: w.ownerId, role: 'user', userId: 'alice' });
    expect(w.counts.userReads).toBe(3);
    w.statuses.set('alice', 'revoked');
    await expect(w.authorizer.authorize(bearer)).rejects.toThrow(`user "alice" has been revoked by owner ${w.ownerId}`);
    w.statuses.delete('alice');
    await expect(w.authorizer.authorize(bearer)).rejects.toThrow(/is not registered with owner/);
  });

  it('keeps refusing a cached token issued before the latest revocation after the user is re-activated', async () => {
    const w = await world();
    const old = `Bearer ${await w.token('alice')}`;
    expect((await w.authorizer.authorize(old)).userId).toBe('alice');
    // Revoked 5 s later, re-activated, and the owner signs a new token.
    w.setNow(new Date(T0.getTime() + 10_000));
    w.statuses.set('alice', 'revoked');
    w.revocations.set('alice', new Date(T0.getTime() + 5000));
    await expect(w.authorizer.authorize(old)).rejects.toThrow(/has been revoked/);
    w.statuses.set('alice', 'active');
    await expect(w.authorizer.authorize(old)).rejects.toThrow(/before user "alice" was last revoked/);
    const fresh = `Bearer ${await w.token('alice', 600, new Date(T0.getTime() + 5001))}`;
    expect((await w.authorizer.authorize(fresh)).userId).toBe('alice');
    // The old one stays refused, from the cache or not.
    await expect(w.authorizer.authorize(old)).rejects.toThrow(/before user "alice" was last revoked/);
  });

  it('reads an owner key once, and serves a verified owner token without any read', async () => {
    const w = await world();
    const bearer = `Bearer ${await w.token()}`;
    await w.authorizer.authorize(bearer);
    await w.authorizer.authorize(bearer);
    await w.authorizer.authorize(`Bearer ${await w.token()}`);
    expect(w.counts).toEqual({ ownerReads: 1, userReads: 0 });
  });

  it('refuses a cached token once it expires (past the clock tolerance), with the usual message', async () => {
    const w = await world();
    const bearer = `Bearer ${await w.token(undefined, 60)}`;
    await w.authorizer.authorize(bearer);
    w.setNow(new Date(T0.getTime() + (60 + CS1_CLOCK_TOLERANCE_SECONDS) * 1000 - 1));
    expect((await w.authorizer.authorize(bearer)).role).toBe('owner');
    w.setNow(new Date(T0.getTime() + (60 + CS1_CLOCK_TOLERANCE_SECONDS) * 1000));
    await expect(w.authorizer.authorize(bearer)).rejects.toThrow(/^token expired at 2026-03-01T12:01:00.000Z/);
  });

  it('never caches a refused token: a tampered copy of a cached token is still refused', async () => {
    const w = await world();
    const good = await w.token('alice');
    await w.authorizer.authorize(`Bearer ${good}`);
    const [header, payload, signature] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = [header, Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url'), signature].join('.');
    for (let i = 0; i < 2; i++) await expect(w.authorizer.authorize(`Bearer ${tampered}`)).rejects.toThrow(/token signature is invalid/);
    // A user the owner has not added yet is refused, and accepted once added.
    const stranger = `Bearer ${await w.token('stranger')}`;
    await expect(w.authorizer.authorize(stranger)).rejects.toThrow(/is not registered/);
    w.statuses.set('stranger', 'active');
    expect((await w.authorizer.authorize(stranger)).userId).toBe('stranger');
  });
});

describe('VerifiedTokenCache', () => {
  const verified = (expiresAt: Date) => ({ ownerId: parseOwnerId('a'.repeat(52)), role: 'owner' as const, expiresAt, issuedAt: T0 });

  it('holds tokens by digest until exp + tolerance, evicting the least recently used beyond its bound', () => {
    const cache = new VerifiedTokenCache(30, 2);
    const exp = new Date(T0.getTime() + 60_000);
    cache.remember('a.b.c', verified(exp));
    cache.remember('d.e.f', verified(exp));
    expect(cache.get('a.b.c', T0)).toBeDefined();
    cache.remember('g.h.i', verified(exp));
    // d.e.f was used least recently.
    expect(cache.get('d.e.f', T0)).toBeUndefined();
    expect(cache.get('a.b.c', T0)).toBeDefined();
    expect(cache.get('a.b.c', new Date(exp.getTime() + 29_999))).toBeDefined();
    expect(cache.get('a.b.c', new Date(exp.getTime() + 30_000))).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('keeps nothing with a bound of 0', () => {
    const cache = new VerifiedTokenCache(30, 0);
    cache.remember('a.b.c', verified(new Date(T0.getTime() + 60_000)));
    expect(cache.get('a.b.c', T0)).toBeUndefined();
  });
});
