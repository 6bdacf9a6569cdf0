/**
 * The user's side of GenKey: `user request-key` draws the user's random invertible W (kept in
 * the home, 0600) and writes the request the owner's `enroll` reads; `user import <grant>`
 * checks the owner's grant against that W and keeps it in the home.
 */
import { InvalidInputError } from '../../../lib/core/errors';
import { MAX_SEI_DIMENSION } from '../../../lib/sei/owner-key';
import { encodeUserSecret } from '../../../lib/sei/key-formats';
import { generateUserSecret } from '../../../lib/sei/user-key';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { FORMAT_VERSION, KEY_REQUEST_FORMAT, toBase64 } from '../formats';
import type { KeyRequest } from '../formats';
import { ensurePrivateDir, exists, isExposed, parseJson, readUserFile, writePrivateFile, writePrivateJson } from '../secure-files';
import { loadUserSecret, openGrant, userPaths } from './home';

export const DEFAULT_USER_DIMENSION = 128;

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
    const existing = await loadUserSecret(context);
    if (existing.secret.d !== d) {
      throw new InvalidInputError(
        `this home already has a user key of dimension ${existing.secret.d}; pass --renew to draw a new one for d = ${d} (grants for the old key stop working)`,
      );
    }
    secretBytes = existing.bytes;
    context.reporter.info(`reusing the user key in ${paths.secret}`);
  } else {
    await ensurePrivateDir(context.home);
    secretBytes = encodeUserSecret(generateUserSecret(d));
    await writePrivateFile(paths.secret, secretBytes);
    created = true;
    context.reporter.info(`created a user key (random invertible W, d = ${d}) in ${paths.secret}`);
  }
  const request: KeyRequest = {
    format: KEY_REQUEST_FORMAT,
    version: FORMAT_VERSION,
    createdAt: context.now().toISOString(),
    d,
    userSecret: toBase64(secretBytes),
  };
  const out = options.out !== undefined ? resolvePath(context, options.out) : paths.request;
  await writePrivateJson(out, request);
  context.reporter.info(`key request written to ${out}: give it to the owner privately (it holds your W)`);
  return { request: out, d, created };
}

export interface ImportResult {
  readonly ownerId: string;
  readonly userId: string;
  readonly endpoint: string;
  readonly index: string;
  readonly identifyIndex?: string;
  readonly tokenExpiresAt: string;
  readonly grant: string;
}

export async function userImport(context: CommandContext, grantPath: string): Promise<ImportResult> {
  const path = resolvePath(context, grantPath);
  const bytes = await readUserFile(path, 'grant');
  const { secret, bytes: secretBytes } = await loadUserSecret(context);
  const { grant } = openGrant(parseJson(bytes, path, 'grant'), secretBytes, secret, `grant ${path}`);
  const paths = userPaths(context.home);
  await writePrivateFile(paths.grant, bytes);
  context.reporter.info(
    `imported the grant of owner ${grant.ownerId} for user "${grant.userId}": index "${grant.sei.indexName}"` +
      `${grant.twoServer ? ` and identification index "${grant.twoServer.indexName}"` : ''} at ${grant.endpoint}; token valid until ${grant.tokenExpiresAt}`,
  );
  if (await isExposed(path)) context.reporter.warn(`${path} holds your keys and token and other users can read it: delete it`);
  return {
    ownerId: grant.ownerId,
    userId: grant.userId,
    endpoint: grant.endpoint,
    index: grant.sei.indexName,
    ...(grant.twoServer ? { identifyIndex: grant.twoServer.indexName } : {}),
    tokenExpiresAt: grant.tokenExpiresAt,
    grant: paths.grant,
  };
}
