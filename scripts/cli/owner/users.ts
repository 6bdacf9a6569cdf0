/**
 * The owner's side of users: `owner enroll <userId> --request <file>` (GenKey through
 * lib/client/owner-enroll: the user's W in, a grant out) and `owner revoke <userId>` (CS1
 * refuses the user's token from its next request on).
 */
import { join } from 'node:path';
import { info, warn } from '../../../lib/client/events';
import { BUILD_FILES } from '../../../lib/client/build-files';
import { decodeKeyRequest } from '../../../lib/client/formats';
import { buildSource, loadManifest, loadPublished, loadUsers, saveUsers } from '../../../lib/client/node/owner-home';
import { isExposed, parseJson, readUserFile, writePrivateJson } from '../../../lib/client/node/private-files';
import { enrollUser } from '../../../lib/client/owner-enroll';
import { parseUserId } from '../../../lib/core/ids';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { hintForWrongFile } from '../hints';
import { openOwner } from './owner-command';
import type { UserId } from '../../../lib/core/ids';

export interface EnrollOptions {
  readonly userId: UserId;
  /** The user's key request file. */
  readonly request: string;
  /** Where to write the grant (default <home>/owner/grants/<userId>.grant.json). */
  readonly out?: string;
  /** Lifetime of the user's token in days (1..30). */
  readonly tokenDays?: number;
}

export interface EnrollResult {
  readonly userId: UserId;
  readonly grant: string;
  readonly tokenExpiresAt: string;
  readonly status: 'active';
  readonly reactivated: boolean;
}

export async function ownerEnroll(context: CommandContext, options: EnrollOptions): Promise<EnrollResult> {
  const userId = parseUserId(options.userId);
  const command = await openOwner(context);
  const { owner, paths } = command;
  // The grant carries the PCA of the current build: the user must project exactly like the index.
  const manifest = await loadManifest(paths);
  const requestPath = resolvePath(context, options.request);
  const parsed = parseJson(await readUserFile(requestPath, 'key request'), requestPath, 'key request');
  hintForWrongFile(parsed, 'key request', requestPath);
  const { request, userSecret } = decodeKeyRequest(parsed, `key request ${requestPath}`);
  const published = await loadPublished(paths);
  const build = buildSource(paths);
  const endpoint = await command.endpoint();
  const now = context.now();
  const { grant, record, tokenExpiresAt } = await enrollUser({
    owner,
    client: await command.client(),
    userId,
    request,
    userSecret,
    manifest,
    pca: await build.get(BUILD_FILES.pca, 'the PCA model'),
    decoys: await build.get(BUILD_FILES.decoys, 'the decoy pool'),
    ...(manifest.sealed ? { indexKey: await build.get(BUILD_FILES.sealedKey, 'the sealed index key') } : {}),
    endpoint: endpoint.url,
    tokenDays: options.tokenDays,
    ...(published?.builtAt === manifest.builtAt && published.sei ? { publishedVersion: published.sei.version } : {}),
    now,
  });
  if (published?.builtAt !== manifest.builtAt) {
    warn(context.listener, 'this build is not published yet: publish it ("blindsight owner publish") before the user searches, or their searches use the old index');
  }
  const out = options.out !== undefined ? resolvePath(context, options.out) : join(paths.grantsDir, `${options.userId}.grant.json`);
  await writePrivateJson(out, grant);
  const users = await loadUsers(paths);
  await saveUsers(paths, { users: { ...users.users, [options.userId]: { enrolledAt: now.toISOString(), status: 'active', tokenExpiresAt } } });
  if (await isExposed(requestPath)) warn(context.listener, `${requestPath} holds the user's secret W and others can read it: delete it`);
  info(context.listener, `user "${options.userId}" is active; grant written to ${out} (token valid until ${tokenExpiresAt})`);
  info(context.listener, "the grant holds the image key and the user's token: hand it over privately, then delete your copy");
  return { userId: options.userId, grant: out, tokenExpiresAt, status: 'active', reactivated: record.reactivationCount > 0 };
}

export interface RevokeResult {
  readonly userId: UserId;
  readonly status: 'revoked';
  readonly revokedAt: string;
}

export async function ownerRevoke(context: CommandContext, userArgument: string): Promise<RevokeResult> {
  const userId = parseUserId(userArgument);
  const command = await openOwner(context);
  const record = await (await command.client()).revokeUser(command.owner.config.ownerId, userId);
  const revokedAt = record.revokedAt ?? context.now().toISOString();
  const users = await loadUsers(command.paths);
  const previous = users.users[userId];
  await saveUsers(command.paths, { users: { ...users.users, [userId]: { ...(previous ?? { enrolledAt: record.createdAt }), status: 'revoked', revokedAt } } });
  info(context.listener, `user "${userId}" revoked: CS1 refuses its token from the next request on`);
  return { userId, status: 'revoked', revokedAt };
}
