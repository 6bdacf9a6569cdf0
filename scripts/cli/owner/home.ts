/**
 * The owner's folder (<home>/owner, mode 0700; every file 0600):
 *
 *   owner.json                  owner id, endpoint, dimension d, key ids (no secrets)
 *   signing-key.jwk             Ed25519 private key: signs the owner's and the users' tokens
 *   sei-owner.key               SEI owner secret {M, r, S, pi, theta, X} ("BSOK")
 *   image.key                   AES-256-GCM image key ("BSIK")
 *   placement.key               the owner's own W ("BSUS"): placement trapdoors for `owner add`
 *   index/                      the last `owner index` build (replaced as a whole):
 *     manifest.json             images (id, file), model, PCA size, two-server reference
 *     pca.bin, decoys.bin       the PCA model; projected features of a random sample (decoys)
 *     sei/skeleton.bin, sei/leaves.bin
 *     images/<imageId>.bsie     encrypted images
 *     two-server/*.bin          records, cs1-index, evaluation, public; cs2-secret.bin for CS2
 *   published.json              what was last published where
 *   users.json                  enrolled users
 *   grants/<userId>.grant.json  grants written by `owner enroll`
 */
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { exportJWK, importJWK } from 'jose';
import { assertEd25519PrivateJwk } from '../../../lib/auth/signing-key';
import { issueToken } from '../../../lib/auth/tokens';
import type { Ed25519PrivateJwk } from '../../../lib/auth/types';
import { Cs1Client } from '../../../lib/client/cs1-client';
import { InvalidInputError } from '../../../lib/core/errors';
import { decodeImageKey } from '../../../lib/crypto/image-envelope';
import type { ImageKey } from '../../../lib/crypto/types';
import { decodePcaModel } from '../../../lib/ml/pca-format';
import type { PcaModel } from '../../../lib/ml/types';
import { decodeOwnerSecret, decodeUserSecret } from '../../../lib/sei/key-formats';
import type { OwnerSecret, UserSecret } from '../../../lib/sei/types';
import { CS1_AUDIENCE } from '../../../lib/service/cs1/token-authorizer';
import { resolveEndpoint } from '../endpoint';
import type { CommandContext } from '../context';
import { LocalFileError } from '../errors';
import type { FeatureSpec, TwoServerReference } from '../formats';
import { exists, parseJson, readPrivateFile, writePrivateJson } from '../secure-files';

export const OWNER_FORMAT = 'blindsight-owner';
export const INDEX_MANIFEST_FORMAT = 'blindsight-owner-index';
/** Owner tokens are signed per command and live one hour. */
const OWNER_TOKEN_SECONDS = 60 * 60;

export interface OwnerPaths {
  readonly dir: string;
  readonly config: string;
  readonly signingKey: string;
  readonly seiSecret: string;
  readonly imageKey: string;
  readonly placementKey: string;
  readonly indexDir: string;
  readonly published: string;
  readonly users: string;
  readonly grantsDir: string;
}

export function ownerPaths(home: string): OwnerPaths {
  const dir = join(home, 'owner');
  return {
    dir,
    config: join(dir, 'owner.json'),
    signingKey: join(dir, 'signing-key.jwk'),
    seiSecret: join(dir, 'sei-owner.key'),
    imageKey: join(dir, 'image.key'),
    placementKey: join(dir, 'placement.key'),
    indexDir: join(dir, 'index'),
    published: join(dir, 'published.json'),
    users: join(dir, 'users.json'),
    grantsDir: join(dir, 'grants'),
  };
}

/** Files of one index build, under `dir` (index/ or a staging folder next to it). */
export function indexPaths(dir: string) {
  return {
    dir,
    manifest: join(dir, 'manifest.json'),
    pca: join(dir, 'pca.bin'),
    decoys: join(dir, 'decoys.bin'),
    seiSkeleton: join(dir, 'sei', 'skeleton.bin'),
    seiLeaves: join(dir, 'sei', 'leaves.bin'),
    imagesDir: join(dir, 'images'),
    envelope: (imageId: string) => join(dir, 'images', `${imageId}.bsie`),
    twoServerDir: join(dir, 'two-server'),
    twoServerPart: (part: string) => join(dir, 'two-server', `${part}.bin`),
    cs2Secret: join(dir, 'two-server', 'cs2-secret.bin'),
  };
}

export interface OwnerConfig {
  readonly format: typeof OWNER_FORMAT;
  readonly version: 1;
  readonly ownerId: string;
  /** CS1 endpoint chosen at init (commands may override it with --endpoint). */
  readonly endpoint: string;
  /** SEI feature dimension d of the owner secret. */
  readonly d: number;
  readonly createdAt: string;
  readonly seiKeyId: string;
  readonly imageKeyId: string;
}

export interface ManifestImage {
  readonly imageId: string;
  /** Absolute path of the source file when it was indexed or added. */
  readonly file: string;
  /** Path relative to the indexed folder ('added/<name>' for images added one by one). */
  readonly relative: string;
  readonly bytes: number;
  readonly added?: boolean;
}

export interface IndexManifest {
  readonly format: typeof INDEX_MANIFEST_FORMAT;
  readonly version: 1;
  readonly builtAt: string;
  readonly folder: string;
  readonly features: FeatureSpec;
  readonly d: number;
  readonly pcaComponents: number;
  readonly sei: { readonly indexName: string; readonly leafCount: number; readonly depth: number };
  readonly images: ManifestImage[];
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
  readonly twoServer?: TwoServerReference & { readonly templateCount: number; readonly skipped: ReadonlyArray<{ readonly file: string; readonly reason: string }> };
}

