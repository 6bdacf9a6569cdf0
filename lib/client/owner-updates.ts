/**
 * Dynamic updates, one image at a time, through CS1 (copy-on-write versions, no rebuild), kept
 * consistent across the owner's index kinds.
 *
 * SEI: `addImage` projects the image's features with the build's PCA, encrypts the vector with
 * the owner secret, makes the placement trapdoor with the owner's own user key (so CS1 puts the
 * image in the leaf a search for it reaches), uploads the encrypted image and adds it;
 * `deleteImage` removes one.
 *
 * Sealed: the owner's unsealed build (a build file) takes the image into the leaf of its nearest
 * centroid, or loses it, and is sealed and published as a new version (the whole index is
 * uploaded again; nothing else is recomputed). The sealed index is updated first; an update
 * retried after a failure skips what is done already.
 *
 * Two-server identification follows: the build keeps the owner's ProviderIndex (the plaintext
 * templates and their shards) and the HE provider key. An added image's template (its PCA'd CNN
 * features, or its face descriptor, x 10^3) joins it, a deleted one leaves it, and a new version
 * of the identification index is published in which only the shards the change touched are
 * encrypted and uploaded; the others are inherited from the versions that published them. The
 * search indexes change first; should the identification update then fail, the manifest records
 * the gap (what identification misses or still returns), `owner status` shows it, and the next
 * build closes it. Builds made before the ProviderIndex was kept cannot follow: such an update is
 * refused, naming what to re-index, unless the owner accepts the gap (`seiOnly`), recorded the
 * same way.
 */
import { ConflictError, InvalidInputError, NotFoundError } from '../core/errors';
import { sha256Hex } from '../crypto/digest';
import { encryptImage } from '../crypto/image-envelope';
import { ImageInputError } from '../features/errors';
import { loadHeProvider } from '../he/provider';
import type { VectorSet } from '../linalg/vectors';
import { encodeSealedBuild } from '../sealed/build-file';
import { addToSealedBuild, deleteFromSealedBuild, findSealedImage } from '../sealed/update';
import { BUILD_FILES } from './build-files';
import type { BuildFiles } from './build-files';
import { loadSealedBuild } from './owner-publish';
import { publishSealedIndex } from './sealed';
import type { PcaModel } from '../ml/types';
import { encryptIndexVector } from '../sei/index-vector';
import { TrapdoorGenerator } from '../sei/trapdoor';
import { issueUserKey } from '../sei/user-key';
import { ProviderIndex } from '../twoserver/protocol/provider-index';
import type { Cs1Client } from './cs1-client';
import { info, warn } from './events';
import type { WorkflowListener } from './events';
import { extractorFor, identificationEmbeddings, projectFeatures, quantizeEmbeddings } from './features';
import type { FeatureModels } from './features';
import { imageIdOf } from './image-ids';
import type { ImageEntry } from './images';
import { twoServerIndexParts } from './index-parts';
import type { IndexManifest, ManifestImage, Owner, StaleIdentification } from './owner-state';
import type { RebuildAdvice, UpdateResponse } from './types';
import type { ImageId, IndexName, VersionId } from '../core/ids';

/** The identification index's new version after an update it followed. */
export interface IdentificationUpdate {
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly templates: number;
  /** Shards encrypted and uploaded with this version (the others are inherited). */
  readonly shardsUploaded: number;
  readonly shards: number;
}

export interface UpdateOutcome {
  readonly imageId: ImageId;
  /** Images the index holds now. */
  readonly imageCount: number;
  /** The new version of the first index (the sealed one, else the SEI one). */
  readonly version: VersionId | '';
  readonly rebuildAdvice: RebuildAdvice;
  readonly file?: string;
  readonly sealed?: { readonly indexName: IndexName; readonly version: VersionId | ''; readonly previousVersion: VersionId | null; readonly leaf: number; readonly imageCount: number };
  readonly sei?: UpdateResponse & { readonly indexName: IndexName };
  /** The identification index followed the update: its new version. */
  readonly identification?: IdentificationUpdate;
  /** The identification index is now out of step with the search indexes (seiOnly, or its update failed). */
  readonly staleIdentification?: StaleIdentification & { readonly indexName: IndexName };
  /**
   * A delete asked CS1 to remove the image's envelope (its clean-up does, once no index version
   * it keeps may list the image); absent when identification may still return the image.
   */
  readonly envelopeRemoval?: { readonly requestedAt: string };
}

