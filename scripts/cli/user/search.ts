/**
 * `blindsight user search <image> --k 10 --out <dir>`: features, PCA and the trapdoor are
 * computed here (the query image never leaves the machine); CS1 ranks encrypted vectors and
 * returns ids; the encrypted images come back through presigned GETs and are decrypted here.
 *
 * K-anonymity (--anonymity K): the request carries the real trapdoor at a secret position
 * among K - 1 decoy trapdoors, made from the grant's decoy pool or from the user's own folder
 * (--decoys). The images of ALL K result lists are downloaded, in one shuffled set of ids: a
 * download of just the real list would tell CS1 which trapdoor was real. Only the real list
 * is decrypted and written.
 */
import { join } from 'node:path';
import { InvalidInputError } from '../../../lib/core/errors';
import { shuffleInPlace } from '../../../lib/core/random';
import { decryptImage } from '../../../lib/crypto/image-envelope';
import { sniffImageFormat } from '../../../lib/features/decode';
import { createKAnonymousRequest } from '../../../lib/sei/k-anonymity';
import type { VectorSet } from '../../../lib/linalg/vectors';
import type { SeiIndexSummary } from '../../../lib/client/types';
import { MAX_SEARCH_K, MAX_SEARCH_PROBES, MAX_TRAPDOORS_PER_SEARCH } from '../../../lib/api/limits';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { assertSameModel, projectFeatures } from '../features';
import { formatSeconds } from '../io';
import { ensurePrivateDir, readUserFile, writePrivateFile } from '../secure-files';
import { explainRefusal, loadUser, userClient } from './home';
import type { UserState } from './home';

export const DEFAULT_K = 10;

export interface SearchOptions {
  readonly image: string;
  readonly out: string;
  readonly k?: number;
  /** K of K-anonymity: trapdoors per request (1 = no decoys). */
  readonly anonymity?: number;
  readonly probes?: number;
  /** A folder of the user's own images to draw decoys from (default: the grant's pool). */
  readonly decoys?: string;
}

export interface SearchResultRow {
  readonly rank: number;
  readonly imageId: string;
  readonly score: number;
  /** The decrypted image. */
  readonly file: string;
}

export interface SearchResult {
  readonly query: string;
  readonly index: string;
  readonly version: string;
  readonly k: number;
  readonly probes?: number;
  readonly anonymity: number;
  readonly out: string;
  readonly results: SearchResultRow[];
  /** Envelopes fetched: the real list's, plus the decoy lists' under K-anonymity. */
  readonly downloaded: number;
  readonly ms: { readonly features: number; readonly search: number; readonly download: number };
}

const EXTENSIONS = { jpeg: 'jpg', png: 'png', webp: 'webp' } as const;

function checkRange(value: number | undefined, name: string, min: number, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
    throw new InvalidInputError(`${name} must be an integer from ${min} to ${max}`);
  }
}

async function decoyPool(context: CommandContext, user: UserState, folder: string | undefined): Promise<VectorSet> {
  if (folder === undefined) return user.decoys;
  const extractor = await context.features.extractor(user.grant.features);
  const bar = context.reporter.progress('decoy features');
  try {
    const extracted = await extractor.extractFolder(resolvePath(context, folder), {
      onProgress: ({ done, total, skipped }) => bar.update(done, total, `${skipped} skipped`),
    });
    if (extracted.skipped.length > 0) context.reporter.warn(`${extracted.skipped.length} files of ${folder} are not usable images and give no decoys`);
    return projectFeatures(user.pca, extracted.vectors, user.grant.sei.d);
  } finally {
    bar.stop();
  }
}