export interface PublishedState {
  readonly endpoint: string;
  readonly sei?: { readonly indexName: string; readonly version: string; readonly publishedAt: string; readonly imageCount: number };
  readonly twoServer?: { readonly indexName: string; readonly version: string; readonly publishedAt: string; readonly keyId: string; readonly cs2: string };
}

export interface UsersState {
  readonly users: Record<string, { readonly enrolledAt: string; readonly status: 'active' | 'revoked'; readonly tokenExpiresAt?: string; readonly revokedAt?: string }>;
}

/** The owner's keys and configuration, loaded for a command. */
export interface OwnerState {
  readonly paths: OwnerPaths;
  readonly config: OwnerConfig;
  readonly signingKey: Ed25519PrivateJwk;
  readonly seiSecret: OwnerSecret;
  readonly imageKey: ImageKey;
  readonly placement: UserSecret;
}

export async function isOwnerInitialised(home: string): Promise<boolean> {
  return exists(ownerPaths(home).config);
}

async function readJson(path: string, what: string): Promise<unknown> {
  return parseJson(await readPrivateFile(path, what), path, what);
}

export async function loadOwner(context: CommandContext): Promise<OwnerState> {
  const paths = ownerPaths(context.home);
  if (!(await exists(paths.config))) {
    throw new LocalFileError(paths.config, `no owner in ${context.home}: run "blindsight owner init" first (or pass --home)`, 'NOT_FOUND');
  }
  const config = (await readJson(paths.config, 'the owner configuration')) as OwnerConfig;
  if (config?.format !== OWNER_FORMAT || config.version !== 1 || typeof config.ownerId !== 'string') {
    throw new LocalFileError(paths.config, `${paths.config} is not an owner configuration of this version`, 'MALFORMED_DATA');
  }
  const jwk = await readJson(paths.signingKey, 'the signing key');
  assertEd25519PrivateJwk(jwk);
  return {
    paths,
    config,
    signingKey: jwk,
    seiSecret: decodeOwnerSecret(await readPrivateFile(paths.seiSecret, 'the SEI owner secret')),
    imageKey: decodeImageKey(await readPrivateFile(paths.imageKey, 'the image key')),
    placement: decodeUserSecret(await readPrivateFile(paths.placementKey, 'the placement key')),
  };
}

/** The endpoint for this command: --endpoint / BLINDSIGHT_ENDPOINT, else the one saved at init. */
export function ownerEndpoint(context: CommandContext, owner: OwnerState): Promise<string> {
  return resolveEndpoint({ flag: context.endpointFlag, stored: owner.config.endpoint, env: context.env });
}

/** A client of CS1 holding a fresh one-hour owner token. */
export async function ownerClient(context: CommandContext, owner: OwnerState): Promise<Cs1Client> {
  const token = await issueToken(owner.signingKey, {
    ownerId: owner.config.ownerId,
    role: 'owner',
    expiresInSeconds: OWNER_TOKEN_SECONDS,
    audience: CS1_AUDIENCE,
    now: context.now(),
  });
  return new Cs1Client({ endpoint: await ownerEndpoint(context, owner), token });
}

/** Round-trips a private JWK through jose to make sure it is a usable Ed25519 key. */
export async function checkSigningKey(jwk: Ed25519PrivateJwk): Promise<void> {
  try {
    await exportJWK(await importJWK(jwk, 'EdDSA'));
  } catch {
    throw new InvalidInputError('the signing key is not a usable Ed25519 private key');
  }
}

export async function loadManifest(paths: OwnerPaths): Promise<IndexManifest> {
  const path = indexPaths(paths.indexDir).manifest;
  if (!(await exists(path))) {
    throw new LocalFileError(path, 'nothing indexed yet: run "blindsight owner index <folder>" first', 'NOT_FOUND');
  }
  const manifest = (await readJson(path, 'the index manifest')) as IndexManifest;
  if (manifest?.format !== INDEX_MANIFEST_FORMAT || manifest.version !== 1 || !Array.isArray(manifest.images)) {
    throw new LocalFileError(path, `${path} is not an index manifest of this version: run "blindsight owner index" again`, 'MALFORMED_DATA');
  }
  return manifest;
}

export async function saveManifest(paths: OwnerPaths, manifest: IndexManifest): Promise<void> {
  await writePrivateJson(indexPaths(paths.indexDir).manifest, manifest);
}

export async function loadPca(paths: OwnerPaths): Promise<PcaModel> {
  return decodePcaModel(await readPrivateFile(indexPaths(paths.indexDir).pca, 'the PCA model'));
}

export async function loadPublished(paths: OwnerPaths): Promise<PublishedState | undefined> {
  if (!(await exists(paths.published))) return undefined;
  return (await readJson(paths.published, 'the publish record')) as PublishedState;
}

export async function loadUsers(paths: OwnerPaths): Promise<UsersState> {
  if (!(await exists(paths.users))) return { users: {} };
  return (await readJson(paths.users, 'the user list')) as UsersState;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/**
 * 18 base32 characters: 90 bits (a collision among a million images has probability ~1e-15).
 * Short ids also keep CS1's image-directory shard entries within the writer's size estimate.
 */
const IMAGE_ID_LENGTH = 18;

/**
 * The image id CS1 sees for a file: a keyed hash of its relative path (the key derived from the
 * image key), so ids reveal nothing about file names, and the same file keeps its id when the
 * folder is indexed again.
 */
export function imageIdOf(imageKey: ImageKey, relativePath: string): string {
  const digest = createHmac('sha256', imageKey.raw).update(`blindsight-image-id/v1\0${relativePath}`).digest();
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < IMAGE_ID_LENGTH) {
      out += BASE32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (out.length >= IMAGE_ID_LENGTH) break;
  }
  return out;
}