export interface UpdateInput {
  readonly owner: Owner;
  /** A client with an owner token. */
  readonly client: Cs1Client;
  readonly manifest: IndexManifest;
  /**
   * The build's files: the sealed index's build, and the identification index's ProviderIndex
   * and HE key, are read and rewritten after each publish.
   */
  readonly build?: BuildFiles;
  /** Update the search indexes only, leaving the identification index as it is (recorded as stale). */
  readonly seiOnly?: boolean;
}

export interface UpdateResult {
  readonly outcome: UpdateOutcome;
  /** The manifest after the update: keep it. */
  readonly manifest: IndexManifest;
}

function adviseRebuild(listener: WorkflowListener, advice: RebuildAdvice): void {
  if (advice.advisable) warn(listener, `the index has drifted from its build (${advice.reasons.join('; ')}): run "owner index" and "owner publish" again`);
}

/** Whether the identification index takes part in this update: it exists, seiOnly is not set, and the build can make its next version. */
async function identificationFollows(input: UpdateInput): Promise<boolean> {
  if (input.manifest.twoServer === undefined || input.seiOnly === true) return false;
  const build = input.build;
  return build !== undefined && (await build.has(BUILD_FILES.twoServerProviderIndex)) && (await build.has(BUILD_FILES.twoServerProviderKey));
}

/** Refuses an update the identification index cannot follow (a build without its ProviderIndex), unless seiOnly. */
function checkIdentification(input: UpdateInput, follows: boolean, what: 'add' | 'delete', image: string): void {
  const twoServer = input.manifest.twoServer;
  if (twoServer === undefined || input.seiOnly === true || follows) return;
  const consequence = what === 'add' ? 'identification would never return it' : 'identification would still return its id';
  throw new ConflictError(
    `the identification index "${twoServer.indexName}" cannot follow this ${what}: its build keeps no provider index (it predates updates of identification), so ${consequence}. ` +
      `Re-index instead ("blindsight owner index ${input.manifest.folder} --two-server" with ${image} ${what === 'add' ? 'in' : 'out of'} the folder, ` +
      `then "owner publish" and enroll your users again), or pass --sei-only to ${what} it in the search indexes only ` +
      '(recorded: "owner status" lists what identification misses until the next re-index)',
  );
}

/**
 * Publishes the identification index's next version with one template added or deleted: only
 * the shards the change touched are encrypted and uploaded; the ProviderIndex in the build then
 * records where every shard lives.
 */
async function updateIdentification(
  input: UpdateInput,
  change: { readonly add: { readonly id: ImageId; readonly template: ArrayLike<number> } } | { readonly delete: ImageId },
): Promise<IdentificationUpdate> {
  const reference = input.manifest.twoServer!;
  const build = input.build!;
  const provider = ProviderIndex.decode(await build.get(BUILD_FILES.twoServerProviderIndex, 'the identification provider index'));
  if ('add' in change) provider.add(change.add.id, change.add.template);
  else provider.delete(change.delete);
  const he = await loadHeProvider(await build.get(BUILD_FILES.twoServerProviderKey, 'the identification HE key'));
  try {
    const publicMaterial = he.exportPublic();
    // Users' grants pin the key and its public material: a new version must keep both.
    if (he.descriptor.keyId !== reference.keyId || (await sha256Hex(publicMaterial)) !== reference.publicMaterialSha256) {
      throw new ConflictError(`the identification key in the build is not the one of index "${reference.indexName}": run "blindsight owner index --two-server" and "owner publish" again`);
    }
    const { fresh } = provider.pending();
    const uploaded = new Set(fresh);
    const shards = Array.from({ length: provider.shardCount }, (_, s) => (uploaded.has(s) ? provider.encryptShard(he, s) : undefined));
    const parts = twoServerIndexParts({ cs1Index: provider.cs1Index(he), evaluationMaterial: he.exportEvaluation(), publicMaterial, shards });
    const published = await input.client.publishIndex(input.owner.config.ownerId, reference.indexName, 'two-server', parts);
    provider.markPublished(published.version);
    await build.put(BUILD_FILES.twoServerProviderIndex, provider.encode());
    return { indexName: reference.indexName, version: published.version, templates: provider.templateCount, shardsUploaded: fresh.length, shards: provider.shardCount };
  } finally {
    he.dispose();
  }
}