export async function userSearch(context: CommandContext, options: SearchOptions): Promise<SearchResult> {
  const k = options.k ?? DEFAULT_K;
  const anonymity = options.anonymity ?? 1;
  checkRange(k, '--k', 1, MAX_SEARCH_K);
  checkRange(anonymity, '--anonymity', 1, MAX_TRAPDOORS_PER_SEARCH);
  checkRange(options.probes, '--probes', 1, MAX_SEARCH_PROBES);
  const user = await loadUser(context);
  const client = await userClient(context, user);
  const query = resolvePath(context, options.image);
  await readUserFile(query, 'query image');
  const indexName = user.grant.sei.indexName;
  // One cheap read first: a revoked token or a rebuilt index fails before any model loads.
  let description;
  try {
    description = await client.getIndex<SeiIndexSummary>(user.grant.ownerId, indexName);
  } catch (error) {
    throw explainRefusal(error, user);
  }
  if (description.kind !== 'sei' || description.summary.d !== user.grant.sei.d || description.summary.ownerKeyId !== user.userKey.ownerKeyId) {
    throw new InvalidInputError(`index "${indexName}" was rebuilt under another key or dimension than your grant's: ask the owner for a new grant`);
  }

  let started = performance.now();
  const extractor = await context.features.extractor(user.grant.features);
  assertSameModel(user.grant.features, extractor);
  const features = await extractor.extract([query]);
  const projected = projectFeatures(user.pca, features, user.grant.sei.d);
  const fq = projected.data.slice(0, user.grant.sei.d);
  let trapdoors: Float64Array[];
  let realIndex = 0;
  if (anonymity > 1) {
    const pool = await decoyPool(context, user, options.decoys);
    if (pool.n < anonymity - 1) {
      throw new InvalidInputError(
        `--anonymity ${anonymity} needs ${anonymity - 1} decoy images, the pool has ${pool.n}: pass --decoys <folder> with more images, or a smaller --anonymity`,
      );
    }
    const request = createKAnonymousRequest((v) => user.trapdoors.trapdoor(v), fq, pool, anonymity);
    trapdoors = request.trapdoors;
    realIndex = request.realIndex;
  } else {
    trapdoors = [user.trapdoors.trapdoor(fq)];
  }
  const featureMs = performance.now() - started;

  started = performance.now();
  let response;
  try {
    response = await client.search(user.grant.ownerId, indexName, { trapdoors, k, ...(options.probes !== undefined ? { probes: options.probes } : {}) });
  } catch (error) {
    throw explainRefusal(error, user);
  }
  const searchMs = performance.now() - started;
  const hits = response.results[realIndex]?.hits ?? [];

  started = performance.now();
  const wanted = new Set<string>();
  for (const list of anonymity > 1 ? response.results : [response.results[realIndex]]) for (const hit of list.hits) wanted.add(hit.imageId);
  const ids = shuffleInPlace([...wanted]);
  const bar = context.reporter.progress('download');
  let envelopes;
  try {
    envelopes = ids.length === 0 ? [] : await client.downloadImages(user.grant.ownerId, ids, { onProgress: ({ done, total }) => bar.update(done, total) });
  } catch (error) {
    throw explainRefusal(error, user);
  } finally {
    bar.stop();
  }
  const byId = new Map(envelopes.map((e) => [e.imageId, e.envelope]));
  const out = resolvePath(context, options.out);
  await ensurePrivateDir(out);
  const rows: SearchResultRow[] = [];
  const width = String(hits.length).length;
  for (const [i, hit] of hits.entries()) {
    const plaintext = await decryptImage(user.imageKey, hit.imageId, byId.get(hit.imageId)!);
    const format = sniffImageFormat(plaintext);
    const file = join(out, `${String(i + 1).padStart(Math.max(2, width), '0')}-${hit.imageId}.${format ? EXTENSIONS[format] : 'bin'}`);
    await writePrivateFile(file, plaintext);
    rows.push({ rank: i + 1, imageId: hit.imageId, score: hit.score, file });
  }
  const downloadMs = performance.now() - started;
  context.reporter.info(
    `${rows.length} results from index "${indexName}" (version ${response.version})` +
      `${anonymity > 1 ? ` with ${anonymity - 1} decoy queries` : ''}; decrypted into ${out} ` +
      `(features ${formatSeconds(featureMs)}, search ${formatSeconds(searchMs)}, download ${formatSeconds(downloadMs)})`,
  );
  return {
    query,
    index: indexName,
    version: response.version,
    k,
    ...(options.probes !== undefined ? { probes: options.probes } : {}),
    anonymity,
    out,
    results: rows,
    downloaded: envelopes.length,
    ms: { features: Math.round(featureMs), search: Math.round(searchMs), download: Math.round(downloadMs) },
  };
}
