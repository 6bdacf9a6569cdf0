/**
 * The owner's side of users: `owner enroll <userId> --request <file>` (GenKey: the user's W
 * in, a grant with Abar/U, the image key, the PCA, a decoy pool and a signed user token out)
 * and `owner revoke <userId>` (CS1 refuses the user's token from its next request on).
 */
import { join } from 'node:path';
import { issueToken } from '../../../lib/auth/tokens';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../../lib/auth/types';
import { encodeImageKey } from '../../../lib/crypto/image-envelope';
import { InvalidInputError } from '../../../lib/core/errors';
import { decodeUserSecret, encodeUserKey } from '../../../lib/sei/key-formats';
import { issueUserKey } from '../../../lib/sei/user-key';
import { CS1_AUDIENCE } from '../../../lib/service/cs1/token-authorizer';
import { assertUserId } from '../../../lib/storage/identifiers';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { decodeKeyRequest, FORMAT_VERSION, GRANT_FORMAT, sha256Hex, toBase64 } from '../formats';
import type { Grant } from '../formats';
import { isExposed, parseJson, readPrivateFile, readUserFile, writePrivateJson } from '../secure-files';
import { indexPaths, loadManifest, loadOwner, loadUsers, ownerClient, ownerEndpoint } from './home';

export const DEFAULT_TOKEN_DAYS = 30;
const DAY_SECONDS = 24 * 60 * 60;

export interface EnrollOptions {
  readonly userId: string;
  /** The user's key request file. */
  readonly request: string;
  /** Where to write the grant (default <home>/owner/grants/<userId>.grant.json). */
  readonly out?: string;
  /** Lifetime of the user's token in days (1..30). */
  readonly tokenDays?: number;
}

export interface EnrollResult {
  readonly userId: string;
  readonly grant: string;
  readonly tokenExpiresAt: string;
  readonly status: 'active';
  readonly reactivated: boolean;
}

export async function ownerEnroll(context: CommandContext, options: EnrollOptions): Promise<EnrollResult> {
  assertUserId(options.userId);
  const days = options.tokenDays ?? DEFAULT_TOKEN_DAYS;
  const maxDays = MAX_TOKEN_LIFETIME_SECONDS.user / DAY_SECONDS;
  if (!Number.isInteger(days) || days < 1 || days > maxDays) throw new InvalidInputError(`--token-days must be an integer from 1 to ${maxDays}`);
  const owner = await loadOwner(context);
  // The grant carries the PCA of the current build: the user must project exactly like the index.
  const manifest = await loadManifest(owner.paths);
  const build = indexPaths(owner.paths.indexDir);

  const requestPath = resolvePath(context, options.request);
  const { request, userSecret } = decodeKeyRequest(parseJson(await readUserFile(requestPath, 'key request'), requestPath, 'key request'), `key request ${requestPath}`);
  if (request.d !== owner.config.d) {
    throw new InvalidInputError(
      `the key request was made for dimension ${request.d}, but this owner's index uses d = ${owner.config.d}: ` +
        `the user must run "blindsight user request-key --dimension ${owner.config.d}"`,
    );
  }
  const W = decodeUserSecret(userSecret);
  const userKey = issueUserKey(owner.seiSecret, W.W);

  const client = await ownerClient(context, owner);
  const record = await client.putUser(owner.config.ownerId, options.userId);
  const now = context.now();
  const token = await issueToken(owner.signingKey, {
    ownerId: owner.config.ownerId,
    role: 'user',
    userId: options.userId,
    expiresInSeconds: days * DAY_SECONDS,
    audience: CS1_AUDIENCE,
    now,
  });
  const tokenExpiresAt = new Date(now.getTime() + days * DAY_SECONDS * 1000).toISOString();
  const decoys = await readPrivateFile(build.decoys, 'the decoy pool');
  const grant: Grant = {
    format: GRANT_FORMAT,
    version: FORMAT_VERSION,
    issuedAt: now.toISOString(),
    ownerId: owner.config.ownerId,
    userId: options.userId,
    endpoint: await ownerEndpoint(context, owner),
    token,
    tokenExpiresAt,
    requestSha256: sha256Hex(userSecret),
    features: manifest.features,
    pca: toBase64(await readPrivateFile(build.pca, 'the PCA model')),
    sei: { indexName: manifest.sei.indexName, d: owner.config.d, userKey: toBase64(encodeUserKey(userKey)) },
    imageKey: toBase64(encodeImageKey(owner.imageKey)),
    decoys: { n: decoys.length / (8 * owner.config.d), d: owner.config.d, data: toBase64(decoys) },
    ...(manifest.twoServer
      ? {
          twoServer: {
            indexName: manifest.twoServer.indexName,
            embedding: manifest.twoServer.embedding,
            decimals: manifest.twoServer.decimals,
            maxAbs: manifest.twoServer.maxAbs,
            backend: manifest.twoServer.backend,
            keyId: manifest.twoServer.keyId,
            publicMaterialSha256: manifest.twoServer.publicMaterialSha256,
            defaultQuery: manifest.twoServer.defaultQuery,
          },
        }
      : {}),
  };
  const out = options.out !== undefined ? resolvePath(context, options.out) : join(owner.paths.grantsDir, `${options.userId}.grant.json`);
  await writePrivateJson(out, grant);

  const users = await loadUsers(owner.paths);
  await writePrivateJson(owner.paths.users, {
    users: { ...users.users, [options.userId]: { enrolledAt: now.toISOString(), status: 'active', tokenExpiresAt } },
  });
  if (await isExposed(requestPath)) context.reporter.warn(`${requestPath} holds the user's secret W and others can read it: delete it`);
  context.reporter.info(`user "${options.userId}" is active; grant written to ${out} (token valid until ${tokenExpiresAt})`);
  context.reporter.info('the grant holds the image key and the user\'s token: hand it over privately, then delete your copy');
  return { userId: options.userId, grant: out, tokenExpiresAt, status: 'active', reactivated: record.reactivationCount > 0 };
}

export interface RevokeResult {
  readonly userId: string;
  readonly status: 'revoked';
  readonly revokedAt: string;
}

export async function ownerRevoke(context: CommandContext, userId: string): Promise<RevokeResult> {
  assertUserId(userId);
  const owner = await loadOwner(context);
  const client = await ownerClient(context, owner);
  const record = await client.revokeUser(owner.config.ownerId, userId);
  const revokedAt = record.revokedAt ?? context.now().toISOString();
  const users = await loadUsers(owner.paths);
  const previous = users.users[userId];
  await writePrivateJson(owner.paths.users, {
    users: { ...users.users, [userId]: { ...(previous ?? { enrolledAt: record.createdAt }), status: 'revoked', revokedAt } },
  });
  context.reporter.info(`user "${userId}" revoked: CS1 refuses its token from the next request on`);
  return { userId, status: 'revoked', revokedAt };
}