/** The identification template of an added image, or why it has none (no usable face). */
async function templateOf(input: AddInput, features: VectorSet): Promise<{ readonly template: Float64Array } | { readonly skipped: string }> {
  const reference = input.manifest.twoServer!;
  let embedding: VectorSet;
  if (reference.embedding === 'face') {
    const embedder = await input.models.faceEmbedder();
    try {
      const { descriptor } = await embedder.describe(input.image.source);
      embedding = { n: 1, d: descriptor.length, data: Float64Array.from(descriptor) };
    } catch (error) {
      if (!(error instanceof ImageInputError)) throw error;
      return { skipped: error.problem };
    }
  } else {
    embedding = identificationEmbeddings(input.pca, features);
  }
  return { template: quantizeEmbeddings(embedding, reference.decimals, reference.maxAbs).data };
}

/** Follows a search-index update in the identification index; the manifest records a failure as a gap. */
async function followInIdentification(
  input: UpdateInput,
  manifest: IndexManifest,
  change: { readonly add: { readonly id: ImageId; readonly template: ArrayLike<number> } } | { readonly delete: ImageId },
  listener: WorkflowListener,
): Promise<{ manifest: IndexManifest; identification?: IdentificationUpdate }> {
  try {
    const identification = await updateIdentification(input, change);
    info(listener, `identification index "${identification.indexName}" now holds ${identification.templates} templates (version ${identification.version}, ${identification.shardsUploaded} of ${identification.shards} shards uploaded)`);
    return { manifest: { ...manifest, twoServer: { ...manifest.twoServer!, templateCount: identification.templates } }, identification };
  } catch (error) {
    warn(listener, `the identification index "${manifest.twoServer!.indexName}" could not follow: ${error instanceof Error ? error.message : String(error)}`);
    return { manifest: markStale(manifest, 'add' in change ? { added: change.add.id } : { deleted: change.delete }) };
  }
}

function markStale(manifest: IndexManifest, change: { added?: ImageId; deleted?: ImageId }): IndexManifest {
  const twoServer = manifest.twoServer;
  if (twoServer === undefined) return manifest;
  const added = [...(twoServer.stale?.added ?? [])];
  const deleted = [...(twoServer.stale?.deleted ?? [])];
  if (change.added !== undefined) added.push(change.added);
  if (change.deleted !== undefined) {
    // An image added to the SEI index only was never in identification: nothing is stale about it.
    const at = added.indexOf(change.deleted);
    if (at >= 0) added.splice(at, 1);
    else deleted.push(change.deleted);
  }
  const stale = added.length + deleted.length > 0 ? { added, deleted } : undefined;
  const { stale: _previous, ...rest } = twoServer;
  return { ...manifest, twoServer: { ...rest, ...(stale ? { stale } : {}) } };
}

function staleOf(manifest: IndexManifest): UpdateOutcome['staleIdentification'] {
  const twoServer = manifest.twoServer;
  return twoServer?.stale ? { indexName: twoServer.indexName, ...twoServer.stale } : undefined;
}

function warnStale(listener: WorkflowListener, manifest: IndexManifest): void {
  const stale = staleOf(manifest);
  if (stale === undefined) return;
  warn(
    listener,
    `identification index "${stale.indexName}" is out of step with the search indexes: it misses ${stale.added.length} added and still returns ${stale.deleted.length} deleted ` +
      `image${stale.deleted.length === 1 ? '' : 's'}; re-index with --two-server and publish to bring it back`,
  );
}

export interface AddInput extends UpdateInput {
  readonly models: FeatureModels;
  readonly pca: PcaModel;
  readonly image: ImageEntry;
  /** The name its id derives from (default 'added/<name>'). */
  readonly relative?: string;
}

