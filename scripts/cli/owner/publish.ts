/**
 * `blindsight owner publish`: uploads the last build. The owner key is registered (again:
 * idempotent), the encrypted images go to S3 through presigned PUTs, then each index version
 * is created, its parts uploaded, and published with one conditional flip (expectedCurrent =
 * the version serving when the publish started, so a concurrent publish is refused, not lost).
 *
 * Two-server: CS2 must hold the HE secret before identification can work. With the local
 * cloud the CLI puts it into CS2's key folder itself (as its operator would); against AWS it
 * prints the operator's command, because only CS2's account may write its Secrets Manager.
 */
import { relative } from 'node:path';
import { loadHeDecryptor, SHE_WARNING } from '../../../lib/he';
import { FileSecretStore } from '../../../lib/storage/file-secret-store';
import { InvalidInputError, isBlindsightError } from '../../../lib/core/errors';
import type { ImageEnvelope } from '../../../lib/client/cs1-client';
import { MAX_IMAGES_PER_REQUEST } from '../../../lib/api/limits';
import type { TransferProgress } from '../../../lib/client/types';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { localCs2KeyDir } from '../endpoint';
import { formatBytes, formatSeconds } from '../io';
import type { Progress } from '../io';
import { readPrivateFile, writePrivateJson } from '../secure-files';
import { REPO_ROOT } from '../../local-cloud/layout';
import { indexPaths, loadManifest, loadOwner, ownerClient, ownerEndpoint } from './home';
import type { IndexManifest, PublishedState } from './home';

export interface PublishOptions {
  /** CS2's local key folder (default: found from the running local cloud). */
  readonly cs2KeyDir?: string;
}

export interface PublishResult {
  readonly ownerId: string;
  readonly endpoint: string;
  readonly images: { readonly uploaded: number; readonly bytes: number };
  readonly sei: { readonly indexName: string; readonly version: string; readonly previousVersion: string | null };
  readonly twoServer?: {
    readonly indexName: string;
    readonly version: string;
    readonly previousVersion: string | null;
    readonly keyId: string;
    /** Where the HE secret went, or the operator command to run. */
    readonly cs2: { readonly imported: true; readonly path: string } | { readonly imported: false; readonly command: string; readonly secretFile: string };
  };
  readonly ms: number;
}

function barUpdater(bar: Progress, offset = 0, total?: number): (progress: TransferProgress) => void {
  return ({ done, total: partTotal, bytes }) => bar.update(offset + done, total ?? partTotal, formatBytes(bytes));
}

async function uploadEnvelopes(context: CommandContext, client: Awaited<ReturnType<typeof ownerClient>>, ownerId: string, manifest: IndexManifest, dir: string) {
  const paths = indexPaths(dir);
  const bar = context.reporter.progress('upload images');
  let bytes = 0;
  try {
    for (let from = 0; from < manifest.images.length; from += MAX_IMAGES_PER_REQUEST) {
      const batch = manifest.images.slice(from, from + MAX_IMAGES_PER_REQUEST);
      const envelopes: ImageEnvelope[] = [];
      for (const image of batch) envelopes.push({ imageId: image.imageId, envelope: await readPrivateFile(paths.envelope(image.imageId), 'encrypted image') });
      await client.uploadImages(ownerId, envelopes, { onProgress: barUpdater(bar, from, manifest.images.length) });
      bytes += envelopes.reduce((sum, e) => sum + e.envelope.length, 0);
    }
  } finally {
    bar.stop();
  }
  return { uploaded: manifest.images.length, bytes };
}

/** Puts the HE secret into CS2's local key folder (refusing anything but real secret material of this key). */
async function importCs2Secret(secretPath: string, keyId: string, keyDir: string): Promise<string> {
  const material = await readPrivateFile(secretPath, 'the CS2 secret');
  const decryptor = await loadHeDecryptor(material);
  try {
    if (decryptor.descriptor.keyId !== keyId) {
      throw new InvalidInputError(`${secretPath} holds the secret of key ${decryptor.descriptor.keyId}, not of the index's key ${keyId}: run "owner index" again`);
    }
  } finally {
    decryptor.dispose();
  }
  const store = new FileSecretStore(keyDir);
  let previous: Uint8Array | undefined;
  try {
    previous = await store.get(keyId);
  } catch (error) {
    if (!isBlindsightError(error) || error.code !== 'NOT_FOUND') throw error;
  }
  if (previous === undefined || Buffer.compare(Buffer.from(previous), Buffer.from(material)) !== 0) await store.put(keyId, material);
  return store.pathOf(keyId);
}

