/**
 * The user's search workflow, for one image or many in one run (the feature model is loaded
 * once and runs in batches; searches run in parallel), on either kind of index in the grant:
 *
 * - sealed (the default when the grant has one): features and PCA here; per query the client
 *   chooses the leaves to read (its real ones hidden among uniformly drawn decoys), CS1 hands
 *   out exactly those, and the client decrypts and ranks them. CS1 never sees a query or a score.
 * - SEI: features, PCA and trapdoors here, the ranking at CS1 on encrypted vectors.
 *
 * The result envelopes are downloaded and decrypted here, unless only the ids are wanted (then
 * nothing is downloaded).
 *
 * K-anonymity (K > 1): each query goes in its own request among K - 1 decoy trapdoors, and the
 * envelopes of all K result lists are downloaded: downloading just the real list's would tell
 * CS1 which trapdoor was real. Only the real list is decrypted. Without K-anonymity, up to 16
 * queries share one request (one list per trapdoor, in order).
 */
import { InvalidInputError } from '../core/errors';
import { mapLimited } from '../core/concurrency';
import { decryptImage } from '../crypto/image-envelope';
import { sniffImageFormat } from '../features/image-format';
import type { ImageFormat, SkippedFile } from '../features/types';
import type { VectorSet } from '../linalg/vectors';
import { createKAnonymousRequest } from '../sei/k-anonymity';
import { MAX_SEARCH_K, MAX_SEARCH_PROBES, MAX_TRAPDOORS_PER_SEARCH } from '../api/limits';
import type { Cs1Client } from './cs1-client';
import { isServiceError } from './errors';
import { info, inStep, warn } from './events';
import type { WorkflowListener } from './events';
import { extractorFor, projectFeatures } from './features';
import type { FeatureModels } from './features';
import { extractImages, reportSkippedQueries } from './images';
import type { ExtractedImages, ImageEntry } from './images';
import { SealedIndexReader } from './sealed';
import type { Grant } from './formats';
import type { SearchIndexKind } from './owner-state';
import type { SearchResponse, SeiIndexSummary } from './types';
import type { UserSession } from './user-session';
import { explainRefusal } from './user-session';
import { formatSeconds, plural } from './units';
import type { ImageId, IndexName, OwnerId, VersionId } from '../core/ids';

export const DEFAULT_K = 10;
/** CS1 search requests in flight at once. */
const DEFAULT_SEARCH_CONCURRENCY = 4;

/** Where decrypted result images go (files for the CLI, object URLs for a page). */
export interface ResultSink {
  /** Keeps the decrypted image of rank `rank` for query `query`; returns where it went. */
  save(query: { readonly index: number; readonly name: string }, rank: number, imageId: ImageId, bytes: Uint8Array, format: ImageFormat | undefined): Promise<string>;
}

export interface SearchInput {
  readonly session: UserSession;
  /** A client with the user's token. */
  readonly client: Cs1Client;
  readonly models: FeatureModels;
  readonly queries: readonly ImageEntry[];
  /** Which of the grant's indexes (default sealed when the grant has one, else SEI). */
  readonly kind?: SearchIndexKind;
  readonly k?: number;
  /** K of K-anonymity: trapdoors per query (1 = no decoys; SEI only). */
  readonly anonymity?: number;
  /** SEI: leaves ranked at least; sealed: real leaves read per query (default: the index's). */
  readonly probes?: number;
  /** Decoy feature vectors (projected); default the grant's pool. */
  readonly decoys?: VectorSet;
  /** Where decrypted results go; without one only ids are returned and nothing is downloaded. */
  readonly results?: ResultSink;
  /** Unusable query images are skipped and listed (default), or end the search with an error. */
  readonly skipUnusable?: boolean;
  readonly concurrency?: number;
  /**
   * Sealed: a reader kept from an earlier search of the same index (a page searching again), so
   * the routing data is read once per index version, not once per search. Default: a new one.
   */
  readonly sealedReader?: SealedIndexReader;
}

export interface SearchHitRow {
  readonly rank: number;
  readonly imageId: ImageId;
  readonly score: number;
  /** Where the decrypted image went (absent with ids only). */
  readonly file?: string;
}

export interface QueryResults {
  readonly query: string;
  readonly results: SearchHitRow[];
}

