/**
 * The owner's "index these images" workflow: everything that needs the plaintext, on the
 * owner's machine. CNN features of every image (unusable ones skipped and named), PCA fitted on
 * them (d components at most, and at most n - 1), then the search indexes asked for: the sealed
 * index (the default: leaves of projected vectors under a new AES-256 index key, sealed per
 * version at publish; the cloud never ranks) and/or the SEI index tree encrypted with the SEI
 * owner secret (the paper's; the cloud ranks encrypted vectors). Every image is encrypted with
 * the image key, and optionally the two-server identification index is built: embeddings x 10^3
 * as integers, encrypted by the HE provider, whose secret is kept for CS2's operator. Files go
 * to a BuildSink; nothing leaves the machine.
 */
import { InvalidInputError } from '../core/errors';
import { mapLimited } from '../core/concurrency';
import { secureRandom } from '../core/random';
import { encryptImage } from '../crypto/image-envelope';
import { ImageInputError } from '../features/errors';
import type { SkippedFile } from '../features/types';
import { createHeBackend } from '../he';
import type { HeBackendName, HeParametersFor } from '../he/types';
import { selectRows } from '../linalg/vectors';
import type { VectorSet } from '../linalg/vectors';
import { fitPca } from '../ml/pca';
import { encodePcaModel } from '../ml/pca-format';
import { encodeSealedBuild } from '../sealed/build-file';
import { buildSealedIndex } from '../sealed/build';
import { encodeIndexKey, generateIndexKey } from '../sealed/index-key';
import { buildEncryptedIndexTree } from '../sei/index-tree/build';
import type { IndexTreeLayout, SearchDefaults } from '../sei/index-tree/types';
import { identificationPolicy } from '../twoserver/policy';
import type { QueryBudget } from '../twoserver/policy';
import { buildPlainIndex, encryptIndex } from '../twoserver/protocol';
import { BUILD_FILES, envelopeFile, twoServerFile } from './build-files';
import type { BuildSink } from './build-files';
import { info, inStep, warn } from './events';
import type { WorkflowListener } from './events';
import { featureSpecOf, identificationEmbeddings, projectFeatures, quantizeEmbeddings } from './features';
import type { FeatureModels, ModelChoice } from './features';
import { float64Bytes } from './formats';
import type { EmbeddingKind, TwoServerReference } from './formats';
import { sha256Hex } from '../crypto/digest';
import { imageIdOf } from './image-ids';
import type { ExtractedImages, ImageEntry, ImageListing } from './images';
import { extractImages } from './images';
import { seiIndexParts, twoServerIndexParts } from './index-parts';
import { INDEX_MANIFEST_FORMAT } from './owner-state';
import { describeSearchDefaults } from './search-defaults';
import type { IndexManifest, ManifestImage, Owner, SealedManifest, SearchIndexKind } from './owner-state';
import { SEARCH_INDEX_KINDS } from './owner-state';
import { formatSeconds, plural } from './units';
import { parseIndexName } from '../core/ids';
import type { IndexName } from '../core/ids';

export const DEFAULT_INDEX_NAME = parseIndexName('main');
/** Embeddings in [-1, 1] times 10^3: the paper keeps 3 decimals. */
export const EMBEDDING_DECIMALS = 3;
export const EMBEDDING_MAX_ABS = 1000;
/** dlib's same-person threshold 0.6, squared, in the x10^3 space. */
export const FACE_TAU_SQUARED = 600 * 600;
export const DEFAULT_IDENTIFY_K = 5;
/** CNN embeddings: unit vectors; a range query reaches at most distance 0.5 unless the owner allows more. */
export const CNN_MAX_TAU_SQUARED = 500 * 500;
/** Decoy pool handed to users in grants (projected features of a random sample). */
export const DECOY_POOL_SIZE = 64;
/** The paper's SHE parameters (k0, k1, k2). */
const SHE_PARAMETERS = { k0: 1024, k1: 30, k2: 80 };
const ENCRYPT_CONCURRENCY = 8;
/** PCA is fitted on at most this many images (the covariance costs n d^2; the leading axes settle long before). */
const PCA_SAMPLE_SIZE = 20_000;
const MAX_LISTED_SKIPS = 10;

export interface TwoServerBuildOptions {
  /** Default <indexName>-identify. */
  readonly indexName?: IndexName;
  readonly he?: HeBackendName;
  /** Required with he 'she', the paper's scheme, which is broken (the caller warns about it). */
  readonly allowInsecurePaperScheme?: boolean;
  /** Identification embeddings from the face model instead of the PCA'd CNN features. */
  readonly face?: boolean;
  /** What users may ask (defaults: k <= 10, the embedding's threshold, 100 queries an hour). */
  readonly maxK?: number;
  readonly maxTauSquared?: number;
  readonly identifyBudget?: QueryBudget;
}

