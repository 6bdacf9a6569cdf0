/**
 * `blindsight user identify <image> [--tau-squared n | --k n] [--face]`: two-server
 * identification. The embedding is computed here (PCA'd CNN features, or a face descriptor
 * for face indexes), multiplied by 10^3 and rounded, and encrypted with the index's HE public
 * material (fetched from CS1 once, checked against the grant's SHA-256, cached). CS1 answers
 * with template ids and exact squared distances after its exchange with CS2, which alone holds
 * the HE secret; this machine holds no secret of the scheme at all.
 */
import { InvalidInputError } from '../../../lib/core/errors';
import type { TwoServerIndexSummary } from '../../../lib/client/types';
import { MAX_IDENTIFY_K } from '../../../lib/api/limits';
import { IdentificationClient } from '../../../lib/twoserver/protocol/client';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { UsageError } from '../errors';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { assertSameModel, identificationEmbeddings, quantizeEmbeddings } from '../features';
import { sha256Hex } from '../formats';
import { formatSeconds } from '../io';
import { exists, readPrivateFile, readUserFile, writePrivateFile } from '../secure-files';
import { explainRefusal, loadUser, userClient } from './home';
import type { UserState } from './home';

export interface IdentifyOptions {
  readonly image: string;
  readonly tauSquared?: number;
  readonly k?: number;
  /** Use the face model (required when the index was built from faces). */
  readonly face?: boolean;
}

export interface IdentifyResult {
  readonly query: string;
  readonly index: string;
  readonly version: string;
  readonly mode: { readonly tauSquared: number } | { readonly k: number };
  readonly matches: ReadonlyArray<{ readonly templateId: string; readonly dist2: number; readonly distance: number }>;
  readonly truncated: boolean;
  readonly stats: { readonly cs2Calls: number; readonly candidates: number };
  readonly ms: { readonly embedding: number; readonly identify: number };
}

async function embedding(context: CommandContext, user: UserState, file: string, face: boolean): Promise<VectorSet> {
  if (face) {
    const embedder = await context.features.faceEmbedder();
    const { descriptor } = await embedder.describe(file);
    return { n: 1, d: descriptor.length, data: descriptor };
  }
  const extractor = await context.features.extractor(user.grant.features);
  assertSameModel(user.grant.features, extractor);
  return identificationEmbeddings(user.pca, await extractor.extract([file]));
}

/** The public material of the index: cached in the home, else downloaded; always checked. */
async function publicMaterial(context: CommandContext, user: UserState, client: Awaited<ReturnType<typeof userClient>>): Promise<Uint8Array> {
  const reference = user.grant.twoServer!;
  const cache = user.paths.publicMaterial(reference.keyId);
  if (await exists(cache)) {
    const cached = await readPrivateFile(cache, 'the cached HE public material');
    if (sha256Hex(cached) === reference.publicMaterialSha256) return cached;
  }
  let description;
  try {
    description = await client.getIndex<TwoServerIndexSummary>(user.grant.ownerId, reference.indexName);
  } catch (error) {
    throw explainRefusal(error, user);
  }
  if (description.kind !== 'two-server' || description.summary.keyId !== reference.keyId) {
    throw new InvalidInputError(
      `index "${reference.indexName}" now uses ${description.kind === 'two-server' ? `key ${description.summary.keyId}` : `kind ${description.kind}`}, ` +
        `your grant key ${reference.keyId}: the owner rebuilt it; ask for a new grant`,
    );
  }
  const bytes = await client.downloadPublicMaterial(description);
  if (sha256Hex(bytes) !== reference.publicMaterialSha256) {
    throw new InvalidInputError(`the public material CS1 serves for index "${reference.indexName}" is not the one your grant names: ask the owner`);
  }
  await writePrivateFile(cache, bytes);
  return bytes;
}

export async function userIdentify(context: CommandContext, options: IdentifyOptions): Promise<IdentifyResult> {
  if (options.tauSquared !== undefined && options.k !== undefined) throw new UsageError('give either --tau-squared or --k, not both');
  if (options.k !== undefined && (!Number.isInteger(options.k) || options.k < 1 || options.k > MAX_IDENTIFY_K)) {
    throw new UsageError(`--k must be an integer from 1 to ${MAX_IDENTIFY_K}`);
  }
  if (options.tauSquared !== undefined && (!Number.isSafeInteger(options.tauSquared) || options.tauSquared < 0)) {
    throw new UsageError('--tau-squared must be an integer >= 0 (a squared distance in the x1000 integer space)');
  }
  const user = await loadUser(context);
  const reference = user.grant.twoServer;
  if (reference === undefined) throw new InvalidInputError('your grant names no identification index: the owner must index with --two-server and enroll you again');
  const face = reference.embedding === 'face';
  if (options.face === true && !face) throw new UsageError(`--face: index "${reference.indexName}" was built from CNN features, not faces; drop --face`);
  const client = await userClient(context, user);
  const query = resolvePath(context, options.image);
  await readUserFile(query, 'query image');

  let started = performance.now();
  const vector = quantizeEmbeddings(await embedding(context, user, query, face), reference.decimals, reference.maxAbs);
  const he = await IdentificationClient.load(await publicMaterial(context, user, client));
  let encrypted: Uint8Array;
  try {
    if (he.dimension !== vector.d) throw new InvalidInputError(`the identification index takes ${he.dimension}-d embeddings, this one has ${vector.d}`);
    encrypted = he.encryptRequest(vector.data);
  } finally {
    he.dispose();
  }
  const embeddingMs = performance.now() - started;

  const mode = options.tauSquared !== undefined ? { tauSquared: options.tauSquared } : options.k !== undefined ? { k: options.k } : reference.defaultQuery;
  started = performance.now();
  let response;
  try {
    response = await client.identify(user.grant.ownerId, reference.indexName, { query: encrypted, ...mode } as Parameters<typeof client.identify>[2]);
  } catch (error) {
    throw explainRefusal(error, user);
  }
  const identifyMs = performance.now() - started;
  const scale = 10 ** reference.decimals;
  const matches = response.matches.map((m) => ({ templateId: m.templateId, dist2: m.dist2, distance: Math.sqrt(m.dist2) / scale }));
  context.reporter.info(
    `${matches.length} match${matches.length === 1 ? '' : 'es'} in index "${reference.indexName}" ` +
      `(${'k' in mode ? `k = ${mode.k}` : `tau^2 = ${mode.tauSquared}`}; ${response.stats.cs2Calls} CS2 calls, ${response.stats.candidates} candidates; ` +
      `embedding ${formatSeconds(embeddingMs)}, identification ${formatSeconds(identifyMs)})`,
  );
  return {
    query,
    index: reference.indexName,
    version: response.version,
    mode,
    matches,
    truncated: response.truncated === true,
    stats: response.stats,
    ms: { embedding: Math.round(embeddingMs), identify: Math.round(identifyMs) },
  };
}
