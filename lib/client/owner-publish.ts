/**
 * The owner's "publish the last build" workflow. The owner key is registered (again:
 * idempotent), the encrypted images go to S3 through presigned PUTs, then each index version is
 * created, its parts uploaded, and published with one conditional flip (expectedCurrent = the
 * version serving when the publish started, so a concurrent publish is refused, not lost). A
 * sealed index is sealed here, for the version CS1 names (the binding is in every part).
 *
 * Two-server: CS2 must hold the HE secret before identification can work. How it gets there is
 * the caller's: `handOverCs2Secret` puts it into a local CS2's key store, or answers with the
 * command CS2's operator must run (only CS2's account may write its Secrets Manager).
 */
import { publicJwkOf } from '../auth/signing-key';
import { SHE_WARNING } from '../he/backends';
import { decodeSealedBuild } from '../sealed/build-file';
import { decodeIndexKey } from '../sealed/index-key';
import type { SealedIndexBuild } from '../sealed/build';
import type { IndexKey } from '../sealed/types';
import { publishSealedIndex } from './sealed';
import { BUILD_FILES, envelopeFile, twoServerFile } from './build-files';
import type { BuildSource } from './build-files';
import type { Cs1Client, ImageEnvelope } from './cs1-client';
import { MAX_IMAGES_PER_REQUEST } from '../api/limits';
import { info, inStep, warn } from './events';
import type { StepProgress, WorkflowListener } from './events';
import type { IndexManifest, Owner, PublishedState } from './owner-state';
import type { PublishJob, TransferProgress } from './types';
import { formatBytes, formatSeconds } from './units';
import { TWO_SERVER_INDEX_PART } from '../service/two-server/metadata';
import { twoServerPartNames } from './index-parts';
import type { IndexName, OwnerId, VersionId } from '../core/ids';

/**
 * How CS2 got the HE secret: imported into its key store, or left to its operator (the command
 * to run, and where the secret is when it is a file the operator can be given).
 */
export type Cs2Handover =
  | { readonly imported: true; readonly path: string }
  | { readonly imported: false; readonly command: string; readonly secretFile?: string };

export interface PublishInput {
  readonly owner: Owner;
  /** A client with an owner token. */
  readonly client: Cs1Client;
  readonly manifest: IndexManifest;
  readonly build: BuildSource;
  /** Gives CS2 the HE secret of a two-server build (called before that index is published). */
  readonly handOverCs2Secret?: (keyId: string, material: Uint8Array) => Promise<Cs2Handover>;
  readonly now?: () => Date;
}

export interface PublishOutcome {
  readonly ownerId: OwnerId;
  readonly endpoint: string;
  readonly images: { readonly uploaded: number; readonly bytes: number };
  readonly sealed?: { readonly indexName: IndexName; readonly version: VersionId; readonly previousVersion: VersionId | null };
  readonly sei?: { readonly indexName: IndexName; readonly version: VersionId; readonly previousVersion: VersionId | null };
  readonly twoServer?: {
    readonly indexName: IndexName;
    readonly version: VersionId;
    readonly previousVersion: VersionId | null;
    readonly keyId: string;
    readonly cs2: Cs2Handover;
  };
  /** What to keep as the record of this publish. */
  readonly published: PublishedState;
  readonly ms: number;
}

type PublishedIndex = { readonly indexName: IndexName; readonly version: VersionId; readonly previousVersion: VersionId | null; readonly publishedAt: string };

/**
 * Uploads, then CS1's publish job (it checks and copies the parts asynchronously): the same
 * step shows the parts' bytes uploaded, then the bytes CS1 has checked and the job's phase.
 */
function publishing(progress: StepProgress): { onProgress: (update: TransferProgress) => void; onPublishProgress: (job: PublishJob) => void } {
  return {
    onProgress: transfer(progress),
    onPublishProgress: ({ progress: job }) => progress.update(job.bytesDone, Math.max(1, job.bytesTotal), `CS1 ${job.phase}, ${formatBytes(job.bytesDone)} checked`),
  };
}

function transfer(progress: StepProgress, offset = 0, total?: number): (update: TransferProgress) => void {
  return ({ done, total: partTotal, bytes }) => progress.update(offset + done, total ?? partTotal, formatBytes(bytes));
}

async function uploadEnvelopes(input: PublishInput, listener: WorkflowListener): Promise<{ uploaded: number; bytes: number }> {
  const { manifest, client, build } = input;
  let bytes = 0;
  await inStep(listener, 'upload images', async (progress) => {
    for (let from = 0; from < manifest.images.length; from += MAX_IMAGES_PER_REQUEST) {
      const batch = manifest.images.slice(from, from + MAX_IMAGES_PER_REQUEST);
      const envelopes: ImageEnvelope[] = [];
      for (const image of batch) envelopes.push({ imageId: image.imageId, envelope: await build.get(envelopeFile(image.imageId), 'encrypted image') });
      await client.uploadImages(input.owner.config.ownerId, envelopes, { onProgress: transfer(progress, from, manifest.images.length) });
      bytes += envelopes.reduce((sum, e) => sum + e.envelope.length, 0);
    }
  });
  return { uploaded: manifest.images.length, bytes };
}