export interface SearchOutcome {
  readonly kind: SearchIndexKind;
  readonly index: string;
  readonly version: VersionId;
  readonly k: number;
  readonly probes?: number;
  readonly anonymity: number;
  readonly idsOnly: boolean;
  readonly queries: QueryResults[];
  /** Query images that could not be used. */
  readonly skipped: SkippedFile[];
  /** Envelopes fetched: the real lists', plus the decoy lists' under K-anonymity. */
  readonly downloaded: number;
  /** Sealed: leaves read per query (real ones among them) and the bytes of all leaves received. */
  readonly sealed?: { readonly leavesPerQuery: number; readonly realLeaves: number; readonly leafBytes: number };
  /** Set when the index serving was built after the grant's PCA. */
  readonly staleGrant?: string;
  readonly ms: {
    readonly features: number;
    /** Sealed: reading the index description and its routing data (download, check, decrypt); 0 when the reader had them. */
    readonly routing?: number;
    readonly search: number;
    readonly download: number;
    readonly total: number;
    readonly perQuery: number;
  };
}

function checkRange(value: number | undefined, name: string, min: number, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
    throw new InvalidInputError(`${name} must be an integer from ${min} to ${max}`);
  }
}

/** One CS1 request: trapdoors, and which of them are real queries (by query position). */
interface PlannedRequest {
  readonly trapdoors: Float64Array[];
  /** trapdoor position -> query position, for the real ones. */
  readonly real: ReadonlyMap<number, number>;
}

function planRequests(session: UserSession, projected: VectorSet, anonymity: number, pool: VectorSet): PlannedRequest[] {
  const d = projected.d;
  const query = (i: number) => projected.data.slice(i * d, (i + 1) * d);
  const requests: PlannedRequest[] = [];
  if (anonymity > 1) {
    for (let i = 0; i < projected.n; i++) {
      const request = createKAnonymousRequest((v) => session.trapdoors.trapdoor(v), query(i), pool, anonymity);
      requests.push({ trapdoors: request.trapdoors, real: new Map([[request.realIndex, i]]) });
    }
    return requests;
  }
  for (let from = 0; from < projected.n; from += MAX_TRAPDOORS_PER_SEARCH) {
    const to = Math.min(projected.n, from + MAX_TRAPDOORS_PER_SEARCH);
    const trapdoors: Float64Array[] = [];
    const real = new Map<number, number>();
    for (let i = from; i < to; i++) {
      real.set(trapdoors.length, i);
      trapdoors.push(session.trapdoors.trapdoor(query(i)));
    }
    requests.push({ trapdoors, real });
  }
  return requests;
}

/** The grant's PCA belongs to one build; warn when another build serves. */
function staleGrantWarning(session: UserSession, indexName: IndexName, summary: SeiIndexSummary, publishedAt: string): string | undefined {
  const expected = session.grant.sei.publishedVersion;
  if (expected === undefined || summary.publishedFrom === expected) return undefined;
  return (
    `index "${indexName}" was rebuilt after your grant was issued (${session.grant.issuedAt}; the build serving now was published ${publishedAt}): ` +
    'your grant projects queries for the old build, so results may be poor; ask the owner to enroll you again'
  );
}

/** Envelopes by id; ids CS1 no longer has (deleted meanwhile) are left out. */
async function downloadExisting(client: Cs1Client, ownerId: OwnerId, ids: readonly ImageId[]): Promise<Map<string, Uint8Array>> {
  try {
    return new Map((await client.downloadImages(ownerId, ids)).map((e) => [e.imageId, e.envelope]));
  } catch (error) {
    if (!isServiceError(error) || error.status !== 404) throw error;
    if (ids.length === 1) return new Map();
  }
  // Some id is gone: fetch one by one and keep what still exists.
  const found = new Map<string, Uint8Array>();
  await mapLimited(ids, 4, async (id) => {
    for (const [imageId, envelope] of await downloadExisting(client, ownerId, [id])) found.set(imageId, envelope);
  });
  return found;
}

/** Why the grant cannot search a kind, and what it can search. */
function missingIndex(session: UserSession, kind: SearchIndexKind): string {
  const { grant } = session;
  const other = kind === 'sei' ? (grant.sealed ? `the sealed index "${grant.sealed.indexName}" (--kind sealed)` : undefined) : grant.sei.indexName ? `the SEI index "${grant.sei.indexName}" (--kind sei)` : undefined;
  return `your grant has no ${kind === 'sei' ? 'SEI' : 'sealed'} index${other ? `; it has ${other}` : ''}: the owner builds one with "owner index --kind ${kind}"`;
}

