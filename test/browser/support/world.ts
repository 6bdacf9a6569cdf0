/**
 * What a user of the page needs, made with the client workflows the CLI and the demo use: the
 * local cloud, an owner who indexed and published a small Fashion-MNIST gallery, and a user
 * enrolled with a grant (the files the demo tells people to import: the user's key and the
 * grant). A sealed index (the default kind) and an SEI index beside it, as the demo builds;
 * no two-server index: the page searches, it does not identify.
 */
import { copyFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILD_FILES } from '../../../lib/client/build-files';
import { createFeatureModels, DEFAULT_MODEL_CHOICE } from '../../../lib/client/node/feature-models';
import type { NodeFeatureModels } from '../../../lib/client/node/feature-models';
import { listImageFolder } from '../../../lib/client/node/folder-images';
import { buildSource, saveNewOwner, stageBuild } from '../../../lib/client/node/owner-home';
import { ensurePrivateDir, writePrivateFile, writePrivateJson } from '../../../lib/client/node/private-files';
import { loadUserSession, userPaths } from '../../../lib/client/node/user-home';
import type { ImageEntry } from '../../../lib/client/images';
import { searchImages } from '../../../lib/client/user-search';
import type { ResultSink } from '../../../lib/client/user-search';
import { enrollUser } from '../../../lib/client/owner-enroll';
import { indexImages } from '../../../lib/client/owner-index';
import { createOwner, ownerClient } from '../../../lib/client/owner-keys';
import type { Owner } from '../../../lib/client/owner-state';
import { publishBuild } from '../../../lib/client/owner-publish';
import { keyRequestOf, userClient } from '../../../lib/client/user-session';
import { decodeKeyRequest } from '../../../lib/client/formats';
import { encodeUserSecret } from '../../../lib/sei/key-formats';
import { generateUserSecret } from '../../../lib/sei/user-key';
import { balancedSubset, GALLERY_DIR, galleryImages } from '../../../scripts/demo/gallery';
import { startLocalCloud } from '../../../scripts/local-cloud/cloud';
import type { LocalCloud } from '../../../scripts/local-cloud/cloud';
import { toUserId } from '../../support/ids';

export const USER_ID = 'page-user';

export interface PageWorld {
  readonly dir: string;
  readonly cloud: LocalCloud;
  readonly owner: Owner;
  readonly models: NodeFeatureModels;
  /** The indexed gallery copy; its file names are the images' relative paths. */
  readonly galleryDir: string;
  readonly files: string[];
  readonly grantFile: string;
  readonly secretFile: string;
  /** The owner's enroll step for a key request (the JSON a user sends), returning the grant JSON. */
  enroll(requestJson: unknown, userId: string): Promise<unknown>;
  /**
   * A sealed and an SEI search by the user from Node (the CLI's workflow, with its time limits
   * stretched like every test's), as the demo searches before it prints the page's URL: the local
   * cloud then has an execution environment for every function a page search calls. Its first
   * start (tsx compiling the handler's modules in a new worker) can take longer on a loaded
   * machine than the page's 30 s request limit. Returns how long it took.
   */
  warmUp(): Promise<number>;
}

/** `onLog` receives the local cloud's log lines (JSON: requests, function inits). */
export async function makePageWorld(gallerySize: number, onLog: (account: 'cs1' | 'cs2', line: string) => void = () => {}): Promise<PageWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'blindsight-page-'));
  const cloud = await startLocalCloud({ dataDir: join(dir, 'cloud'), cs1Port: 0, cs2Port: 0, dynamodbPort: 0, s3Port: 0, onLog });
  try {
    const galleryDir = join(dir, 'gallery');
    await mkdir(galleryDir, { recursive: true });
    const files = balancedSubset(await galleryImages(), gallerySize).map((image) => image.file);
    for (const file of files) await copyFile(join(GALLERY_DIR, file), join(galleryDir, file));

    const endpoint = cloud.cs1Url;
    const { owner } = await createOwner(endpoint, 128);
    const paths = await saveNewOwner(join(dir, 'owner'), owner);
    const models = createFeatureModels(() => () => {});
    const staged = await stageBuild(paths);
    // Both kinds the page searches: sealed (the default) and SEI (with K-anonymity).
    const built = await indexImages(
      { owner, images: await listImageFolder(galleryDir), label: galleryDir, models, sink: staged, model: DEFAULT_MODEL_CHOICE, kinds: ['sealed', 'sei'] },
      () => {},
    );
    await staged.commit(built.manifest);
    const client = await ownerClient(endpoint, owner);
    const published = await publishBuild(
      { owner, client, manifest: built.manifest, build: buildSource(paths), handOverCs2Secret: async () => ({ imported: false, command: 'none: no two-server index' }) },
      () => {},
    );

    const build = buildSource(paths);
    const pca = await build.get(BUILD_FILES.pca, 'the PCA model');
    const decoys = await build.get(BUILD_FILES.decoys, 'the decoy pool');
    const indexKey = await build.get(BUILD_FILES.sealedKey, 'the sealed index key');
    const enroll = async (requestJson: unknown, userId: string) => {
      const enrolled = await enrollUser({
        owner,
        client,
        userId: toUserId(userId),
        ...decodeKeyRequest(requestJson),
        manifest: built.manifest,
        pca,
        decoys,
        indexKey,
        endpoint,
        ...(published.sei ? { publishedVersion: published.sei.version } : {}),
      });
      return JSON.parse(JSON.stringify(enrolled.grant)) as unknown;
    };

    const user = userPaths(join(dir, 'user'));
    const secretBytes = encodeUserSecret(generateUserSecret(owner.config.d));
    await ensurePrivateDir(user.dir);
    await writePrivateFile(user.secret, secretBytes);
    await writePrivateJson(user.grant, await enroll(keyRequestOf(secretBytes, owner.config.d), USER_ID));
    const warmUp = async () => {
      const started = performance.now();
      const session = await loadUserSession(join(dir, 'user'));
      const client = userClient(session, endpoint);
      const file = join(galleryDir, files[0]);
      const query: ImageEntry = { name: files[0], source: file, read: () => readFile(file) };
      const results: ResultSink = { save: async () => '' };
      for (const kind of ['sealed', 'sei'] as const) {
        await searchImages({ session, client, models, queries: [query], kind, k: 10, results, skipUnusable: false }, () => {});
      }
      return Math.round(performance.now() - started);
    };
    return { dir, cloud, owner, models, galleryDir, files, grantFile: user.grant, secretFile: user.secret, enroll, warmUp };
  } catch (error) {
    await cloud.stop();
    throw error;
  }
}
