/**
 * The user's folder (<home>/user, mode 0700; files 0600):
 *
 *   user-secret.key        the user's random invertible W ("BSUS"), made by `user request-key`
 *   key-request.json       the request for the owner (W inside: it goes only to the owner)
 *   grant.json             the owner's grant, imported by `user import`
 *   he-public-<keyId>.bin  cached HE public material of the identification index
 */
import { join } from 'node:path';
import { decodeUserSecret } from '../../sei/key-formats';
import type { UserSecret } from '../../sei/types';
import type { PublicMaterialCache } from '../user-identify';
import { openGrant } from '../user-session';
import type { UserSession } from '../user-session';
import { LocalFileError } from './file-errors';
import { exists, parseJson, readPrivateFile, writePrivateFile } from './private-files';

export interface UserPaths {
  readonly dir: string;
  readonly secret: string;
  readonly request: string;
  readonly grant: string;
  readonly publicMaterial: (keyId: string) => string;
}

export function userPaths(home: string): UserPaths {
  const dir = join(home, 'user');
  return {
    dir,
    secret: join(dir, 'user-secret.key'),
    request: join(dir, 'key-request.json'),
    grant: join(dir, 'grant.json'),
    publicMaterial: (keyId) => join(dir, `he-public-${keyId.replace(/[^A-Za-z0-9]/g, '')}.bin`),
  };
}

export async function loadUserSecret(home: string): Promise<{ secret: UserSecret; bytes: Uint8Array }> {
  const paths = userPaths(home);
  if (!(await exists(paths.secret))) {
    throw new LocalFileError(paths.secret, `no user key in ${home}: run "blindsight user request-key" first (or pass --home)`, 'NOT_FOUND');
  }
  const bytes = await readPrivateFile(paths.secret, 'the user secret');
  return { secret: decodeUserSecret(bytes), bytes };
}

/** The user's session from the home: their W and the imported grant, checked against each other. */
export async function loadUserSession(home: string): Promise<UserSession & { paths: UserPaths }> {
  const paths = userPaths(home);
  const { secret, bytes } = await loadUserSecret(home);
  if (!(await exists(paths.grant))) {
    throw new LocalFileError(paths.grant, `no grant in ${home}: ask the owner to enroll you, then run "blindsight user import <grant file>"`, 'NOT_FOUND');
  }
  const value = parseJson(await readPrivateFile(paths.grant, 'the grant'), paths.grant, 'the grant');
  return { paths, ...(await openGrant(value, bytes, secret, paths.grant)) };
}

/** HE public material cached in the home. */
export function publicMaterialFiles(paths: UserPaths): PublicMaterialCache {
  return {
    get: async (keyId) => ((await exists(paths.publicMaterial(keyId))) ? readPrivateFile(paths.publicMaterial(keyId), 'the cached HE public material') : undefined),
    put: (keyId, bytes) => writePrivateFile(paths.publicMaterial(keyId), bytes),
  };
}