export async function addImage(input: AddInput, listener: WorkflowListener): Promise<UpdateResult> {
  const { owner, manifest, image } = input;
  const relative = input.relative ?? `added/${image.name.split('/').pop()}`;
  const imageId = await imageIdOf(owner.imageKey, relative);
  if (manifest.images.some((entry) => entry.imageId === imageId)) {
    throw new InvalidInputError(`an image named ${relative.split('/').pop()} was added before (id ${imageId}): delete it first or rename the file`);
  }
  const follows = await identificationFollows(input);
  checkIdentification(input, follows, 'add', image.name);
  const bytes = await image.read();

  const extractor = await extractorFor(input.models, manifest.features);
  const features = await extractor.extract([image.source]);
  const d = owner.config.d;
  const f = projectFeatures(input.pca, features, d).data.subarray(0, d);
  // Computed before anything changes: an image identification cannot use is known up front.
  const template = follows ? await templateOf(input, features) : undefined;

  const envelope = await encryptImage(owner.imageKey, imageId, bytes);
  await input.client.uploadImages(owner.config.ownerId, [{ imageId, envelope }]);
  const sealed = await updateSealed(input, { add: imageId, vector: f }, listener);
  let sei: UpdateOutcome['sei'];
  if (manifest.sei !== undefined) {
    const vector = encryptIndexVector(owner.seiSecret, f);
    const placement = new TrapdoorGenerator(issueUserKey(owner.seiSecret, owner.placement.W), owner.placement).trapdoor(f);
    sei = { ...(await input.client.addImage(owner.config.ownerId, manifest.sei.indexName, { imageId, vector, placementTrapdoor: placement })), indexName: manifest.sei.indexName };
    info(listener, `added ${image.name} as image ${imageId} (leaf ${sei.leaf}); SEI index "${sei.indexName}" now holds ${sei.imageCount} images (version ${sei.version})`);
    adviseRebuild(listener, sei.rebuildAdvice);
  }
  const entry: ManifestImage = { imageId, file: typeof image.source === 'string' ? image.source : image.name, relative, bytes: bytes.length, added: true };
  let next: IndexManifest = { ...manifest, images: [...manifest.images, entry] };
  let identification: IdentificationUpdate | undefined;
  if (template !== undefined && 'skipped' in template) {
    // As at build time: an image without a usable face is searchable, never identified.
    warn(listener, `${image.name} is not in the identification index "${manifest.twoServer!.indexName}": ${template.skipped}`);
    next = { ...next, twoServer: { ...next.twoServer!, skipped: [...next.twoServer!.skipped, { file: relative, reason: template.skipped }] } };
  } else if (template !== undefined) {
    ({ manifest: next, identification } = await followInIdentification(input, next, { add: { id: imageId, template: template.template } }, listener));
  } else if (manifest.twoServer !== undefined) {
    next = markStale(next, { added: imageId });
  }
  warnStale(listener, next);
  const stale = staleOf(next);
  return {
    outcome: { ...outcomeOf(imageId, sealed, sei), file: entry.file, ...(identification ? { identification } : {}), ...(stale ? { staleIdentification: stale } : {}) },
    manifest: next,
  };
}

const NO_REBUILD: RebuildAdvice = { advisable: false, reasons: [] };

function outcomeOf(imageId: ImageId, sealed: UpdateOutcome['sealed'], sei: UpdateOutcome['sei']): UpdateOutcome {
  const first = sealed ?? sei;
  if (first === undefined) throw new InvalidInputError('the build has no search index to update: run "owner index" again');
  return {
    imageId,
    imageCount: first.imageCount,
    version: first.version,
    rebuildAdvice: sei?.rebuildAdvice ?? NO_REBUILD,
    ...(sealed ? { sealed } : {}),
    ...(sei ? { sei } : {}),
  };
}

/**
 * One change to the sealed index of the build, if it has one: the build file changes, is sealed
 * for a new version and published, and is then kept. A change the build holds already (an
 * earlier attempt that failed later) is not made twice.
 */
async function updateSealed(input: UpdateInput, change: { add: ImageId; vector: ArrayLike<number> } | { delete: ImageId }, listener: WorkflowListener): Promise<UpdateOutcome['sealed']> {
  const manifest = input.manifest.sealed;
  if (manifest === undefined) return undefined;
  if (input.build === undefined) throw new InvalidInputError('updating a sealed index needs the build files of "owner index"');
  const { owner, client } = input;
  const { build, key } = await loadSealedBuild(input.build);
  const imageId = 'add' in change ? change.add : change.delete;
  const present = findSealedImage(build, imageId);
  if ('add' in change ? present !== undefined : present === undefined) {
    const serving = await client.findIndex(owner.config.ownerId, manifest.indexName);
    return { indexName: manifest.indexName, version: serving?.version ?? '', previousVersion: null, leaf: present?.leaf ?? -1, imageCount: build.imageCount };
  }
  const updated = 'add' in change ? addToSealedBuild(build, change.vector, imageId) : deleteFromSealedBuild(build, imageId);
  const published = await publishSealedIndex(client, owner.config.ownerId, manifest.indexName, updated.build, key);
  await input.build.put(BUILD_FILES.sealedBuild, encodeSealedBuild(updated.build));
  info(
    listener,
    `${'add' in change ? 'added' : 'deleted'} image ${imageId} (leaf ${updated.leaf}); sealed index "${manifest.indexName}" now holds ${updated.build.imageCount} images (version ${published.version})`,
  );
  return { indexName: manifest.indexName, version: published.version, previousVersion: published.previousVersion, leaf: updated.leaf, imageCount: updated.build.imageCount };
}

