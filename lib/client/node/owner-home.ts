/**
 * The owner's folder (<home>/owner, mode 0700; every file 0600):
 *
 *   owner.json                  owner id, endpoint, dimension d, key ids (no secrets)
 *   signing-key.jwk             Ed25519 private key: signs the owner's and the users' tokens
 *   sei-owner.key               SEI owner secret {M, r, S, pi, theta, X} ("BSOK")
 *   image.key                   AES-256-GCM image key ("BSIK")
 *   placement.key               the owner's own W ("BSUS"): placement trapdoors for `owner add`
 *   index/                      the last `owner index` build (replaced as a whole):
 *     manifest.json             images (id, file), model, PCA size, the indexes built
 *     pca.bin, decoys.bin       the PCA model; projected features of a random sample (decoys)
 *     sealed/build.bin          the sealed index unsealed ("BSSB"; sealed per version at publish)
 *     sealed/index-key.bin      its AES-256 index key ("BSXK"), one per build
 *     sei/skeleton.bin, sei/leaves.bin
 *     images/<imageId>.bsie     encrypted images
 *     two-server/*.bin          records-NNNN (one per shard), cs1-index, evaluation, public;
 *                               cs2-secret.bin for CS2; provider-index.bin (the plaintext
 *                               templates) and provider.key (HE key) for `owner add/delete`
 *   published.json              what was last published where
 *   users.json                  enrolled users
 *   grants/<userId>.grant.json  grants written by `owner enroll`
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertEd25519PrivateJwk } from '../../auth/signing-key';
import { decodeImageKey, encodeImageKey } from '../../crypto/image-envelope';
import { decodePcaModel } from '../../ml/pca-format';
import type { PcaModel } from '../../ml/types';
import { decodeOwnerSecret, decodeUserSecret, encodeOwnerSecret, encodeUserSecret } from '../../sei/key-formats';
import { BUILD_FILES } from '../build-files';
import type { BuildFiles, BuildSink, BuildSource } from '../build-files';
import { INDEX_MANIFEST_FORMAT, OWNER_FORMAT } from '../owner-state';
import type { IndexManifest, Owner, OwnerConfig, PublishedState, UsersState } from '../owner-state';
import { fileError, LocalFileError } from './file-errors';
import { ensurePrivateDir, exists, parseJson, readPrivateFile, writePrivateFile, writePrivateJson } from './private-files';
import { parseImageId, parseIndexName, parseOwnerId, parseStoredId, parseVersionId } from '../../core/ids';

export interface OwnerPaths {
  readonly home: string;
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
    home,
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

/** A build file's path under a build folder (index/ or a staging folder next to it). */
export function buildPath(dir: string, file: string): string {
  return join(dir, ...file.split('/'));
}

function manifestPath(paths: OwnerPaths): string {
  return join(paths.indexDir, 'manifest.json');
}

export async function isOwnerInitialised(home: string): Promise<boolean> {
  return exists(ownerPaths(home).config);
}

async function readJson(path: string, what: string): Promise<unknown> {
  return parseJson(await readPrivateFile(path, what), path, what);
}

