/**
 * `blindsight owner index <folder>`: everything that needs the plaintext, on the owner's
 * machine. CNN features of every image (unreadable files are skipped and listed), PCA fitted
 * on them (d components at most, and at most n - 1), the CAK-means index tree encrypted with
 * the SEI owner secret, every image encrypted with the image key, and with --two-server the
 * identification index: embeddings x 10^3 as integers, encrypted by the HE provider, whose
 * secret is kept for CS2's operator. The build goes to a staging folder that replaces the
 * previous build only when complete; nothing leaves the machine until `owner publish`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidInputError } from '../../../lib/core/errors';
import { secureRandom } from '../../../lib/core/random';
import { encryptImage } from '../../../lib/crypto/image-envelope';
import { ImageInputError } from '../../../lib/features/errors';
import { createHeBackend, SHE_IS_INSECURE, SHE_WARNING } from '../../../lib/he';
import type { HeBackendName, HeParametersFor } from '../../../lib/he/types';
import { selectRows } from '../../../lib/linalg/vectors';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { fitPca } from '../../../lib/ml/pca';
import { encodePcaModel } from '../../../lib/ml/pca-format';
import { buildEncryptedIndexTree } from '../../../lib/sei/index-tree/build';
import type { IndexTreeLayout, SearchDefaults } from '../../../lib/sei/index-tree/types';
import { describeSearchDefaults } from './search-defaults';
import { mapLimited } from '../../../lib/core/concurrency';
import { buildPlainIndex, encryptIndex } from '../../../lib/twoserver/protocol';
import { seiIndexParts, twoServerIndexParts } from '../../../lib/client/index-parts';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { fileError, UsageError } from '../errors';
import { DEFAULT_MODEL_CHOICE, featureSpecOf, identificationEmbeddings, projectFeatures, quantizeEmbeddings } from '../features';
import type { ModelChoice } from '../features';
import type { EmbeddingKind, TwoServerReference } from '../formats';
import { float64Bytes, sha256Hex } from '../formats';
import { formatSeconds } from '../io';
import { readUserFile, writePrivateFile, writePrivateJson, ensurePrivateDir } from '../secure-files';
import { imageIdOf, INDEX_MANIFEST_FORMAT, indexPaths, loadOwner, loadUsers } from './home';
import type { IndexManifest, ManifestImage, OwnerState } from './home';

export const DEFAULT_INDEX_NAME = 'main';
/** Embeddings in [-1, 1] times 10^3: the paper keeps 3 decimals. */
export const EMBEDDING_DECIMALS = 3;
export const EMBEDDING_MAX_ABS = 1000;
/** dlib's same-person threshold 0.6, squared, in the x10^3 space. */
export const FACE_TAU_SQUARED = 600 * 600;
export const DEFAULT_IDENTIFY_K = 5;
/** Decoy pool handed to users in grants (projected features of a random sample). */
export const DECOY_POOL_SIZE = 64;
/** The paper's SHE parameters (k0, k1, k2). */
const SHE_PARAMETERS = { k0: 1024, k1: 30, k2: 80 };
const ENCRYPT_CONCURRENCY = 8;
/** PCA is fitted on at most this many images (the covariance costs n d^2; the leading axes settle long before). */
const PCA_SAMPLE_SIZE = 20_000;
const MAX_LISTED_SKIPS = 10;

export interface IndexOptions {
  readonly folder: string;
  readonly indexName?: string;
  readonly recursive?: boolean;
  readonly model?: ModelChoice;
  /** Also build the two-server identification index. */
  readonly twoServer?: boolean;
  readonly twoServerIndexName?: string;
  readonly he?: HeBackendName;
  /** Required with he 'she' (--insecure-paper-scheme): the paper's scheme is broken. */
  readonly insecurePaperScheme?: boolean;
  /** Identification embeddings from the face model instead of the PCA'd CNN features. */
  readonly face?: boolean;
  /** Index tree layout (default balanced; paper: the SEI paper's tree and search). */
  readonly layout?: IndexTreeLayout;
  /** Recall@10 the stored search defaults must reach (default 0.95). */
  readonly targetRecall?: number;
}

