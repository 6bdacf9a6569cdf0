import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import type { Ed25519PublicJwk } from '../../../lib/auth/types';
import { ConflictError, InvalidInputError, NotFoundError } from '../../../lib/core/errors';
import { DynamoOwnerRegistry } from '../../../lib/storage/dynamo-owner-registry';
import { DynamoUserRegistry } from '../../../lib/storage/dynamo-user-registry';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { toOwnerId, toUserId } from '../../support/ids';

describe('owner and user registries on dynalite', () => {
  let aws: LocalAws;
  let owners: DynamoOwnerRegistry;
  let users: DynamoUserRegistry;
  let clock = new Date('2025-01-01T00:00:00.000Z');
  const tick = () => (clock = new Date(clock.getTime() + 1000));

  beforeAll(async () => {
    aws = await startLocalAws();
    owners = new DynamoOwnerRegistry({ client: aws.documentClient, tableName: aws.tableName });
    users = new DynamoUserRegistry({ client: aws.documentClient, tableName: aws.tableName, now: () => tick() });
  });
  afterAll(() => aws.stop());

  describe('OwnerRegistry', () => {
    it('registers an owner once and answers a repeat with the existing record', async () => {
      const { publicJwk } = await generateOwnerSigningKey();
      const ownerId = await ownerIdOf(publicJwk);
      const first = await owners.register(ownerId, publicJwk, new Date('2025-02-01T00:00:00Z'));
      expect(first.created).toBe(true);
      expect(first.owner).toEqual({ ownerId, publicKeyJwk: publicJwk, createdAt: '2025-02-01T00:00:00.000Z' });

      // Same key again (with extra JWK members, later time): the stored record comes back.
      const again = await owners.register(ownerId, { ...publicJwk, kid: 'x', use: 'sig' } as Ed25519PublicJwk, new Date('2025-03-01T00:00:00Z'));
      expect(again.created).toBe(false);
      expect(again.owner).toEqual(first.owner);
      expect(await owners.get(ownerId)).toEqual(first.owner);
    });

    it('refuses a different key for a registered id and keeps the original', async () => {
      const a = await generateOwnerSigningKey();
      const b = await generateOwnerSigningKey();
      const ownerId = await ownerIdOf(a.publicJwk);
      await owners.register(ownerId, a.publicJwk, new Date());
      await expect(owners.register(ownerId, b.publicJwk, new Date())).rejects.toBeInstanceOf(ConflictError);
      expect((await owners.get(ownerId))?.publicKeyJwk).toEqual(a.publicJwk);
    });

    it('lets exactly one of two racing registrations of an id win', async () => {
      const a = await generateOwnerSigningKey();
      const b = await generateOwnerSigningKey();
      const ownerId = await ownerIdOf(a.publicJwk);
      const results = await Promise.allSettled([
        owners.register(ownerId, a.publicJwk, new Date()),
        owners.register(ownerId, b.publicJwk, new Date()),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(rejected).toHaveLength(1);
      expect(rejected[0].reason).toBeInstanceOf(ConflictError);
    });

    it('rejects private keys, non-Ed25519 keys and bad ids without writing', async () => {
      const { privateJwk, publicJwk } = await generateOwnerSigningKey();
      const ownerId = await ownerIdOf(publicJwk);
      await expect(owners.register(ownerId, privateJwk, new Date())).rejects.toThrow(/private key/);
      await expect(owners.register(ownerId, { kty: 'EC', crv: 'P-256', x: publicJwk.x } as never, new Date())).rejects.toBeInstanceOf(
        InvalidInputError,
      );
      expect(() => toOwnerId('owner-1')).toThrow(InvalidInputError);
      expect(await owners.get(ownerId)).toBeUndefined();
    });
  });

  describe('UserRegistry', () => {
    const ALICE = toOwnerId('a'.repeat(52));
    const BOB = toOwnerId('b'.repeat(52));

    it('adds, revokes and re-activates a user, recording each step', async () => {
      expect(await users.get(ALICE, toUserId('u1'))).toBeUndefined();
      const added = await users.put(ALICE, toUserId('u1'));
      expect(added).toMatchObject({ ownerId: ALICE, userId: 'u1', status: 'active', reactivationCount: 0 });
      expect(added.createdAt).toBe(added.updatedAt);

      // Putting an active user again changes nothing.
      expect(await users.put(ALICE, toUserId('u1'))).toEqual(added);

      const revoked = await users.revoke(ALICE, toUserId('u1'));
      expect(revoked.status).toBe('revoked');
      expect(revoked.revokedAt).toBe(revoked.updatedAt);
      expect(await users.get(ALICE, toUserId('u1'))).toEqual(revoked);
      // Revoking twice keeps the first revocation.
      expect(await users.revoke(ALICE, toUserId('u1'))).toEqual(revoked);

      const back = await users.put(ALICE, toUserId('u1'));
      expect(back).toMatchObject({ status: 'active', createdAt: added.createdAt, revokedAt: revoked.revokedAt, reactivationCount: 1 });
      expect(back.reactivatedAt).toBe(back.updatedAt);
      expect(back.updatedAt > revoked.updatedAt).toBe(true);
    });

    it('refuses to revoke an unknown user', async () => {
      await expect(users.revoke(ALICE, toUserId('nobody'))).rejects.toBeInstanceOf(NotFoundError);
      expect(await users.get(ALICE, toUserId('nobody'))).toBeUndefined();
    });

    it('isolates users of different owners', async () => {
      await users.put(ALICE, toUserId('shared-name'));
      expect(await users.get(BOB, toUserId('shared-name'))).toBeUndefined();
      await expect(users.revoke(BOB, toUserId('shared-name'))).rejects.toBeInstanceOf(NotFoundError);
      await users.put(BOB, toUserId('shared-name'));
      await users.revoke(BOB, toUserId('shared-name'));
      expect((await users.get(ALICE, toUserId('shared-name')))?.status).toBe('active');
      expect((await users.get(BOB, toUserId('shared-name')))?.status).toBe('revoked');
      // Different items by key design.
      const raw = await aws.documentClient.send(
        new GetCommand({ TableName: aws.tableName, Key: { pk: `OWNER#${ALICE}`, sk: 'USER#shared-name' } }),
      );
      expect(raw.Item?.status).toBe('active');
    });

    it('counts one re-activation when two puts race', async () => {
      await users.put(ALICE, toUserId('racer'));
      await users.revoke(ALICE, toUserId('racer'));
      const [a, b] = await Promise.all([users.put(ALICE, toUserId('racer')), users.put(ALICE, toUserId('racer'))]);
      expect(a.status).toBe('active');
      expect(b.status).toBe('active');
      expect((await users.get(ALICE, toUserId('racer')))?.reactivationCount).toBe(1);
    });

    it('validates user ids', async () => {
      // User ids reach the registry parsed (branded types): the parser refuses these.
      expect(() => toUserId('../u')).toThrow(InvalidInputError);
      expect(() => toUserId('a#b')).toThrow(InvalidInputError);
    });
  });
});
