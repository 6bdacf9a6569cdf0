/**
 * The user's two-server identification workflow, for one image or many in one run: the
 * embedding is computed here (PCA'd CNN features, or a face descriptor for face indexes),
 * multiplied by 10^3 and rounded, and encrypted with the index's HE public material (fetched
 * from CS1 once, checked against the grant's SHA-256, cached by the caller). CS1 answers with
 * the matching template (image) ids, nearest first (never distances), after its exchange with
 * CS2, which alone holds the HE secret; the user holds no secret of the scheme at all. Each
 * identification counts against the user's budget on the index (the owner's policy).
 */
import { InvalidInputError } from '../core/errors';
import { mapLimited } from '../core/concurrency';
import { sha256Hex } from '../crypto/digest';
import { ImageInputError } from '../features/errors';
import type { SkippedFile } from '../features/types';
import type { VectorSet } from '../linalg/vectors';
import { MAX_IDENTIFY_K } from '../api/limits';
import { IdentificationClient } from '../twoserver/protocol/client';
import type { Cs1Client } from './cs1-client';
import { info, inStep } from './events';
import type { WorkflowListener } from './events';
import { extractorFor, identificationEmbeddings, quantizeEmbeddings } from './features';
import type { FeatureModels } from './features';
import type { TwoServerReference } from './formats';
import { extractImages, reportSkippedQueries } from './images';
import type { ImageEntry } from './images';
import type { IdentifyRequest, TwoServerIndexSummary } from './types';
import type { UserSession } from './user-session';
import { explainRefusal } from './user-session';
import { formatSeconds, plural } from './units';
import type { ImageId, VersionId } from '../core/ids';

/** Identification requests in flight at once (each costs CS1 and CS2 work). */
const DEFAULT_IDENTIFY_CONCURRENCY = 2;

export type IdentifyMode = { readonly tauSquared: number } | { readonly k: number };

/** The HE public material of identification indexes, kept between runs (the CLI: files in the home). */
export interface PublicMaterialCache {
  get(keyId: string): Promise<Uint8Array | undefined>;
  put(keyId: string, bytes: Uint8Array): Promise<void>;
}

export interface IdentifyInput {
  readonly session: UserSession;
  readonly client: Cs1Client;
  readonly models: FeatureModels;
  readonly queries: readonly ImageEntry[];
  /** Default: the index's default query (k nearest, or a face threshold). */
  readonly mode?: IdentifyMode;
  /** The caller insists the queries are faces (refused for CNN indexes). */
  readonly face?: boolean;
  readonly cache?: PublicMaterialCache;
  readonly skipUnusable?: boolean;
  readonly concurrency?: number;
}

export interface QueryMatches {
  readonly query: string;
  /** Matching template (image) ids, nearest first. */
  readonly matches: readonly ImageId[];
  readonly truncated: boolean;
}

/** The user's identification budget on the index after the last answered query. */
export interface IdentifyBudget {
  readonly limit: number;
  readonly remaining: number;
  readonly resetsAt: string;
}

export interface IdentifyOutcome {
  readonly index: string;
  readonly version: VersionId | '';
  readonly mode: IdentifyMode;
  readonly queries: QueryMatches[];
  readonly skipped: SkippedFile[];
  readonly budget?: IdentifyBudget;
  readonly ms: { readonly embedding: number; readonly identify: number; readonly total: number; readonly perQuery: number };
}

function checkIdentifyMode(mode: { tauSquared?: number; k?: number }): void {
  if (mode.tauSquared !== undefined && mode.k !== undefined) throw new InvalidInputError('give either --tau-squared or --k, not both');
  if (mode.k !== undefined && (!Number.isInteger(mode.k) || mode.k < 1 || mode.k > MAX_IDENTIFY_K)) {
    throw new InvalidInputError(`--k must be an integer from 1 to ${MAX_IDENTIFY_K} (and at most the index's limit)`);
  }
  if (mode.tauSquared !== undefined && (!Number.isSafeInteger(mode.tauSquared) || mode.tauSquared < 0)) {
    throw new InvalidInputError('--tau-squared must be an integer >= 0 (a squared distance in the x1000 integer space)');
  }
}

/** The public material of the index: cached, else downloaded; always checked against the grant. */
async function publicMaterial(input: IdentifyInput, reference: TwoServerReference): Promise<Uint8Array> {
  const { client, session, cache } = input;
  const cached = await cache?.get(reference.keyId);
  if (cached !== undefined && (await sha256Hex(cached)) === reference.publicMaterialSha256) return cached;
  let description;
  try {
    description = await client.getIndex<TwoServerIndexSummary>(session.grant.ownerId, reference.indexName);
  } catch (error) {
    throw explainRefusal(error, session.grant);
  }
  if (description.kind !== 'two-server' || description.summary.keyId !== reference.keyId) {
    throw new InvalidInputError(
      `index "${reference.indexName}" now uses ${description.kind === 'two-server' ? `key ${description.summary.keyId}` : `kind ${description.kind}`}, ` +
        `your grant key ${reference.keyId}: the owner rebuilt it; ask for a new grant`,
    );
  }
  const bytes = await client.downloadPublicMaterial(description);
  if ((await sha256Hex(bytes)) !== reference.publicMaterialSha256) {
    throw new InvalidInputError(`the public material CS1 serves for index "${reference.indexName}" is not the one your grant names: ask the owner`);
  }
  await cache?.put(reference.keyId, bytes);
  return bytes;
}