export async function loadOwner(home: string): Promise<Owner & { paths: OwnerPaths }> {
  const paths = ownerPaths(home);
  if (!(await exists(paths.config))) {
    throw new LocalFileError(paths.config, `no owner in ${home}: run "blindsight owner init" first (or pass --home)`, 'NOT_FOUND');
  }
  const config = (await readJson(paths.config, 'the owner configuration')) as OwnerConfig;
  if (config?.format !== OWNER_FORMAT || config.version !== 1) {
    throw new LocalFileError(paths.config, `${paths.config} is not an owner configuration of this version`, 'MALFORMED_DATA');
  }
  parseStoredId(parseOwnerId, config.ownerId, paths.config);
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

/** Keeps a new owner's keys; owner.json is written last: its presence marks a complete owner. */
export async function saveNewOwner(home: string, owner: Owner): Promise<OwnerPaths> {
  const paths = ownerPaths(home);
  await ensurePrivateDir(home);
  await ensurePrivateDir(paths.dir);
  await writePrivateJson(paths.signingKey, owner.signingKey);
  await writePrivateFile(paths.seiSecret, encodeOwnerSecret(owner.seiSecret));
  await writePrivateFile(paths.imageKey, encodeImageKey(owner.imageKey));
  await writePrivateFile(paths.placementKey, encodeUserSecret(owner.placement));
  await writePrivateJson(paths.config, owner.config);
  return paths;
}

export async function saveOwnerConfig(paths: OwnerPaths, config: OwnerConfig): Promise<void> {
  await writePrivateJson(paths.config, config);
}

export async function loadManifest(paths: OwnerPaths): Promise<IndexManifest> {
  const path = manifestPath(paths);
  if (!(await exists(path))) {
    throw new LocalFileError(path, 'nothing indexed yet: run "blindsight owner index <folder>" first', 'NOT_FOUND');
  }
  const manifest = (await readJson(path, 'the index manifest')) as IndexManifest;
  if (manifest?.format !== INDEX_MANIFEST_FORMAT || manifest.version !== 1 || !Array.isArray(manifest.images)) {
    throw new LocalFileError(path, `${path} is not an index manifest of this version: run "blindsight owner index" again`, 'MALFORMED_DATA');
  }
  // The ids later requests and files use: the image ids and the index names.
  for (const image of manifest.images) parseStoredId(parseImageId, image.imageId, path);
  for (const name of [manifest.sealed?.indexName, manifest.sei?.indexName, manifest.twoServer?.indexName]) {
    if (name !== undefined) parseStoredId(parseIndexName, name, path);
  }
  return manifest;
}

export async function saveManifest(paths: OwnerPaths, manifest: IndexManifest): Promise<void> {
  await writePrivateJson(manifestPath(paths), manifest);
}

/** The last build's files. */
export function buildSource(paths: OwnerPaths): BuildSource {
  return { get: (file, what) => readPrivateFile(buildPath(paths.indexDir, file), what) };
}

/** The build's files, read and rewritten in place (each file atomically; updates change the sealed build and the identification provider index). */
export function buildStore(paths: OwnerPaths): BuildFiles {
  return {
    ...buildSource(paths),
    put: (file, bytes) => writePrivateFile(buildPath(paths.indexDir, file), bytes),
    has: (file) => exists(buildPath(paths.indexDir, file)),
  };
}

export async function loadPca(paths: OwnerPaths): Promise<PcaModel> {
  return decodePcaModel(await buildSource(paths).get(BUILD_FILES.pca, 'the PCA model'));
}

export async function loadPublished(paths: OwnerPaths): Promise<PublishedState | undefined> {
  if (!(await exists(paths.published))) return undefined;
  const published = (await readJson(paths.published, 'the publish record')) as PublishedState;
  for (const index of [published?.sealed, published?.sei, published?.twoServer]) {
    if (index === undefined) continue;
    parseStoredId(parseIndexName, index.indexName, paths.published);
    parseStoredId(parseVersionId, index.version, paths.published);
  }
  return published;
}

export async function savePublished(paths: OwnerPaths, state: PublishedState): Promise<void> {
  await writePrivateJson(paths.published, state);
}

export async function loadUsers(paths: OwnerPaths): Promise<UsersState> {
  if (!(await exists(paths.users))) return { users: {} };
  return (await readJson(paths.users, 'the user list')) as UsersState;
}

export async function saveUsers(paths: OwnerPaths, users: UsersState): Promise<void> {
  await writePrivateJson(paths.users, users);
}

/**
 * A new build goes to a staging folder next to index/ and replaces it as a whole only when
 * complete (two renames; the old one is removed after), so a failed or interrupted build never
 * leaves a half-written index behind.
 */
export interface StagedBuild extends BuildSink {
  readonly dir: string;
  /** Installs the staged build (with its manifest) as the owner's index/. */
  commit(manifest: IndexManifest): Promise<void>;
  /** Removes the staging folder. */
  abort(): Promise<void>;
}

export async function stageBuild(paths: OwnerPaths): Promise<StagedBuild> {
  const dir = join(dirname(paths.indexDir), `.index-staging-${randomBytes(4).toString('hex')}`);
  await ensurePrivateDir(dir);
  return {
    dir,
    put: (file, bytes) => writePrivateFile(buildPath(dir, file), bytes),
    commit: async (manifest) => {
      await writePrivateJson(join(dir, 'manifest.json'), manifest);
      await swapIn(dir, paths.indexDir);
    },
    abort: () => rm(dir, { recursive: true, force: true }),
  };
}

async function swapIn(staging: string, target: string): Promise<void> {
  const old = `${target}.old-${randomBytes(4).toString('hex')}`;
  let moved = false;
  try {
    await rename(target, old);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError('replace the previous index in', target, error);
  }
  try {
    await rename(staging, target);
  } catch (error) {
    if (moved) await rename(old, target).catch(() => {});
    throw fileError('install the new index in', target, error);
  }
  if (moved) await rm(old, { recursive: true, force: true });
}