/** Decrypts one query's hits into rows (envelopes missing from `envelopes` were deleted meanwhile). */
async function resultRows(
  input: SearchInput,
  query: { readonly index: number; readonly name: string },
  hits: ReadonlyArray<{ readonly imageId: ImageId; readonly score: number }>,
  envelopes: ReadonlyMap<string, Uint8Array>,
): Promise<SearchHitRow[]> {
  const out: SearchHitRow[] = [];
  for (const hit of hits) {
    if (input.results === undefined) {
      out.push({ rank: out.length + 1, imageId: hit.imageId, score: hit.score });
      continue;
    }
    const envelope = envelopes.get(hit.imageId);
    if (envelope === undefined) continue;
    const plaintext = await decryptImage(input.session.imageKey, hit.imageId, envelope);
    const rank = out.length + 1;
    const file = await input.results.save(query, rank, hit.imageId, plaintext, sniffImageFormat(plaintext));
    out.push({ rank, imageId: hit.imageId, score: hit.score, file });
  }
  return out;
}

/** Runs a request to CS1; a refusal (revoked grant, deleted index) is explained against the grant. */
async function asGrantHolder<T>(grant: Grant, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw explainRefusal(error, grant);
  }
}

/**
 * What a search run counts across its parallel requests: time spent in CS1's searches and in
 * downloads, envelopes fetched, and result images the owner deleted since the search ran.
 */
class SearchTally {
  searchMs = 0;
  downloadMs = 0;
  downloaded = 0;
  private readonly vanished = new Set<string>();

  /** Runs one CS1 search, timed. */
  async search<T>(grant: Grant, request: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await asGrantHolder(grant, request);
    this.searchMs += performance.now() - started;
    return result;
  }

  /** The envelopes of `ids` that still exist, timed and counted; the others are remembered as vanished. */
  async download(client: Cs1Client, grant: Grant, ids: readonly ImageId[]): Promise<Map<string, Uint8Array>> {
    const started = performance.now();
    const envelopes = await asGrantHolder(grant, () => downloadExisting(client, grant.ownerId, ids));
    this.downloaded += envelopes.size;
    for (const id of ids) if (!envelopes.has(id)) this.vanished.add(id);
    this.downloadMs += performance.now() - started;
    return envelopes;
  }

  warnVanished(listener: WorkflowListener): void {
    const count = this.vanished.size;
    if (count > 0) warn(listener, `${plural(count, 'result image')} had been deleted by the owner since the search ran and ${count === 1 ? 'was' : 'were'} left out`);
  }

  /** The outcome's times, in whole milliseconds. */
  times(featureMs: number, totalMs: number, queries: number): SearchOutcome['ms'] {
    return {
      features: Math.round(featureMs),
      search: Math.round(this.searchMs),
      download: Math.round(this.downloadMs),
      total: Math.round(totalMs),
      perQuery: Math.round(totalMs / Math.max(1, queries)),
    };
  }
}

/** Features of every query image in batches (unusable ones reported), projected with the grant's PCA. */
async function queryFeatures(input: SearchInput, listener: WorkflowListener): Promise<{ extracted: ExtractedImages; projected: VectorSet }> {
  const { session } = input;
  const extractor = await extractorFor(input.models, session.grant.features);
  const extracted = await inStep(listener, 'query features', (progress) => extractImages(extractor, input.queries, progress));
  reportSkippedQueries(listener, extracted.skipped, extracted.entries.length, input.skipUnusable);
  return { extracted, projected: projectFeatures(session.pca, extracted.vectors, session.grant.sei.d) };
}

/** The grant's sealed index reader: the one kept from an earlier search of that index, or a new one. */
function sealedReaderFor(input: SearchInput, indexName: IndexName, indexKey: NonNullable<UserSession['indexKey']>): SealedIndexReader {
  const { grant } = input.session;
  const kept = input.sealedReader;
  if (kept !== undefined && kept.ownerId === grant.ownerId && kept.indexName === indexName) return kept;
  return new SealedIndexReader(input.client, grant.ownerId, indexName, indexKey);
}

/**
 * A sealed search: the routing data is read once (and checked against the grant's index key),
 * then every query reads its L leaves and is ranked here. Scores are squared distances between
 * the projected features (smaller is nearer, like SEI's).
 */
