/**
 * The user's folder (<home>/user, mode 0700; files 0600):
 *
 *   user-secret.key        the user's random invertible W ("BSUS"), made by `user request-key`
 *   key-request.json       the request for the owner (W inside: it goes only to the owner)
 *   grant.json             the owner's grant, imported by `user import`
 *   he-public-<keyId>.bin  cached HE public material of the identification index
 */
import { join } from 'node:path';
import { Cs1Client } from '../../../lib/client/cs1-client';
import { isServiceError } from '../../../lib/client/errors';
import { UnauthorizedError } from '../../../lib/core/errors';
import { decodeImageKey } from '../../../lib/crypto/image-envelope';
import type { ImageKey } from '../../../lib/crypto/types';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { decodePcaModel } from '../../../lib/ml/pca-format';
import type { PcaModel } from '../../../lib/ml/types';
import { decodeUserKey, decodeUserSecret } from '../../../lib/sei/key-formats';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import type { UserKey, UserSecret } from '../../../lib/sei/types';
import type { CommandContext } from '../context';
import { resolveEndpoint } from '../endpoint';
import { LocalFileError } from '../errors';
import { decodeGrant, sha256Hex } from '../formats';
import type { Grant } from '../formats';
import { exists, parseJson, readPrivateFile } from '../secure-files';

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

export interface UserState {
  readonly paths: UserPaths;
  readonly secret: UserSecret;
  readonly grant: Grant;
  readonly userKey: UserKey;
  readonly imageKey: ImageKey;
  readonly pca: PcaModel;
  readonly decoys: VectorSet;
  readonly trapdoors: TrapdoorGenerator;
}

export async function loadUserSecret(context: CommandContext): Promise<{ secret: UserSecret; bytes: Uint8Array }> {
  const paths = userPaths(context.home);
  if (!(await exists(paths.secret))) {
    throw new LocalFileError(paths.secret, `no user key in ${context.home}: run "blindsight user request-key" first (or pass --home)`, 'NOT_FOUND');
  }
  const bytes = await readPrivateFile(paths.secret, 'the user secret');
  return { secret: decodeUserSecret(bytes), bytes };
}

/** Everything a grant holds, checked against the user's own W. */
export function openGrant(value: unknown, secretBytes: Uint8Array, secret: UserSecret, what: string) {
  const decoded = decodeGrant(value, what);
  const { grant } = decoded;
  if (grant.requestSha256 !== sha256Hex(secretBytes)) {
    throw new LocalFileError(what, `${what} was issued for another key request, not for the user key in this home: import it with the --home you ran "user request-key" in`, 'INVALID_INPUT');
  }
  const userKey = decodeUserKey(decoded.userKey);
  if (userKey.d !== grant.sei.d || secret.d !== grant.sei.d) {
    throw new LocalFileError(what, `${what}: its user key has dimension ${userKey.d}, the index ${grant.sei.d}, your key ${secret.d}`, 'MALFORMED_DATA');
  }
  const pca = decodePcaModel(decoded.pca);
  if (pca.components > grant.sei.d || pca.inputDimension !== grant.features.dimension) {
    throw new LocalFileError(what, `${what}: its PCA (${pca.inputDimension} -> ${pca.components}) does not fit features of ${grant.features.dimension} and d = ${grant.sei.d}`, 'MALFORMED_DATA');
  }
  return {
    grant,
    userKey,
    imageKey: decodeImageKey(decoded.imageKey),
    pca,
    decoys: { n: decoded.decoys.n, d: decoded.decoys.d, data: decoded.decoys.data },
    trapdoors: new TrapdoorGenerator(userKey, secret),
  };
}

export async function loadUser(context: CommandContext): Promise<UserState> {
  const paths = userPaths(context.home);
  const { secret, bytes } = await loadUserSecret(context);
  if (!(await exists(paths.grant))) {
    throw new LocalFileError(paths.grant, `no grant in ${context.home}: ask the owner to enroll you, then run "blindsight user import <grant file>"`, 'NOT_FOUND');
  }
  const value = parseJson(await readPrivateFile(paths.grant, 'the grant'), paths.grant, 'the grant');
  return { paths, secret, ...openGrant(value, bytes, secret, paths.grant) };
}

/** A client with the user's token; refuses locally a token that has already expired. */
export async function userClient(context: CommandContext, user: UserState): Promise<Cs1Client> {
  const expires = Date.parse(user.grant.tokenExpiresAt);
  if (Number.isFinite(expires) && expires <= context.now().getTime()) {
    throw new UnauthorizedError(`your token expired at ${user.grant.tokenExpiresAt}: ask the owner to enroll you again and import the new grant`);
  }
  const endpoint = await resolveEndpoint({ flag: context.endpointFlag, stored: user.grant.endpoint, env: context.env });
  return new Cs1Client({ endpoint, token: user.grant.token });
}

/** A refused token, said the way a user can act on. */
export function explainRefusal(error: unknown, user: UserState): unknown {
  if (isServiceError(error) && (error.status === 401 || error.status === 403) && error.serverCode === undefined) {
    return new UnauthorizedError(
      `CS1 refused your token (user "${user.grant.userId}"): the owner has revoked your access, or the token is no longer valid ` +
        `(it expires ${user.grant.tokenExpiresAt}); ask the owner for a new grant`,
    );
  }
  return error;
}
