/**
 * The page's side of the user workflows in lib/client (the same the CLI runs): a user key
 * request made here, a grant opened against the user's key, and a search whose results are
 * decrypted into object URLs. The feature model is the page's (./features.ts), loaded once.
 */
import { isServiceError, isServiceUnreachable } from '../../lib/client/errors';
import type { WorkflowListener } from '../../lib/client/events';
import type { FaceDescriber, FeatureModels, ImageFeatureExtractor, ModelChoice } from '../../lib/client/features';
import type { ImageEntry } from '../../lib/client/images';
import type { Cs1Client } from '../../lib/client/cs1-client';
import { SealedIndexReader } from '../../lib/client/sealed';
import type { SearchIndexKind } from '../../lib/client/owner-state';
import { searchImages } from '../../lib/client/user-search';
import type { ResultSink, SearchOutcome } from '../../lib/client/user-search';
import { keyRequestOf, openGrant, userClient } from '../../lib/client/user-session';
import type { UserSession } from '../../lib/client/user-session';
import { BlindsightError, InvalidInputError } from '../../lib/core/errors';
import { ImageInputError } from '../../lib/features/errors';
import { decodeUserSecret, encodeUserSecret } from '../../lib/sei/key-formats';
import { generateUserSecret } from '../../lib/sei/user-key';
import type { LoadProgress, PageExtractor } from './features';
import type { StoredAccess } from './vault';
import type { ImageId, IndexName } from '../../lib/core/ids';

/** A new W for index dimension d, and the key request file the owner's enroll step reads. */
export function newKeyRequest(d: number): { secret: Uint8Array; requestJson: string } {
  if (!Number.isInteger(d) || d < 1 || d > 4096) throw new InvalidInputError('the index dimension must be an integer from 1 to 4096 (the owner tells you; 128 unless they chose another)');
  const secret = encodeUserSecret(generateUserSecret(d));
  return { secret, requestJson: `${JSON.stringify(keyRequestOf(secret, d), null, 2)}\n` };
}

/** Opens a stored grant with its user key; every problem is an error a person can act on. */
export async function openAccess(access: StoredAccess): Promise<UserSession> {
  let secret;
  try {
    secret = decodeUserSecret(access.secret);
  } catch (error) {
    throw new InvalidInputError(`the user key file is not a Blindsight user key (${error instanceof Error ? error.message : String(error)}): choose the user-secret.key the grant was issued for`);
  }
  return openGrant(access.grant, access.secret, secret, 'the grant file');
}

/** The page's models: the feature network is loaded once (with progress), face models are the CLI's. */
export class PageModels implements FeatureModels {
  private loaded: Promise<PageExtractor> | undefined;
  private loadedFor: string | undefined;

  constructor(private readonly onProgress: (progress: LoadProgress) => void) {}

  extractor(choice: ModelChoice): Promise<ImageFeatureExtractor> {
    const key = `${choice.model}/${choice.layer}/${choice.inputSize}`;
    if (this.loaded === undefined || this.loadedFor !== key) {
      this.loadedFor = key;
      const loading = import('./features').then((features) => features.createPageExtractor(choice, this.onProgress));
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined;
      });
      this.loaded = loading;
    }
    return this.loaded;
  }

  faceEmbedder(): Promise<FaceDescriber> {
    return Promise.reject(new InvalidInputError('face identification is not available in the page: use the CLI'));
  }
}

export interface ResultImage {
  readonly rank: number;
  readonly imageId: ImageId;
  readonly score: number;
  /** Object URL of the decrypted image. */
  readonly url: string;
  readonly bytes: number;
}

export interface PageSearchResult {
  readonly outcome: SearchOutcome;
  readonly images: ResultImage[];
}

/** The kinds of index a grant can search, the default (sealed) first, with their names. */
export function searchableIndexes(session: UserSession): Array<{ kind: SearchIndexKind; indexName: IndexName }> {
  const { grant } = session;
  const out: Array<{ kind: SearchIndexKind; indexName: IndexName }> = [];
  if (grant.sealed !== undefined && session.indexKey !== undefined) out.push({ kind: 'sealed', indexName: grant.sealed.indexName });
  if (grant.sei.indexName !== undefined) out.push({ kind: 'sei', indexName: grant.sei.indexName });
  return out;
}

/** One sealed index reader per opened grant: its routing data is read by the first search only. */
const sealedReaders = new WeakMap<UserSession, SealedIndexReader>();

function sealedReaderOf(session: UserSession, client: Cs1Client): SealedIndexReader | undefined {
  const { grant, indexKey } = session;
  if (grant.sealed === undefined || indexKey === undefined) return undefined;
  let reader = sealedReaders.get(session);
  if (reader === undefined) {
    reader = new SealedIndexReader(client, grant.ownerId, grant.sealed.indexName, indexKey);
    sealedReaders.set(session, reader);
  }
  return reader;
}

/** Searches with one dropped image; results are decrypted here into object URLs. */
export async function searchWithImage(
  session: UserSession,
  models: PageModels,
  query: { readonly name: string; readonly bytes: Uint8Array },
  options: { readonly kind: SearchIndexKind; readonly k: number; readonly anonymity: number },
  listener: WorkflowListener,
): Promise<PageSearchResult> {
  const saved = new Map<number, { url: string; bytes: number }>();
  const results: ResultSink = {
    async save(_query, rank, _imageId, bytes, format) {
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: format ? `image/${format}` : 'application/octet-stream' }));
      saved.set(rank, { url, bytes: bytes.length });
      return url;
    },
  };
  const entry: ImageEntry = { name: query.name, source: query.bytes, read: async () => query.bytes };
  const client = userClient(session, session.grant.endpoint);
  const sealedReader = options.kind === 'sealed' ? sealedReaderOf(session, client) : undefined;
  const outcome = await searchImages(
    {
      session,
      client,
      models,
      queries: [entry],
      kind: options.kind,
      k: options.k,
      anonymity: options.kind === 'sei' ? options.anonymity : 1,
      results,
      skipUnusable: false,
      ...(sealedReader ? { sealedReader } : {}),
    },
    listener,
  );
  const images = (outcome.queries[0]?.results ?? []).map((row) => ({ rank: row.rank, imageId: row.imageId, score: row.score, url: row.file ?? '', bytes: saved.get(row.rank)?.bytes ?? 0 }));
  return { outcome, images };
}

/** What to tell a person about a failure: the workflows' own messages, with the usual causes named. */
export function explainFailure(error: unknown): string {
  if (isServiceUnreachable(error)) {
    return `Network failure: the Blindsight service could not be reached (${error.message}). Check your connection and try again.`;
  }
  if (isServiceError(error) && error.status === 404) {
    return `Not found: ${error.message}. The owner may have deleted or renamed the index; ask them for a new grant.`;
  }
  if (error instanceof ImageInputError) return `This image cannot be used: ${error.problem}. Choose a JPEG, PNG or WebP image.`;
  if (error instanceof BlindsightError) return error.message;
  if (error instanceof TypeError && /fetch/i.test(error.message)) return 'Network failure: the request did not reach the service. Check your connection and try again.';
  return `Something went wrong: ${error instanceof Error ? error.message : String(error)}`;
}