async function searchSealed(input: SearchInput, k: number, listener: WorkflowListener, started: number): Promise<SearchOutcome> {
  const { session, client } = input;
  const { grant } = session;
  if (grant.sealed === undefined || session.indexKey === undefined) throw new InvalidInputError(missingIndex(session, 'sealed'));
  const indexName = grant.sealed.indexName;
  if ((input.anonymity ?? 1) > 1 || input.decoys !== undefined) {
    warn(listener, '--anonymity and --decoys apply to SEI searches: a sealed query is already hidden among decoy leaves drawn at random, and CS1 never sees it');
  }
  const reader = sealedReaderFor(input, indexName, session.indexKey);
  // One cheap read first (the routing data, kept for every query): a revoked token or a rebuilt index fails before any model loads.
  const routingStarted = performance.now();
  const searcher = await asGrantHolder(grant, () => reader.searcher());
  const routingMs = performance.now() - routingStarted;
  const { leavesPerQuery } = searcher.routing.layout;
  checkRange(input.probes, '--probes', 1, leavesPerQuery);
  const realLeaves = input.probes ?? searcher.routing.realLeaves;

  const featuresStarted = performance.now();
  const { extracted, projected } = await queryFeatures(input, listener);
  const featureMs = performance.now() - featuresStarted;

  const rows: SearchHitRow[][] = extracted.entries.map(() => []);
  const tally = new SearchTally();
  let version = searcher.binding.version;
  let leafBytes = 0;
  let done = 0;
  const d = projected.d;
  await inStep(listener, input.results ? 'search and download' : 'search', async (progress) => {
    progress.update(0, extracted.entries.length);
    await mapLimited(extracted.entries, input.concurrency ?? DEFAULT_SEARCH_CONCURRENCY, async (entry, i) => {
      const result = await tally.search(grant, () => reader.search(projected.data.subarray(i * d, (i + 1) * d), { k, realLeaves }));
      version = result.version;
      leafBytes += result.stats.bytes;
      const hits = result.hits.map((hit) => ({ imageId: hit.imageId, score: hit.distance }));
      const wanted = input.results !== undefined ? hits.map((hit) => hit.imageId) : [];
      const envelopes = wanted.length > 0 ? await tally.download(client, grant, wanted) : new Map<string, Uint8Array>();
      rows[i] = await resultRows(input, { index: i, name: entry.name }, hits, envelopes);
      progress.update(++done, extracted.entries.length);
    });
  });
  tally.warnVanished(listener);

  const totalMs = performance.now() - started;
  const queries = extracted.entries.map((entry, i) => ({ query: entry.name, results: rows[i] }));
  info(
    listener,
    `${plural(queries.length, 'query', 'queries')} searched in sealed index "${indexName}" (version ${version}), ${realLeaves} of ${leavesPerQuery} leaves each` +
      `${input.results ? '' : ', ids only'} in ${formatSeconds(totalMs)} (features ${formatSeconds(featureMs)}${input.results ? `, ${tally.downloaded} images downloaded` : ''})`,
  );
  const { features, search, download, total, perQuery } = tally.times(featureMs, totalMs, queries.length);
  return {
    kind: 'sealed',
    index: indexName,
    version,
    k,
    ...(input.probes !== undefined ? { probes: input.probes } : {}),
    anonymity: 1,
    idsOnly: input.results === undefined,
    queries,
    skipped: extracted.skipped,
    downloaded: tally.downloaded,
    sealed: { leavesPerQuery, realLeaves, leafBytes },
    ms: { features, routing: Math.round(routingMs), search, download, total, perQuery },
  };
}

/**
 * The SEI index's description, checked against the grant (key and dimension); warns when the
 * build serving now is not the one the grant's PCA belongs to, and returns that warning.
 */
async function describeSeiIndex(input: SearchInput, indexName: IndexName, listener: WorkflowListener) {
  const { session } = input;
  const { grant } = session;
  // One cheap read first: a revoked token or a rebuilt index fails before any model loads.
  const description = await asGrantHolder(grant, () => input.client.getIndex<SeiIndexSummary>(grant.ownerId, indexName));
  if (description.kind !== 'sei' || description.summary.d !== grant.sei.d || description.summary.ownerKeyId !== session.userKey.ownerKeyId) {
    throw new InvalidInputError(`index "${indexName}" was rebuilt under another key or dimension than your grant's: ask the owner for a new grant`);
  }
  const staleGrant = staleGrantWarning(session, indexName, description.summary, description.publishedAt);
  if (staleGrant !== undefined) warn(listener, staleGrant);
  return { version: description.version, staleGrant };
}

/** The K-anonymity decoy pool, checked to hold the K - 1 decoys each query needs. */
function decoyPool(input: SearchInput, anonymity: number): VectorSet {
  const pool = input.decoys ?? input.session.decoys;
  if (anonymity > 1 && pool.n < anonymity - 1) {
    throw new InvalidInputError(
      `--anonymity ${anonymity} needs ${anonymity - 1} decoy images, the pool has ${pool.n}: pass --decoys <folder> with more images, or a smaller --anonymity`,
    );
  }
  return pool;
}

