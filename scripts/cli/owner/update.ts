/**
 * Dynamic updates of the published SEI index, one image at a time, through CS1 (copy-on-write
 * versions, no rebuild): `owner add <image>` projects the image's features with the build's
 * PCA, encrypts the vector with the owner secret, makes the placement trapdoor with the
 * owner's own user key (so CS1 puts the image in the leaf a search for it reaches), uploads
 * the encrypted image and adds it; `owner delete <image id | file>` removes one. The local
 * manifest follows, so later grants and `owner status` see the current set.
 */
import { basename } from 'node:path';
import { InvalidInputError, NotFoundError } from '../../../lib/core/errors';
import { encryptImage } from '../../../lib/crypto/image-envelope';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import { issueUserKey } from '../../../lib/sei/user-key';
import type { RebuildAdvice } from '../../../lib/client/types';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { assertSameModel, projectFeatures } from '../features';
import { readUserFile, writePrivateFile } from '../secure-files';
import { imageIdOf, indexPaths, loadManifest, loadOwner, loadPca, ownerClient, saveManifest } from './home';
import type { IndexManifest, ManifestImage } from './home';

export interface UpdateResult {
  readonly imageId: string;
  readonly file?: string;
  readonly version: string;
  readonly previousVersion: string;
  readonly leaf: number;
  readonly imageCount: number;
  readonly rebuildAdvice: RebuildAdvice;
}

function adviseRebuild(context: CommandContext, advice: RebuildAdvice): void {
  if (advice.advisable) context.reporter.warn(`the index has drifted from its build (${advice.reasons.join('; ')}): run "owner index" and "owner publish" again`);
}

export async function ownerAdd(context: CommandContext, imagePath: string): Promise<UpdateResult> {
  const owner = await loadOwner(context);
  const manifest = await loadManifest(owner.paths);
  const pca = await loadPca(owner.paths);
  const file = resolvePath(context, imagePath);
  const bytes = await readUserFile(file, 'image');
  const relative = `added/${basename(file)}`;
  const imageId = imageIdOf(owner.imageKey, relative);
  if (manifest.images.some((image) => image.imageId === imageId)) {
    throw new InvalidInputError(`an image named ${basename(file)} was added before (id ${imageId}): delete it first or rename the file`);
  }

  const extractor = await context.features.extractor(manifest.features);
  assertSameModel(manifest.features, extractor);
  // By path, so an unusable image is reported with its file name.
  const features = await extractor.extract([file]);
  const projected = projectFeatures(pca, features, owner.config.d);
  const f = projected.data.subarray(0, owner.config.d);
  const vector = encryptIndexVector(owner.seiSecret, f);
  const placement = new TrapdoorGenerator(issueUserKey(owner.seiSecret, owner.placement.W), owner.placement).trapdoor(f);

  const envelope = await encryptImage(owner.imageKey, imageId, bytes);
  const client = await ownerClient(context, owner);
  await client.uploadImages(owner.config.ownerId, [{ imageId, envelope }]);
  const result = await client.addImage(owner.config.ownerId, manifest.sei.indexName, { imageId, vector, placementTrapdoor: placement });
  await writePrivateFile(indexPaths(owner.paths.indexDir).envelope(imageId), envelope);
  const entry: ManifestImage = { imageId, file, relative, bytes: bytes.length, added: true };
  await saveManifest(owner.paths, { ...manifest, images: [...manifest.images, entry] });
  context.reporter.info(`added ${basename(file)} as image ${imageId} (leaf ${result.leaf}); index "${manifest.sei.indexName}" now holds ${result.imageCount} images (version ${result.version})`);
  adviseRebuild(context, result.rebuildAdvice);
  return { ...result, file };
}

/** An image of the manifest by id, by path relative to the indexed folder, or by file path. */
function findImage(context: CommandContext, manifest: IndexManifest, reference: string): ManifestImage | undefined {
  const absolute = resolvePath(context, reference);
  return manifest.images.find((image) => image.imageId === reference || image.relative === reference || image.file === absolute);
}

export async function ownerDelete(context: CommandContext, reference: string): Promise<UpdateResult> {
  const owner = await loadOwner(context);
  const manifest = await loadManifest(owner.paths);
  const image = findImage(context, manifest, reference);
  if (image === undefined) {
    throw new NotFoundError(`"${reference}" is neither an image id nor a file of the index (see "blindsight owner status --images")`);
  }
  const client = await ownerClient(context, owner);
  const result = await client.deleteImage(owner.config.ownerId, manifest.sei.indexName, image.imageId);
  await saveManifest(owner.paths, { ...manifest, images: manifest.images.filter((entry) => entry.imageId !== image.imageId) });
  context.reporter.info(`deleted image ${image.imageId} (${image.relative}); index "${manifest.sei.indexName}" now holds ${result.imageCount} images`);
  adviseRebuild(context, result.rebuildAdvice);
  return { ...result, file: image.file };
}