/** Embeddings of the usable queries (face descriptors, or PCA'd CNN features), and the skipped ones. */
async function embeddings(input: IdentifyInput, face: boolean, listener: WorkflowListener): Promise<{ entries: ImageEntry[]; vectors: VectorSet; skipped: SkippedFile[] }> {
  const { session, models, queries } = input;
  if (!face) {
    const extractor = await extractorFor(models, session.grant.features);
    const extracted = await inStep(listener, 'query features', (progress) => extractImages(extractor, queries, progress));
    return { entries: extracted.entries, vectors: identificationEmbeddings(session.pca, extracted.vectors), skipped: extracted.skipped };
  }
  const embedder = await models.faceEmbedder();
  const entries: ImageEntry[] = [];
  const rows: Float64Array[] = [];
  const skipped: SkippedFile[] = [];
  await inStep(listener, 'face descriptors', async (progress) => {
    for (const entry of queries) {
      try {
        rows.push((await embedder.describe(entry.source)).descriptor);
        entries.push(entry);
      } catch (error) {
        if (!(error instanceof ImageInputError)) throw error;
        skipped.push({ file: entry.name, reason: error.problem });
      }
      progress.update(entries.length + skipped.length, queries.length);
    }
  });
  const d = rows[0]?.length ?? 0;
  const data = new Float64Array(rows.length * d);
  rows.forEach((row, i) => data.set(row, i * d));
  return { entries, vectors: { n: rows.length, d, data }, skipped };
}

export async function identifyImages(input: IdentifyInput, listener: WorkflowListener): Promise<IdentifyOutcome> {
  const started = performance.now();
  const { session, client } = input;
  const { grant } = session;
  const reference = grant.twoServer;
  if (reference === undefined) throw new InvalidInputError('your grant names no identification index: the owner must index with --two-server and enroll you again');
  const face = reference.embedding === 'face';
  if (input.face === true && !face) throw new InvalidInputError(`--face: index "${reference.indexName}" was built from CNN features, not faces; drop --face`);
  if (input.queries.length === 0) throw new InvalidInputError('no query image given');
  const mode: IdentifyMode = input.mode ?? reference.defaultQuery;
  checkIdentifyMode(mode);

  let stepStarted = performance.now();
  const material = await publicMaterial(input, reference);
  const embedded = await embeddings(input, face, listener);
  reportSkippedQueries(listener, embedded.skipped, embedded.entries.length, input.skipUnusable);
  const vectors = quantizeEmbeddings(embedded.vectors, reference.decimals, reference.maxAbs);
  const he = await IdentificationClient.load(material);
  const requests: Uint8Array[] = [];
  try {
    if (he.dimension !== vectors.d) throw new InvalidInputError(`the identification index takes ${he.dimension}-d embeddings, these have ${vectors.d}`);
    for (let i = 0; i < vectors.n; i++) requests.push(he.encryptRequest(vectors.data.subarray(i * vectors.d, (i + 1) * vectors.d)));
  } finally {
    he.dispose();
  }
  const embeddingMs = performance.now() - stepStarted;

  stepStarted = performance.now();
  let version: VersionId | '' = '';
  let budget: IdentifyBudget | undefined;
  let done = 0;
  const queries = await inStep(listener, 'identify', async (progress) => {
    progress.update(0, requests.length);
    return mapLimited(requests, input.concurrency ?? DEFAULT_IDENTIFY_CONCURRENCY, async (query, i): Promise<QueryMatches> => {
      let response;
      try {
        response = await client.identify(grant.ownerId, reference.indexName, { query, ...mode } as IdentifyRequest);
      } catch (error) {
        throw explainRefusal(error, grant);
      }
      version = response.version;
      // Answers may arrive out of order: the budget with the fewest queries left is the latest.
      if (response.budget !== undefined && (budget === undefined || response.budget.remaining < budget.remaining)) budget = response.budget;
      progress.update(++done, requests.length);
      return { query: embedded.entries[i].name, matches: response.templateIds, truncated: response.truncated === true };
    });
  });
  const identifyMs = performance.now() - stepStarted;
  const totalMs = performance.now() - started;
  const matches = queries.reduce((sum, q) => sum + q.matches.length, 0);
  info(
    listener,
    `${plural(queries.length, 'query', 'queries')} identified in index "${reference.indexName}" ` +
      `(${'k' in mode ? `k = ${mode.k}` : `tau^2 = ${mode.tauSquared}`}; ${plural(matches, 'match', 'matches')}; ` +
      `embedding ${formatSeconds(embeddingMs)}, identification ${formatSeconds(identifyMs)}` +
      `${budget === undefined ? '' : `; ${budget.remaining} of ${budget.limit} identifications left until ${budget.resetsAt}`})`,
  );
  return {
    index: reference.indexName,
    version,
    mode,
    queries,
    skipped: embedded.skipped,
    ...(budget !== undefined ? { budget } : {}),
    ms: { embedding: Math.round(embeddingMs), identify: Math.round(identifyMs), total: Math.round(totalMs), perQuery: Math.round(totalMs / queries.length) },
  };
}