export async function searchImages(input: SearchInput, listener: WorkflowListener): Promise<SearchOutcome> {
  const started = performance.now();
  const { session, client } = input;
  const { grant } = session;
  const k = input.k ?? DEFAULT_K;
  const anonymity = input.anonymity ?? 1;
  checkRange(k, '--k', 1, MAX_SEARCH_K);
  checkRange(anonymity, '--anonymity', 1, MAX_TRAPDOORS_PER_SEARCH);
  if (input.queries.length === 0) throw new InvalidInputError('no query image given');
  const kind = input.kind ?? (grant.sealed !== undefined ? 'sealed' : 'sei');
  if (kind === 'sealed') return searchSealed(input, k, listener, started);
  checkRange(input.probes, '--probes', 1, MAX_SEARCH_PROBES);
  const indexName = grant.sei.indexName;
  if (indexName === undefined) throw new InvalidInputError(missingIndex(session, 'sei'));
  const described = await describeSeiIndex(input, indexName, listener);

  // Features of every query in batches, then the projection and the trapdoors.
  const featuresStarted = performance.now();
  const { extracted, projected } = await queryFeatures(input, listener);
  const requests = planRequests(session, projected, anonymity, decoyPool(input, anonymity));
  const featureMs = performance.now() - featuresStarted;

  // Searches (and downloads) in parallel, request by request.
  const rows: SearchHitRow[][] = extracted.entries.map(() => []);
  const tally = new SearchTally();
  let version = described.version;
  let queriesDone = 0;
  await inStep(listener, input.results ? 'search and download' : 'search', async (progress) => {
    progress.update(0, extracted.entries.length);
    await mapLimited(requests, input.concurrency ?? DEFAULT_SEARCH_CONCURRENCY, async (request) => {
      const probes = input.probes !== undefined ? { probes: input.probes } : {};
      const response: SearchResponse = await tally.search(grant, () => client.search(grant.ownerId, indexName, { trapdoors: request.trapdoors, k, ...probes }));
      version = response.version;
      // Under K-anonymity every list is fetched; otherwise every list is a real one anyway.
      const wanted = input.results !== undefined ? [...new Set(response.results.flatMap((list) => list.hits.map((hit) => hit.imageId)))] : [];
      const envelopes = wanted.length > 0 ? await tally.download(client, grant, wanted) : new Map<string, Uint8Array>();
      for (const [position, queryIndex] of request.real) {
        const hits = response.results[position]?.hits ?? [];
        rows[queryIndex] = await resultRows(input, { index: queryIndex, name: extracted.entries[queryIndex].name }, hits, envelopes);
        progress.update(++queriesDone, extracted.entries.length);
      }
    });
  });
  tally.warnVanished(listener);

  const totalMs = performance.now() - started;
  const queries = extracted.entries.map((entry, i) => ({ query: entry.name, results: rows[i] }));
  info(
    listener,
    `${plural(queries.length, 'query', 'queries')} searched in index "${indexName}" (version ${version})` +
      `${anonymity > 1 ? ` with ${anonymity - 1} decoy queries each` : ''}${input.results ? '' : ', ids only'} in ${formatSeconds(totalMs)} ` +
      `(features ${formatSeconds(featureMs)}, ${plural(requests.length, 'search request')}${input.results ? `, ${tally.downloaded} images downloaded` : ''})`,
  );
  return {
    kind: 'sei',
    index: indexName,
    version,
    k,
    ...(input.probes !== undefined ? { probes: input.probes } : {}),
    anonymity,
    idsOnly: input.results === undefined,
    queries,
    skipped: extracted.skipped,
    downloaded: tally.downloaded,
    ...(described.staleGrant !== undefined ? { staleGrant: described.staleGrant } : {}),
    ms: tally.times(featureMs, totalMs, queries.length),
  };
}

/** Decoy vectors from the user's own images (projected like queries): a K-anonymity pool that is not the grant's. */
export async function decoyPoolOf(session: UserSession, models: FeatureModels, images: readonly ImageEntry[], listener: WorkflowListener): Promise<VectorSet> {
  const extractor = await extractorFor(models, session.grant.features);
  const extracted = await inStep(listener, 'decoy features', (progress) => extractImages(extractor, images, progress));
  if (extracted.skipped.length > 0) warn(listener, `${plural(extracted.skipped.length, 'decoy file')} ${extracted.skipped.length === 1 ? 'is not a usable image' : 'are not usable images'} and give no decoys`);
  return projectFeatures(session.pca, extracted.vectors, session.grant.sei.d);
}
