import { SignJWT, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import { resetCs1Services } from '../../../lib/service/cs1-services';
import { resetAccountServices } from '../../../lib/service/accounts/account-services';
import { resetStorageFactories } from '../../../lib/storage/factory';
import { authorizerEvent, lambdaContext } from '../../support/http-events';
import type { LocalAws } from '../../support/local-aws';
import { authorizerVerdict, call, newOwner, startHandlerWorld } from './support';
import type { AnyHandler, Owner } from './support';

const ROUTE = 'POST /v1/owners/{ownerId}/indexes/{indexName}/search';

describe('the Lambda authorizer with real owner-signed tokens', () => {
  let aws: LocalAws;
  let authorizer: AnyHandler;
  let registerOwner: AnyHandler;
  let userPut: AnyHandler;
  let userRevoke: AnyHandler;
  let owner: Owner;
  const logs: string[] = [];

  const authorize = async (authorization?: string) =>
    authorizerVerdict(await authorizer(authorizerEvent(ROUTE, authorization, { ownerId: owner.ownerId, indexName: 'x' }), lambdaContext()));

  beforeAll(async () => {
    aws = await startHandlerWorld({ BLINDSIGHT_LOG_LEVEL: 'INFO' });
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logs.push(String(chunk));
        return true;
      });
    }
    ({ handler: authorizer } = await import('../../../functions/cs1/authorizer'));
    ({ handler: registerOwner } = await import('../../../functions/cs1/register-owner'));
    ({ handler: userPut } = await import('../../../functions/cs1/user-put'));
    ({ handler: userRevoke } = await import('../../../functions/cs1/user-revoke'));
    owner = await newOwner();
    const registered = await call(registerOwner, 'POST /v1/owners', { body: { publicKeyJwk: owner.key.publicJwk } });
    expect(registered.statusCode).toBe(201);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await aws?.stop();
  });

  it('allows an owner token and passes the owner as context', async () => {
    expect(await authorize(`Bearer ${await owner.token()}`)).toEqual({ isAuthorized: true, context: { ownerId: owner.ownerId, role: 'owner' } });
  });

  it('allows with a policy for every route of the stage (cacheable per token), and denies only the method asked for', async () => {
    const event = authorizerEvent(ROUTE, `Bearer ${await owner.token()}`, { ownerId: owner.ownerId, indexName: 'x' });
    const allowed = (await authorizer(event, lambdaContext())) as { principalId: string; policyDocument: unknown };
    expect(allowed.principalId).toBe(owner.ownerId);
    expect(allowed.policyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:eu-west-1:000000000001:abc123/prod/*' }],
    });
    const denied = (await authorizer({ ...event, headers: { Authorization: 'Bearer nope' } }, lambdaContext())) as { policyDocument: unknown };
    expect(denied.policyDocument).toEqual({ Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: event.methodArn }] });
  });

  it('allows a user only while the owner has it registered: revocation takes effect on the next call', async () => {
    const token = await owner.token({ userId: 'carol@example.com' });
    expect((await authorize(`Bearer ${token}`)).isAuthorized).toBe(false);

    const path = { ownerId: owner.ownerId, userId: 'carol@example.com' };
    expect((await call(userPut, 'PUT /v1/owners/{ownerId}/users/{userId}', { pathParameters: path, caller: owner.caller })).statusCode).toBe(200);
    expect(await authorize(`Bearer ${token}`)).toEqual({
      isAuthorized: true,
      context: { ownerId: owner.ownerId, role: 'user', userId: 'carol@example.com' },
    });

    expect((await call(userRevoke, 'DELETE /v1/owners/{ownerId}/users/{userId}', { pathParameters: path, caller: owner.caller })).statusCode).toBe(200);
    logs.length = 0;
    expect(await authorize(`Bearer ${token}`)).toEqual({ isAuthorized: false });
    const denial = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.message === 'denied');
    expect(denial?.reason).toBe(`user "carol@example.com" has been revoked by owner ${owner.ownerId}`);
    expect(logs.join('')).not.toContain(token);
    expect(logs.join('')).not.toContain(token.split('.')[2]);

    // Re-activation admits a new token at once, never the one from before the revocation.
    await call(userPut, 'PUT /v1/owners/{ownerId}/users/{userId}', { pathParameters: path, caller: owner.caller });
    logs.length = 0;
    expect(await authorize(`Bearer ${token}`)).toEqual({ isAuthorized: false });
    const again = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.message === 'denied');
    expect(again?.reason).toMatch(/^token was issued at .+, before user "carol@example.com" was last revoked/);
    expect((await authorize(`Bearer ${await owner.token({ userId: 'carol@example.com' })}`)).isAuthorized).toBe(true);
  });

  it('denies expired, forged, tampered, foreign-audience, unknown-owner and malformed tokens, logging why', async () => {
    const expired = await owner.token({ now: new Date(Date.now() - 2 * 3600_000), expiresInSeconds: 3600 });

    // Forged: signed by another key, claiming to be the owner.
    const attacker = await generateOwnerSigningKey();
    const forged = await new SignJWT({ role: 'owner' })
      .setProtectedHeader({ alg: 'EdDSA', kid: owner.ownerId })
      .setIssuer(owner.ownerId)
      .setSubject(owner.ownerId)
      .setAudience('blindsight-cs1')
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('10m')
      .sign(await importJWK(attacker.privateJwk, 'EdDSA'));

    // Tampered: a revoked user's token edited to claim the owner role.
    const [header, payload, signature] = (await owner.token({ userId: 'mallory' })).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = [header, Buffer.from(JSON.stringify({ ...claims, role: 'owner', sub: owner.ownerId })).toString('base64url'), signature].join('.');

    const stranger = await newOwner();
    const foreignAudience = await new SignJWT({ role: 'owner' })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(owner.ownerId)
      .setSubject(owner.ownerId)
      .setAudience('some-other-service')
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('10m')
      .sign(await importJWK(owner.key.privateJwk, 'EdDSA'));
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;

    const cases: Array<[string | undefined, RegExp]> = [
      [`Bearer ${expired}`, /^token expired at /],
      [`Bearer ${forged}`, /^token signature is invalid/],
      [`Bearer ${tampered}`, /^token signature is invalid/],
      [`Bearer ${await stranger.token()}`, /^unknown owner: .* is not registered/],
      [`Bearer ${foreignAudience}`, /^token audience does not match/],
      [`Bearer ${none}`, /^token algorithm "none" is not accepted/],
      ['Basic dXNlcjpwYXNz', /^malformed Authorization header/],
      ['Bearer not-a-jwt', /^malformed token/],
      [undefined, /^missing token/],
    ];
    for (const [authorization, reason] of cases) {
      logs.length = 0;
      expect(await authorize(authorization), String(reason)).toEqual({ isAuthorized: false });
      const lines = logs.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.find((line) => line.message === 'denied')?.reason).toMatch(reason);
      if (authorization !== undefined) expect(logs.join('')).not.toContain(authorization.slice(7));
    }
  });

  it('fails (503 at the gateway) instead of denying when the registry cannot be read', async () => {
    const table = process.env.BLINDSIGHT_TABLE;
    process.env.BLINDSIGHT_TABLE = 'no-such-table';
    resetStorageFactories();
    resetCs1Services();
    resetAccountServices();
    try {
      await expect(authorize(`Bearer ${await owner.token()}`)).rejects.toThrow();
    } finally {
      process.env.BLINDSIGHT_TABLE = table;
      resetStorageFactories();
      resetCs1Services();
      resetAccountServices();
    }
    expect((await authorize(`Bearer ${await owner.token()}`)).isAuthorized).toBe(true);
  });
});