export async function publishBuild(input: PublishInput, listener: WorkflowListener): Promise<PublishOutcome> {
  const started = performance.now();
  const { owner, manifest, client, build } = input;
  const { ownerId } = owner.config;
  const now = input.now ?? (() => new Date());

  await client.withToken(undefined).registerOwner(publicJwkOf(owner.signingKey));
  const images = await uploadEnvelopes(input, listener);
  info(listener, `uploaded ${images.uploaded} encrypted images (${formatBytes(images.bytes)}) to CS1 at ${client.endpoint}`);

  let sealed: PublishedIndex | undefined;
  if (manifest.sealed !== undefined) {
    const name = manifest.sealed.indexName;
    const { build: sealedBuild, key } = await loadSealedBuild(build);
    const published = await inStep(listener, 'upload sealed index', (progress) => publishSealedIndex(client, ownerId, name, sealedBuild, key, publishing(progress)));
    sealed = { indexName: name, version: published.version, previousVersion: published.previousVersion, publishedAt: published.publishedAt };
    info(listener, `published sealed index "${name}" version ${published.version}${published.previousVersion ? ` (replacing ${published.previousVersion})` : ''}`);
  }

  let sei: PublishedIndex | undefined;
  if (manifest.sei !== undefined) {
    const name = manifest.sei.indexName;
    const seiParts = {
      skeleton: await build.get(BUILD_FILES.seiSkeleton, 'the index skeleton'),
      leaves: await build.get(BUILD_FILES.seiLeaves, 'the index leaves'),
    };
    const published = await inStep(listener, 'upload index', (progress) => client.publishIndex(ownerId, name, 'sei', seiParts, publishing(progress)));
    sei = { indexName: name, version: published.version, previousVersion: published.previousVersion, publishedAt: published.publishedAt };
    info(listener, `published SEI index "${name}" version ${published.version}${published.previousVersion ? ` (replacing ${published.previousVersion})` : ''}`);
  }

  let twoServer: PublishOutcome['twoServer'];
  if (manifest.twoServer !== undefined) {
    const reference = manifest.twoServer;
    if (reference.backend === 'she') warn(listener, `the identification index "${reference.indexName}" uses --he she: ${SHE_WARNING}`);
    const secret = await build.get(BUILD_FILES.cs2Secret, 'the CS2 secret');
    const cs2: Cs2Handover = input.handOverCs2Secret
      ? await input.handOverCs2Secret(reference.keyId, secret)
      : { imported: false, command: 'give the HE secret to CS2\'s operator' };
    if (cs2.imported) info(listener, `CS2 key ${reference.keyId} imported into the local CS2 key store (${cs2.path})`);
    else warn(listener, `CS2 is not the local cloud: give ${cs2.secretFile ?? 'the HE secret'} to CS2's operator (privately), who runs:\n  ${cs2.command}`);
    const parts: Record<string, Uint8Array> = {};
    const cs1Index = await build.get(twoServerFile(TWO_SERVER_INDEX_PART), `two-server part ${TWO_SERVER_INDEX_PART}`);
    for (const part of twoServerPartNames(cs1Index)) {
      parts[part] = part === TWO_SERVER_INDEX_PART ? cs1Index : await build.get(twoServerFile(part), `two-server part ${part}`);
    }
    const published = await inStep(listener, 'upload two-server', (progress) =>
      client.publishIndex(ownerId, reference.indexName, 'two-server', parts, publishing(progress)),
    );
    info(listener, `published two-server index "${reference.indexName}" version ${published.version}`);
    twoServer = { indexName: reference.indexName, version: published.version, previousVersion: published.previousVersion, keyId: reference.keyId, cs2 };
  }

  const state: PublishedState = {
    endpoint: client.endpoint,
    builtAt: manifest.builtAt,
    ...(sealed ? { sealed: { indexName: sealed.indexName, version: sealed.version, publishedAt: sealed.publishedAt, imageCount: manifest.images.length } } : {}),
    ...(sei ? { sei: { indexName: sei.indexName, version: sei.version, publishedAt: sei.publishedAt, imageCount: manifest.images.length } } : {}),
    ...(twoServer
      ? { twoServer: { indexName: twoServer.indexName, version: twoServer.version, publishedAt: now().toISOString(), keyId: twoServer.keyId, cs2: twoServer.cs2.imported ? 'imported' : 'operator' } }
      : {}),
  };
  const ms = performance.now() - started;
  info(listener, `publish done in ${formatSeconds(ms)}`);
  return {
    ownerId,
    endpoint: client.endpoint,
    images,
    ...(sealed ? { sealed: { indexName: sealed.indexName, version: sealed.version, previousVersion: sealed.previousVersion } } : {}),
    ...(sei ? { sei: { indexName: sei.indexName, version: sei.version, previousVersion: sei.previousVersion } } : {}),
    ...(twoServer ? { twoServer } : {}),
    published: state,
    ms: Math.round(ms),
  };
}

/** The build's unsealed sealed index and its index key. */
export async function loadSealedBuild(build: BuildSource): Promise<{ build: SealedIndexBuild; key: IndexKey }> {
  return {
    build: decodeSealedBuild(await build.get(BUILD_FILES.sealedBuild, 'the sealed index build')),
    key: decodeIndexKey(await build.get(BUILD_FILES.sealedKey, 'the sealed index key')),
  };
}