export interface IndexImagesInput {
  readonly owner: Owner;
  readonly images: ImageListing;
  /** What the images are, for the manifest and messages (a folder path). */
  readonly label: string;
  readonly models: FeatureModels;
  readonly sink: BuildSink;
  readonly model: ModelChoice;
  /** Name of the first kind's index (default "main"); further kinds are "<name>-<kind>". */
  readonly indexName?: IndexName;
  /** The search indexes to build (default sealed only). */
  readonly kinds?: readonly SearchIndexKind[];
  /** SEI index tree layout (default balanced; paper: the SEI paper's tree and search). */
  readonly layout?: IndexTreeLayout;
  /** Recall@10 the stored search defaults (SEI probes, sealed real leaves) must reach (default 0.95, measured on held-out images). */
  readonly targetRecall?: number;
  readonly twoServer?: TwoServerBuildOptions;
  /** Said when fewer than 2 images are listed (e.g. "add --recursive"). */
  readonly emptyHint?: () => Promise<string | undefined>;
  readonly now?: () => Date;
}

export interface IndexSummary {
  readonly folder: string;
  readonly indexName: IndexName;
  readonly images: number;
  readonly skipped: readonly SkippedFile[];
  readonly d: number;
  readonly pcaComponents: number;
  readonly sealed?: SealedManifest;
  readonly sei?: {
    readonly indexName: IndexName;
    readonly leafCount: number;
    readonly depth: number;
    /** The search defaults stored with the index, and the recall measured for them at build time. */
    readonly search: SearchDefaults;
  };
  readonly twoServer?: { indexName: IndexName; backend: HeBackendName; embedding: EmbeddingKind; templates: number; keyId: string; skipped: number };
  readonly ms: { features: number; sealed?: number; tree?: number; images: number; twoServer?: number; total: number };
}

export interface IndexBuild {
  readonly manifest: IndexManifest;
  readonly summary: IndexSummary;
}

function listSkipped(listener: WorkflowListener, skipped: readonly SkippedFile[], what: string): void {
  if (skipped.length === 0) return;
  warn(listener, `${skipped.length} ${skipped.length === 1 ? 'file was' : 'files were'} skipped${what}:`);
  for (const { file, reason } of skipped.slice(0, MAX_LISTED_SKIPS)) info(listener, `  ${file}: ${reason}`);
  if (skipped.length > MAX_LISTED_SKIPS) info(listener, `  ... and ${skipped.length - MAX_LISTED_SKIPS} more (see --json)`);
}