export interface IndexResult {
  readonly folder: string;
  readonly indexName: string;
  readonly images: number;
  readonly skipped: ReadonlyArray<{ file: string; reason: string }>;
  readonly d: number;
  readonly pcaComponents: number;
  readonly leafCount: number;
  readonly depth: number;
  /** The search defaults stored with the index, and the recall measured for them at build time. */
  readonly search: SearchDefaults;
  readonly twoServer?: { indexName: string; backend: HeBackendName; embedding: EmbeddingKind; templates: number; keyId: string; skipped: number };
  readonly ms: { features: number; tree: number; images: number; twoServer?: number };
}

function listSkipped(context: CommandContext, skipped: ReadonlyArray<{ file: string; reason: string }>, what: string): void {
  if (skipped.length === 0) return;
  context.reporter.warn(`${skipped.length} ${skipped.length === 1 ? 'file was' : 'files were'} skipped${what}:`);
  for (const { file, reason } of skipped.slice(0, MAX_LISTED_SKIPS)) context.reporter.info(`  ${file}: ${reason}`);
  if (skipped.length > MAX_LISTED_SKIPS) context.reporter.info(`  ... and ${skipped.length - MAX_LISTED_SKIPS} more (see --json)`);
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

interface TwoServerBuild {
  readonly reference: NonNullable<IndexManifest['twoServer']>;
  readonly result: NonNullable<IndexResult['twoServer']>;
}

async function buildTwoServer(
  context: CommandContext,
  staging: ReturnType<typeof indexPaths>,
  options: IndexOptions,
  images: readonly ManifestImage[],
  cnnEmbeddings: () => VectorSet,
): Promise<TwoServerBuild> {
  const backend = options.he ?? 'bfv';
  const embedding: EmbeddingKind = options.face ? 'face' : 'cnn-pca';
  const indexName = options.twoServerIndexName ?? `${options.indexName ?? DEFAULT_INDEX_NAME}-identify`;
  let embeddings: VectorSet;
  let ids: string[];
  const skipped: Array<{ file: string; reason: string }> = [];
  if (embedding === 'face') {
    const embedder = await context.features.faceEmbedder();
    const rows: Float64Array[] = [];
    ids = [];
    const bar = context.reporter.progress('face descriptors');
    let done = 0;
    for (const image of images) {
      try {
        rows.push((await embedder.describe(image.file)).descriptor);
        ids.push(image.imageId);
      } catch (error) {
        if (!(error instanceof ImageInputError)) throw error;
        skipped.push({ file: image.relative, reason: error.problem });
      }
      bar.update(++done, images.length, `${skipped.length} without a face`);
    }
    bar.stop();
    listSkipped(context, skipped, ' from the identification index (no usable face)');
    if (rows.length === 0) throw new InvalidInputError('no image has a usable face: the identification index would be empty');
    const d = rows[0].length;
    const data = new Float64Array(rows.length * d);
    rows.forEach((row, i) => data.set(row, i * d));
    embeddings = { n: rows.length, d, data };
  } else {
    embeddings = cnnEmbeddings();
    ids = images.map((image) => image.imageId);
  }
  const templates = quantizeEmbeddings(embeddings, EMBEDDING_DECIMALS, EMBEDDING_MAX_ABS);
  context.reporter.info(`two-server index: ${templates.n} templates of ${templates.d} integers, HE backend ${backend}`);
  const he = await createHeBackend(backend, heParameters(backend, templates.d), { allowInsecurePaperScheme: options.insecurePaperScheme === true });
  try {
    const plain = buildPlainIndex(templates, { partitions: partitionsFor(templates.n), eps: 16 });
    const output = encryptIndex(he, templates, plain, ids);
    for (const [part, bytes] of Object.entries(twoServerIndexParts(output))) await writePrivateFile(staging.twoServerPart(part), bytes);
    await writePrivateFile(staging.cs2Secret, output.secretMaterial);
    const keyId = he.descriptor.keyId;
    const reference: TwoServerReference = {
      indexName,
      embedding,
      decimals: EMBEDDING_DECIMALS,
      maxAbs: EMBEDDING_MAX_ABS,
      backend,
      keyId,
      publicMaterialSha256: sha256Hex(output.publicMaterial),
      defaultQuery: embedding === 'face' ? { tauSquared: FACE_TAU_SQUARED } : { k: DEFAULT_IDENTIFY_K },
    };
    return {
      reference: { ...reference, templateCount: templates.n, skipped },
      result: { indexName, backend, embedding, templates: templates.n, keyId, skipped: skipped.length },
    };
  } finally {
    he.dispose();
  }
}

/** Replaces the previous build with the staged one (two renames; the old one is removed after). */
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

/** --he she only with --insecure-paper-scheme (checked before anything runs), and then loudly. */
function checkHeBackend(context: CommandContext, options: IndexOptions): void {
  if (options.twoServer !== true || options.he !== 'she') return;
  if (options.insecurePaperScheme !== true) {
    throw new UsageError(`--he she: ${SHE_IS_INSECURE}. Use --he bfv (the default), or add --insecure-paper-scheme to build it anyway for an experiment`);
  }
  context.reporter.warn(`--insecure-paper-scheme: ${SHE_WARNING}`);
}

export async function ownerIndex(context: CommandContext, options: IndexOptions): Promise<IndexResult> {
  checkHeBackend(context, options);
  const owner: OwnerState = await loadOwner(context);
  const folder = resolvePath(context, options.folder);
  const indexName = options.indexName ?? DEFAULT_INDEX_NAME;
  const choice = options.model ?? DEFAULT_MODEL_CHOICE;
  const d = owner.config.d;

  // 1. Features (the folder is checked first: loading the model takes seconds).
  try {
    if (!(await stat(folder)).isDirectory()) throw new InvalidInputError(`${folder} is not a folder: give the folder of images to index`);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw fileError('read the image folder', folder, error);
  }
  let started = performance.now();
  const extractor = await context.features.extractor(choice);
  const bar = context.reporter.progress('features');
  let extracted;
  try {
    extracted = await extractor.extractFolder(folder, {
      recursive: options.recursive,
      onProgress: ({ done, total, skipped }) => bar.update(done, total, `${skipped} skipped`),
    });
  } finally {
    bar.stop();
  }
  const featureMs = performance.now() - started;
  listSkipped(context, extracted.skipped, ' (not a usable image)');
  const n = extracted.ids.length;
  if (n < 2) {
    throw new InvalidInputError(`${folder} has ${n} usable image${n === 1 ? '' : 's'} (${extracted.skipped.length} skipped); an index needs at least 2`);
  }
  context.reporter.info(`features: ${n} images in ${formatSeconds(featureMs)} (${extractor.dimension}-d, ${extractor.backend})`);

  // 2. PCA (at most d and n - 1 components; zeros pad to d) and the encrypted tree.
  started = performance.now();
  const components = Math.min(d, n - 1, extractor.dimension);
  const pca = fitPca(extracted.vectors, components, n > PCA_SAMPLE_SIZE ? { sampleSize: PCA_SAMPLE_SIZE } : {});
  const projected = projectFeatures(pca, extracted.vectors, d);
  const images: ManifestImage[] = extracted.ids.map((relative) => ({
    imageId: imageIdOf(owner.imageKey, relative),
    file: join(folder, relative),
    relative,
    bytes: 0,
  }));
  const ids = images.map((image) => image.imageId);
  if (new Set(ids).size !== ids.length) throw new InvalidInputError('two files map to the same image id; rename one of them');
  const treeBar = context.reporter.progress('index tree');
  let built;
  try {
    built = buildEncryptedIndexTree(owner.seiSecret, projected, ids, {
      ...(options.layout === undefined ? {} : { layout: options.layout }),
      ...(options.targetRecall === undefined ? {} : { targetRecall: options.targetRecall }),
      onProgress: (_stage, done, total) => treeBar.update(done, total),
    });
  } finally {
    treeBar.stop();
  }
  const treeMs = performance.now() - started;
  context.reporter.info(
    `index tree: ${built.plain.stats.leafCount} leaves, depth ${built.plain.stats.depth}, PCA ${pca.components} components (d = ${d}), in ${formatSeconds(treeMs)}`,
  );
  context.reporter.info(`search defaults: ${describeSearchDefaults(built.tree.search)}`);

  // 3. Staging folder: parts, PCA, decoys, encrypted images, two-server index, manifest.
  const stagingDir = join(dirname(owner.paths.indexDir), `.index-staging-${randomBytes(4).toString('hex')}`);
  const staging = indexPaths(stagingDir);
  try {
    await ensurePrivateDir(stagingDir);
    const parts = seiIndexParts(built.tree);
    await writePrivateFile(staging.seiSkeleton, parts.skeleton);
    await writePrivateFile(staging.seiLeaves, parts.leaves);
    await writePrivateFile(staging.pca, encodePcaModel(pca));
    const decoys = sampleRows(projected, DECOY_POOL_SIZE);
    await writePrivateFile(staging.decoys, float64Bytes(decoys.data));

    started = performance.now();
    await mkdir(staging.imagesDir, { recursive: true, mode: 0o700 });
    const imageBar = context.reporter.progress('encrypt images');
    let done = 0;
    try {
      await mapLimited(images, ENCRYPT_CONCURRENCY, async (image, i) => {
        const bytes = await readUserFile(image.file, 'image');
        await writePrivateFile(staging.envelope(image.imageId), await encryptImage(owner.imageKey, image.imageId, bytes));
        images[i] = { ...image, bytes: bytes.length };
        imageBar.update(++done, images.length);
      });
    } finally {
      imageBar.stop();
    }
    const imageMs = performance.now() - started;
    context.reporter.info(`images: ${images.length} encrypted (AES-256-GCM) in ${formatSeconds(imageMs)}`);

    let twoServer: TwoServerBuild | undefined;
    let twoServerMs: number | undefined;
    if (options.twoServer) {
      started = performance.now();
      twoServer = await buildTwoServer(context, staging, { ...options, indexName }, images, () => identificationEmbeddings(pca, extracted.vectors));
      twoServerMs = performance.now() - started;
      context.reporter.info(`two-server index "${twoServer.result.indexName}": ${twoServer.result.templates} templates encrypted in ${formatSeconds(twoServerMs)}`);
    }

    const manifest: IndexManifest = {
      format: INDEX_MANIFEST_FORMAT,
      version: 1,
      builtAt: context.now().toISOString(),
      folder,
      features: featureSpecOf(choice, extractor),
      d,
      pcaComponents: pca.components,
      sei: { indexName, leafCount: built.plain.stats.leafCount, depth: built.plain.stats.depth },
      images,
      skipped: extracted.skipped,
      ...(twoServer ? { twoServer: twoServer.reference } : {}),
    };
    await writePrivateJson(staging.manifest, manifest);
    await swapIn(stagingDir, owner.paths.indexDir);
    context.reporter.info(`index built in ${owner.paths.indexDir}; run "blindsight owner publish" to upload it`);
    // Grants carry the PCA of the build they were made from: a new build needs new grants.
    const enrolled = Object.entries((await loadUsers(owner.paths)).users).filter(([, user]) => user.status === 'active');
    if (enrolled.length > 0) {
      context.reporter.warn(
        `the new PCA makes the grants of ${enrolled.map(([id]) => `"${id}"`).join(', ')} stale: after publishing, run "blindsight owner enroll <user> --request <their request>" again`,
      );
    }
    return {
      folder,
      indexName,
      images: images.length,
      skipped: extracted.skipped,
      d,
      pcaComponents: pca.components,
      leafCount: built.plain.stats.leafCount,
      depth: built.plain.stats.depth,
      search: built.tree.search,
      ...(twoServer ? { twoServer: twoServer.result } : {}),
      ms: { features: Math.round(featureMs), tree: Math.round(treeMs), images: Math.round(imageMs), ...(twoServerMs !== undefined ? { twoServer: Math.round(twoServerMs) } : {}) },
    };
  } catch (error) {
    await rm(stagingDir, { recursive: true, force: true });
    throw error;
  }
}