/** An image of the manifest by id, by path relative to the indexed folder, or by file path. */
export function findImage(manifest: IndexManifest, reference: string, absolute?: string): ManifestImage | undefined {
  return manifest.images.find((image) => image.imageId === reference || image.relative === reference || (absolute !== undefined && image.file === absolute));
}

export interface DeleteInput extends UpdateInput {
  readonly image: ManifestImage;
}

export async function deleteImage(input: DeleteInput, listener: WorkflowListener): Promise<UpdateResult> {
  const { owner, manifest, image } = input;
  if (!manifest.images.some((entry) => entry.imageId === image.imageId)) throw new NotFoundError(`image ${image.imageId} is not in the index`);
  // Images the identification index never held (no face found, or added with --sei-only) need no care.
  const staleAdded = (manifest.twoServer?.stale?.added ?? []).includes(image.imageId);
  const inIdentification = manifest.twoServer !== undefined && !manifest.twoServer.skipped.some((skipped) => skipped.file === image.relative) && !staleAdded;
  const follows = inIdentification && (await identificationFollows(input));
  if (inIdentification) checkIdentification(input, follows, 'delete', image.relative);
  const sealed = await updateSealed(input, { delete: image.imageId }, listener);
  let sei: UpdateOutcome['sei'];
  if (manifest.sei !== undefined) {
    sei = { ...(await input.client.deleteImage(owner.config.ownerId, manifest.sei.indexName, image.imageId)), indexName: manifest.sei.indexName };
    info(listener, `deleted image ${image.imageId} (${image.relative}); SEI index "${sei.indexName}" now holds ${sei.imageCount} images`);
    adviseRebuild(listener, sei.rebuildAdvice);
  }
  const remaining = { ...manifest, images: manifest.images.filter((entry) => entry.imageId !== image.imageId) };
  let next: IndexManifest = remaining;
  let identification: IdentificationUpdate | undefined;
  if (follows) ({ manifest: next, identification } = await followInIdentification(input, remaining, { delete: image.imageId }, listener));
  else if (inIdentification || staleAdded) next = markStale(remaining, { deleted: image.imageId });
  warnStale(listener, next);
  const stale = staleOf(next);
  const envelopeRemoval = await requestEnvelopeRemoval(input, { sealed, sei, identification, stillIdentified: stale?.deleted.includes(image.imageId) === true }, listener);
  return {
    outcome: {
      ...outcomeOf(image.imageId, sealed, sei),
      file: image.file,
      ...(identification ? { identification } : {}),
      ...(stale ? { staleIdentification: stale } : {}),
      ...(envelopeRemoval ? { envelopeRemoval } : {}),
    },
    manifest: next,
  };
}

/**
 * Asks CS1 to remove a deleted image's envelope, naming per index the version the delete
 * published (older versions may still list the image, and CS1 waits for them to go; so it does
 * for every version of an index not named). Not while identification may still return the image.
 * A failure leaves the envelope in storage and is reported, not thrown: the indexes changed.
 */
async function requestEnvelopeRemoval(
  input: DeleteInput,
  published: { sealed: UpdateOutcome['sealed']; sei: UpdateOutcome['sei']; identification: IdentificationUpdate | undefined; stillIdentified: boolean },
  listener: WorkflowListener,
): Promise<UpdateOutcome['envelopeRemoval']> {
  const { imageId } = input.image;
  if (published.stillIdentified) {
    warn(listener, `the encrypted image ${imageId} stays in storage: identification may still return its id`);
    return undefined;
  }
  const absentFrom: Record<string, string> = {};
  for (const index of [published.sealed, published.sei, published.identification]) if (index !== undefined && index.version !== '') absentFrom[index.indexName] = index.version;
  try {
    const [removal] = await input.client.requestImageRemovals(input.owner.config.ownerId, [imageId], absentFrom);
    info(listener, `the encrypted image ${imageId} is removed from storage once no index version still served or retained lists it`);
    return { requestedAt: removal.requestedAt };
  } catch (error) {
    warn(listener, `the encrypted image ${imageId} stays in storage (its removal could not be requested: ${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}