function sampleRows(set: VectorSet, count: number): VectorSet {
  const indices = Array.from({ length: set.n }, (_, i) => i);
  for (let i = 0; i < Math.min(count, set.n); i++) {
    const j = i + secureRandom.int(set.n - i);
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return selectRows(set, indices.slice(0, Math.min(count, set.n)));
}

function partitionsFor(n: number): number {
  return Math.max(1, Math.min(64, n, Math.round(Math.sqrt(n / 2))));
}

function heParameters(backend: HeBackendName, d: number): HeParametersFor<HeBackendName> {
  return backend === 'bfv' ? { d, maxAbs: EMBEDDING_MAX_ABS } : { d, maxAbs: EMBEDDING_MAX_ABS, ...SHE_PARAMETERS };
}

async function faceEmbeddings(
  models: FeatureModels,
  images: readonly IndexedImage[],
  listener: WorkflowListener,
): Promise<{ embeddings: VectorSet; ids: string[]; skipped: SkippedFile[] }> {
  const embedder = await models.faceEmbedder();
  const rows: Float64Array[] = [];
  const ids: string[] = [];
  const skipped: SkippedFile[] = [];
  await inStep(listener, 'face descriptors', async (progress) => {
    let done = 0;
    for (const image of images) {
      try {
        rows.push((await embedder.describe(image.entry.source)).descriptor);
        ids.push(image.imageId);
      } catch (error) {
        if (!(error instanceof ImageInputError)) throw error;
        skipped.push({ file: image.relative, reason: error.problem });
      }
      progress.update(++done, images.length, `${skipped.length} without a face`);
    }
  });
  listSkipped(listener, skipped, ' from the identification index (no usable face)');
  if (rows.length === 0) throw new InvalidInputError('no image has a usable face: the identification index would be empty');
  const d = rows[0].length;
  const data = new Float64Array(rows.length * d);
  rows.forEach((row, i) => data.set(row, i * d));
  return { embeddings: { n: rows.length, d, data }, ids, skipped };
}

async function buildTwoServer(
  input: IndexImagesInput,
  indexName: IndexName,
  images: readonly IndexedImage[],
  cnnEmbeddings: () => VectorSet,
  listener: WorkflowListener,
): Promise<{ reference: NonNullable<IndexManifest['twoServer']>; summary: NonNullable<IndexSummary['twoServer']> }> {
  const options = input.twoServer ?? {};
  const backend = options.he ?? 'bfv';
  const embedding: EmbeddingKind = options.face ? 'face' : 'cnn-pca';
  const name = options.indexName ?? parseIndexName(`${indexName}-identify`);
  let embeddings: VectorSet;
  let ids: string[];
  let skipped: SkippedFile[] = [];
  if (embedding === 'face') {
    ({ embeddings, ids, skipped } = await faceEmbeddings(input.models, images, listener));
  } else {
    embeddings = cnnEmbeddings();
    ids = images.map((image) => image.imageId);
  }
  const templates = quantizeEmbeddings(embeddings, EMBEDDING_DECIMALS, EMBEDDING_MAX_ABS);
  info(listener, `two-server index: ${templates.n} templates of ${templates.d} integers, HE backend ${backend}`);
  const he = await createHeBackend(backend, heParameters(backend, templates.d), { allowInsecurePaperScheme: options.allowInsecurePaperScheme === true });
  try {
    const plain = buildPlainIndex(templates, { partitions: partitionsFor(templates.n), eps: 16 });
    const policy = identificationPolicy({
      maxTauSquared: options.maxTauSquared ?? (embedding === 'face' ? FACE_TAU_SQUARED : CNN_MAX_TAU_SQUARED),
      maxK: options.maxK,
      budget: options.identifyBudget,
    });
    const output = encryptIndex(he, templates, plain, { ids, policy });
    for (const [part, bytes] of Object.entries(twoServerIndexParts(output))) await input.sink.put(twoServerFile(part), bytes);
    await input.sink.put(BUILD_FILES.cs2Secret, output.secretMaterial);
    // What `owner add/delete` need to make the next versions: the templates and the HE key.
    await input.sink.put(BUILD_FILES.twoServerProviderIndex, output.provider.encode());
    await input.sink.put(BUILD_FILES.twoServerProviderKey, he.exportProviderKey());
    const keyId = he.descriptor.keyId;
    const reference: TwoServerReference = {
      indexName: name,
      embedding,
      decimals: EMBEDDING_DECIMALS,
      maxAbs: EMBEDDING_MAX_ABS,
      backend,
      keyId,
      publicMaterialSha256: await sha256Hex(output.publicMaterial),
      defaultQuery: embedding === 'face' ? { tauSquared: FACE_TAU_SQUARED } : { k: DEFAULT_IDENTIFY_K },
    };
    return {
      reference: { ...reference, templateCount: templates.n, skipped },
      summary: { indexName: name, backend, embedding, templates: templates.n, keyId, skipped: skipped.length },
    };
  } finally {
    he.dispose();
  }
}

/** Index names: the first kind gets the name, the others "<name>-<kind>". */
export function indexNamesFor(kinds: readonly SearchIndexKind[], indexName: IndexName): Partial<Record<SearchIndexKind, IndexName>> {
  // A derived name is parsed like a typed one: too long a base name fails here, before any work.
  return Object.fromEntries(kinds.map((kind, i) => [kind, i === 0 ? indexName : parseIndexName(`${indexName}-${kind}`)]));
}

function checkKinds(kinds: readonly SearchIndexKind[]): void {
  if (kinds.length === 0) throw new InvalidInputError(`--kind needs at least one of ${SEARCH_INDEX_KINDS.join(', ')}`);
  for (const kind of kinds) if (!SEARCH_INDEX_KINDS.includes(kind)) throw new InvalidInputError(`--kind: "${kind}" is not one of ${SEARCH_INDEX_KINDS.join(', ')}`);
  if (new Set(kinds).size !== kinds.length) throw new InvalidInputError('--kind names a kind twice');
}

/** An image being indexed: its manifest entry (bytes filled in once encrypted) and where to read it. */
type IndexedImage = ManifestImage & { entry: ImageEntry };

/** Runs `work`; returns its value and how long it took. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** Step 1: CNN features of every usable image. Too few files is said before the model loads (it takes seconds). */
async function indexFeatures(input: IndexImagesInput, listener: WorkflowListener) {
  const listed = input.images.entries.length;
  if (listed < 2) {
    const hint = await input.emptyHint?.();
    throw new InvalidInputError(`${input.label} has ${plural(listed, 'file')}${hint ? `; ${hint}` : ''}; an index needs at least 2 images`);
  }
  const { value, ms: featureMs } = await timed(async () => {
    const extractor = await input.models.extractor(input.model);
    return { extractor, extracted: await inStep(listener, 'features', (progress) => extractImages(extractor, input.images.entries, progress)) };
  });
  const { extractor, extracted } = value;
  const skipped = [...input.images.unreadable, ...extracted.skipped];
  listSkipped(listener, skipped, ' (not a usable image)');
  const n = extracted.entries.length;
  if (n < 2) {
    const hint = await input.emptyHint?.();
    throw new InvalidInputError(`${input.label} has ${plural(n, 'usable image')} (${skipped.length} skipped)${hint ? `; ${hint}` : ''}; an index needs at least 2`);
  }
  info(listener, `features: ${n} images in ${formatSeconds(featureMs)} (${extractor.dimension}-d, ${extractor.backend})`);
  return { extractor, extracted, skipped, featureMs };
}

/**
 * Step 2: PCA (at most d and n - 1 components; zeros pad to d), the projected vectors, every
 * image's id; the PCA and the decoy pool go to the sink.
 */
async function projectAndName(input: IndexImagesInput, extracted: ExtractedImages, dimension: number) {
  const { owner } = input;
  const n = extracted.entries.length;
  const components = Math.min(owner.config.d, n - 1, dimension);
  const pca = fitPca(extracted.vectors, components, n > PCA_SAMPLE_SIZE ? { sampleSize: PCA_SAMPLE_SIZE } : {});
  const projected = projectFeatures(pca, extracted.vectors, owner.config.d);
  const images: IndexedImage[] = await Promise.all(
    extracted.entries.map(async (entry) => ({
      imageId: await imageIdOf(owner.imageKey, entry.name),
      file: typeof entry.source === 'string' ? entry.source : entry.name,
      relative: entry.name,
      bytes: 0,
      entry,
    })),
  );
  const ids = images.map((image) => image.imageId);
  if (new Set(ids).size !== ids.length) throw new InvalidInputError('two files map to the same image id; rename one of them');
  await input.sink.put(BUILD_FILES.pca, encodePcaModel(pca));
  await input.sink.put(BUILD_FILES.decoys, float64Bytes(sampleRows(projected, DECOY_POOL_SIZE).data));
  return { pca, projected, images, ids };
}

/** The sealed index: leaves under a new index key, both to the sink (sealed per version at publish). */
async function buildSealedKind(
  input: IndexImagesInput,
  indexName: IndexName,
  projected: VectorSet,
  ids: string[],
  listener: WorkflowListener,
): Promise<{ value: SealedManifest; ms: number }> {
  const started = performance.now();
  const build = await inStep(listener, 'sealed index', async (progress) =>
    buildSealedIndex(projected, ids, {
      ...(input.targetRecall === undefined ? {} : { targetRecall: input.targetRecall }),
      onProgress: (_stage, done, total) => progress.update(done, total),
    }),
  );
  const key = generateIndexKey();
  await input.sink.put(BUILD_FILES.sealedBuild, encodeSealedBuild(build));
  await input.sink.put(BUILD_FILES.sealedKey, encodeIndexKey(key));
  const ms = performance.now() - started;
  info(
    listener,
    `sealed index "${indexName}": ${build.leafCount} leaves of up to ${build.leafCapacity} images (${build.quantisation}); ` +
      `each query reads ${build.realLeaves} of ${build.leavesPerQuery} leaves (recall@10 ${build.recallEstimate.toFixed(3)} on the owner's sample), in ${formatSeconds(ms)}`,
  );
  const { leafCount, leavesPerQuery, realLeaves, recallEstimate } = build;
  return { value: { indexName, keyId: key.keyId, leafCount, leavesPerQuery, realLeaves, recallEstimate }, ms };
}

/** The SEI index tree, encrypted with the owner's SEI secret; its skeleton and leaves to the sink. */
async function buildSeiKind(
  input: IndexImagesInput,
  indexName: IndexName,
  projected: VectorSet,
  ids: string[],
  pcaComponents: number,
  listener: WorkflowListener,
): Promise<{ value: NonNullable<IndexSummary['sei']>; ms: number }> {
  const { value: built, ms: treeMs } = await timed(() =>
    inStep(listener, 'index tree', async (progress) =>
      buildEncryptedIndexTree(input.owner.seiSecret, projected, ids, {
        ...(input.layout === undefined ? {} : { layout: input.layout }),
        ...(input.targetRecall === undefined ? {} : { targetRecall: input.targetRecall }),
        onProgress: (_stage, done, total) => progress.update(done, total),
      }),
    ),
  );
  const { leafCount, depth } = built.plain.stats;
  info(listener, `SEI index tree "${indexName}": ${leafCount} leaves, depth ${depth}, PCA ${pcaComponents} components (d = ${input.owner.config.d}), in ${formatSeconds(treeMs)}`);
  info(listener, `search defaults: ${describeSearchDefaults(built.tree.search)}`);
  const parts = seiIndexParts(built.tree);
  await input.sink.put(BUILD_FILES.seiSkeleton, parts.skeleton);
  await input.sink.put(BUILD_FILES.seiLeaves, parts.leaves);
  // The tree's time is the build's: encoding and storing its parts are not counted.
  return { value: { indexName, leafCount, depth, search: built.tree.search }, ms: treeMs };
}

/** Step 3: every image encrypted (AES-256-GCM) to the sink; records each image's size in `images`. */
async function encryptImages(input: IndexImagesInput, images: IndexedImage[], listener: WorkflowListener): Promise<void> {
  await inStep(listener, 'encrypt images', async (progress) => {
    let done = 0;
    await mapLimited(images, ENCRYPT_CONCURRENCY, async (image, i) => {
      const bytes = await image.entry.read();
      await input.sink.put(envelopeFile(image.imageId), await encryptImage(input.owner.imageKey, image.imageId, bytes));
      images[i] = { ...image, bytes: bytes.length };
      progress.update(++done, images.length);
    });
  });
}

/** Builds the indexes of a set of images into `sink`; returns the manifest to keep and a summary. */
export async function indexImages(input: IndexImagesInput, listener: WorkflowListener): Promise<IndexBuild> {
  const started = performance.now();
  const { label } = input;
  const indexName = input.indexName ?? DEFAULT_INDEX_NAME;
  const kinds = input.kinds ?? ['sealed'];
  checkKinds(kinds);
  const names = indexNamesFor(kinds, indexName);
  const d = input.owner.config.d;
  const now = input.now ?? (() => new Date());

  const { extractor, extracted, skipped, featureMs } = await indexFeatures(input, listener);
  const { pca, projected, images, ids } = await projectAndName(input, extracted, extractor.dimension);
  const sealed = names.sealed === undefined ? undefined : await buildSealedKind(input, names.sealed, projected, ids, listener);
  const sei = names.sei === undefined ? undefined : await buildSeiKind(input, names.sei, projected, ids, pca.components, listener);
  const { ms: imageMs } = await timed(() => encryptImages(input, images, listener));
  info(listener, `images: ${images.length} encrypted (AES-256-GCM) in ${formatSeconds(imageMs)}`);
  const twoServer =
    input.twoServer === undefined ? undefined : await timed(() => buildTwoServer(input, indexName, images, () => identificationEmbeddings(pca, extracted.vectors), listener));
  if (twoServer !== undefined) {
    info(listener, `two-server index "${twoServer.value.summary.indexName}": ${twoServer.value.summary.templates} templates encrypted in ${formatSeconds(twoServer.ms)}`);
  }

  const manifest: IndexManifest = {
    format: INDEX_MANIFEST_FORMAT,
    version: 1,
    builtAt: now().toISOString(),
    folder: label,
    features: featureSpecOf(input.model, extractor),
    d,
    pcaComponents: pca.components,
    ...(sealed ? { sealed: sealed.value } : {}),
    ...(sei ? { sei: { indexName: sei.value.indexName, leafCount: sei.value.leafCount, depth: sei.value.depth } } : {}),
    images: images.map(({ imageId, file, relative, bytes }) => ({ imageId, file, relative, bytes })),
    skipped,
    ...(twoServer ? { twoServer: twoServer.value.reference } : {}),
  };
  const summary: IndexSummary = {
    folder: label,
    indexName,
    images: images.length,
    skipped,
    d,
    pcaComponents: pca.components,
    ...(sealed ? { sealed: sealed.value } : {}),
    ...(sei ? { sei: sei.value } : {}),
    ...(twoServer ? { twoServer: twoServer.value.summary } : {}),
    ms: {
      features: Math.round(featureMs),
      ...(sealed ? { sealed: Math.round(sealed.ms) } : {}),
      ...(sei ? { tree: Math.round(sei.ms) } : {}),
      images: Math.round(imageMs),
      ...(twoServer ? { twoServer: Math.round(twoServer.ms) } : {}),
      total: Math.round(performance.now() - started),
    },
  };
  return { manifest, summary };
}
