/**
 * The user's side of GenKey: `user request-key` draws the user's random invertible W (kept in
 * the home, 0600) and writes the request the owner's `enroll` reads; `user import <grant>`
 * checks the owner's grant against that W and keeps it in the home.
 */
import { info, warn } from '../../../lib/client/events';
import { loadUserSecret, userPaths } from '../../../lib/client/node/user-home';
import { ensurePrivateDir, exists, isExposed, parseJson, readUserFile, writePrivateFile, writePrivateJson } from '../../../lib/client/node/private-files';
import { DEFAULT_USER_DIMENSION, keyRequestOf, openGrant } from '../../../lib/client/user-session';
import { InvalidInputError } from '../../../lib/core/errors';
import { encodeUserSecret } from '../../../lib/sei/key-formats';
import { MAX_SEI_DIMENSION } from '../../../lib/sei/owner-key';
import { generateUserSecret } from '../../../lib/sei/user-key';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { hintForWrongFile } from '../hints';
import type { OwnerId, UserId } from '../../../lib/core/ids';

export interface RequestKeyOptions {
  /** The owner's index dimension d (default 128). */
  readonly dimension?: number;
  /** Where to write the request (default <home>/user/key-request.json). */
  readonly out?: string;
  /** Draw a new W even if one exists (a grant made for the old one stops working). */
  readonly renew?: boolean;
}

export interface RequestKeyResult {
  readonly request: string;
  readonly d: number;
  /** False when the existing W was reused. */
  readonly created: boolean;
}

export async function userRequestKey(context: CommandContext, options: RequestKeyOptions = {}): Promise<RequestKeyResult> {
  const paths = userPaths(context.home);
  const d = options.dimension ?? DEFAULT_USER_DIMENSION;
  if (!Number.isInteger(d) || d < 2 || d > MAX_SEI_DIMENSION) throw new InvalidInputError(`--dimension must be an integer from 2 to ${MAX_SEI_DIMENSION}`);
  let secretBytes: Uint8Array;
  let created = false;
  if ((await exists(paths.secret)) && !options.renew) {
    const existing = await loadUserSecret(context.home);
    if (existing.secret.d !== d) {
      throw new InvalidInputError(
        `this home already has a user key of dimension ${existing.secret.d}; pass --renew to draw a new one for d = ${d} (grants for the old key stop working)`,
      );
    }
    secretBytes = existing.bytes;
    info(context.listener, `reusing the user key in ${paths.secret}`);
  } else {
    await ensurePrivateDir(context.home);
    secretBytes = encodeUserSecret(generateUserSecret(d));
    await writePrivateFile(paths.secret, secretBytes);
    created = true;
    info(context.listener, `created a user key (random invertible W, d = ${d}) in ${paths.secret}`);
  }
  const out = options.out !== undefined ? resolvePath(context, options.out) : paths.request;
  await writePrivateJson(out, keyRequestOf(secretBytes, d, context.now()));
  info(context.listener, `key request written to ${out}: give it to the owner privately (it holds your W)`);
  return { request: out, d, created };
}

export interface ImportResult {
  readonly ownerId: OwnerId;
  readonly userId: UserId;
  readonly endpoint: string;
  /** The index searches use by default (the sealed one when the grant has one). */
  readonly index: string;
  readonly sealedIndex?: string;
  readonly seiIndex?: string;
  readonly identifyIndex?: string;
  readonly tokenExpiresAt: string;
  readonly grant: string;
}

export async function userImport(context: CommandContext, grantPath: string): Promise<ImportResult> {
  const path = resolvePath(context, grantPath);
  const bytes = await readUserFile(path, 'grant');
  const parsed = parseJson(bytes, path, 'grant');
  hintForWrongFile(parsed, 'grant', path);
  const { secret, bytes: secretBytes } = await loadUserSecret(context.home);
  const { grant } = await openGrant(parsed, secretBytes, secret, `grant ${path}`);
  const indexes = [
    ...(grant.sealed ? [`sealed index "${grant.sealed.indexName}"`] : []),
    ...(grant.sei.indexName !== undefined ? [`SEI index "${grant.sei.indexName}"`] : []),
    ...(grant.twoServer ? [`identification index "${grant.twoServer.indexName}"`] : []),
  ];
  const paths = userPaths(context.home);
  await writePrivateFile(paths.grant, bytes);
  info(
    context.listener,
    `imported the grant of owner ${grant.ownerId} for user "${grant.userId}": ${indexes.join(', ')} at ${grant.endpoint}; token valid until ${grant.tokenExpiresAt}`,
  );
  if (await isExposed(path)) warn(context.listener, `${path} holds your keys and token and other users can read it: delete it`);
  return {
    ownerId: grant.ownerId,
    userId: grant.userId,
    endpoint: grant.endpoint,
    index: (grant.sealed?.indexName ?? grant.sei.indexName)!,
    ...(grant.sealed ? { sealedIndex: grant.sealed.indexName } : {}),
    ...(grant.sei.indexName !== undefined ? { seiIndex: grant.sei.indexName } : {}),
    ...(grant.twoServer ? { identifyIndex: grant.twoServer.indexName } : {}),
    tokenExpiresAt: grant.tokenExpiresAt,
    grant: paths.grant,
  };
}