function operatorCommand(cwd: string, secretPath: string): string {
  const script = relative(cwd, `${REPO_ROOT}/scripts/cs2-import-key.ts`) || 'scripts/cs2-import-key.ts';
  return `npx tsx ${script} --file ${secretPath} --secrets-manager --region <region> --profile <cs2-account-profile>`;
}

export async function ownerPublish(context: CommandContext, options: PublishOptions = {}): Promise<PublishResult> {
  const started = performance.now();
  const owner = await loadOwner(context);
  const manifest = await loadManifest(owner.paths);
  const endpoint = await ownerEndpoint(context, owner);
  const client = await ownerClient(context, owner);
  const { ownerId } = owner.config;
  const build = indexPaths(owner.paths.indexDir);

  await client.withToken(undefined).registerOwner(owner.signingKey);
  const images = await uploadEnvelopes(context, client, ownerId, manifest, owner.paths.indexDir);
  context.reporter.info(`uploaded ${images.uploaded} encrypted images (${formatBytes(images.bytes)}) to CS1 at ${endpoint}`);

  const seiParts = {
    skeleton: await readPrivateFile(build.seiSkeleton, 'the index skeleton'),
    leaves: await readPrivateFile(build.seiLeaves, 'the index leaves'),
  };
  const seiBar = context.reporter.progress('upload index');
  let sei;
  try {
    sei = await client.publishIndex(ownerId, manifest.sei.indexName, 'sei', seiParts, { onProgress: barUpdater(seiBar) });
  } finally {
    seiBar.stop();
  }
  context.reporter.info(`published SEI index "${manifest.sei.indexName}" version ${sei.version}${sei.previousVersion ? ` (replacing ${sei.previousVersion})` : ''}`);

  let twoServer: PublishResult['twoServer'];
  if (manifest.twoServer !== undefined) {
    const reference = manifest.twoServer;
    if (reference.backend === 'she') context.reporter.warn(`the identification index "${reference.indexName}" uses --he she: ${SHE_WARNING}`);
    const keyDir = options.cs2KeyDir !== undefined ? resolvePath(context, options.cs2KeyDir) : await localCs2KeyDir(endpoint, context.env);
    let cs2: NonNullable<PublishResult['twoServer']>['cs2'];
    if (keyDir !== undefined) {
      const path = await importCs2Secret(build.cs2Secret, reference.keyId, keyDir);
      cs2 = { imported: true, path };
      context.reporter.info(`CS2 key ${reference.keyId} imported into the local CS2 key store (${path})`);
    } else {
      cs2 = { imported: false, command: operatorCommand(context.cwd, build.cs2Secret), secretFile: build.cs2Secret };
      context.reporter.warn(`CS2 is not the local cloud: give ${build.cs2Secret} to CS2's operator (privately), who runs:\n  ${cs2.command}`);
    }
    const parts: Record<string, Uint8Array> = {};
    for (const part of ['records', 'cs1-index', 'evaluation', 'public']) parts[part] = await readPrivateFile(build.twoServerPart(part), `two-server part ${part}`);
    const bar = context.reporter.progress('upload two-server');
    let published;
    try {
      published = await client.publishIndex(ownerId, reference.indexName, 'two-server', parts, { onProgress: barUpdater(bar) });
    } finally {
      bar.stop();
    }
    context.reporter.info(`published two-server index "${reference.indexName}" version ${published.version}`);
    twoServer = { indexName: reference.indexName, version: published.version, previousVersion: published.previousVersion, keyId: reference.keyId, cs2 };
  }

  const state: PublishedState = {
    endpoint,
    sei: { indexName: manifest.sei.indexName, version: sei.version, publishedAt: sei.publishedAt, imageCount: manifest.images.length },
    ...(twoServer ? { twoServer: { indexName: twoServer.indexName, version: twoServer.version, publishedAt: context.now().toISOString(), keyId: twoServer.keyId, cs2: twoServer.cs2.imported ? 'imported' : 'operator' } } : {}),
  };
  await writePrivateJson(owner.paths.published, state);
  const ms = performance.now() - started;
  context.reporter.info(`publish done in ${formatSeconds(ms)}`);
  return {
    ownerId,
    endpoint,
    images,
    sei: { indexName: manifest.sei.indexName, version: sei.version, previousVersion: sei.previousVersion },
    ...(twoServer ? { twoServer } : {}),
    ms: Math.round(ms),
  };
}
