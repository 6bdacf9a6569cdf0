/**
 * Typed client of CS1's API (the contract in lib/api/routes.ts): one method per route, plus the
 * presigned transfers around them (image envelopes and index parts go straight to S3, past
 * Lambda's 6 MB limit). Errors are ServiceError (CS1 answered with an error: status, code, the
 * server's message) or ServiceUnreachableError (no answer). Retries only where repeating a
 * request cannot do anything twice (see http.ts); each method says whether it is idempotent.
 *
 *   const owner = new Cs1Client({ endpoint, token: ownerToken });
 *   await owner.uploadImages(ownerId, envelopes);
 *   await owner.publishIndex(ownerId, 'main', 'sei', seiUploadParts(tree).parts);
 *   const user = new Cs1Client({ endpoint, token: userToken });
 *   const { results } = await user.search(ownerId, 'main', { trapdoors: [t], k: 10 });
 */
import { MAX_IMAGES_PER_REQUEST } from '../api/limits';
import type { ImageId, IndexName, OwnerId, UserId, VersionId } from '../core/ids';
import { base64ToBytes, bytesToBase64 } from '../codec/base64';
import { isBinaryContent, OCTET_STREAM } from '../api/media-types';
import { CS1_API, pathOf } from '../api/routes';
import { decodeSealedLeavesAnswer } from '../api/sealed-leaves-binary';
import type { SealedLeavesBinaryAnswer } from '../api/sealed-leaves-binary';
import type { Cs1RouteName } from '../api/routes';
import { IntegrityError, InvalidInputError, MalformedDataError } from '../core/errors';
import { SEALED_ROUTING_PART } from '../service/sealed/sealed-index-kind';
import { TWO_SERVER_PUBLIC_PART } from '../service/two-server/metadata';
import { withParsedIds } from './answer-ids';
import { indexManifestOf, signIndexManifest } from './index-manifest';
import { IndexVerifier } from './index-verifier';
import type { VerifiedVersion } from './index-verifier';
import { mapLimited } from '../core/concurrency';
import { scaledTimeout } from '../core/timeout-scale';
import { sha256Hex } from '../crypto/digest';
import { STATUS_OF_CODE, isErrorCode } from '../api/errors';
import { isServiceError, ServiceError } from './errors';
import { bytesOf, defaultSleep, DEFAULT_RETRY, discard, exchange, jsonOf } from './http';
import type { HttpEngine, HttpExchange } from './http';
import type {
  AddImageRequest,
  Cs1ClientOptions,
  CreateVersionRequest,
  CreateVersionResponse,
  IdentifyRequest,
  IdentifyResponse,
  ImageDownload,
  ImageRemoval,
  ImageUpload,
  ImageUploadRequest,
  IndexDescription,
  IndexKind,
  PresignedRequest,
  PublishJob,
  PublishResponse,
  RegisterOwnerResponse,
  SealedLeavesRequest,
  SealedLeavesResponse,
  SealedIndexSummary,
  SearchRequest,
  SearchResponse,
  TransferProgress,
  TwoServerIndexSummary,
  UpdateResponse,
  UserRecord,
} from './types';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_TRANSFER_TIMEOUT_MS = 300_000;
export const DEFAULT_CONCURRENCY = 8;


export interface ImageEnvelope {
  readonly imageId: ImageId;
  /** The encrypted image (lib/crypto/image-envelope). */
  readonly envelope: Uint8Array;
}

export interface TransferOptions {
  readonly onProgress?: (progress: TransferProgress) => void;
}

export interface PublishWaitOptions {
  /** Each job report while waiting (phase, parts and bytes done), the first one at once. */
  readonly onPublishProgress?: (job: PublishJob) => void;
}

/** First and longest pause between two publish status reads. */
const PUBLISH_POLL_FIRST_MS = 200;
const PUBLISH_POLL_MAX_MS = 2_000;

export interface PublishIndexOptions extends TransferOptions, PublishWaitOptions {
  /**
   * The version the index must still serve for the publish to go through (null: nothing
   * published yet). Default: whatever serves when the publish starts, so a concurrent publish
   * between then and the flip makes this one fail with 409 instead of silently replacing it.
   */
  readonly expectedCurrent?: VersionId | null;
}

function isNotFound(error: unknown): boolean {
  return isServiceError(error) && error.status === 404;
}

/** How messages name each path parameter. */
const PARAMETER_WHAT: Readonly<Record<string, string>> = { ownerId: 'owner id', userId: 'user id', indexName: 'index name', version: 'version', imageId: 'image id' };

function segment(value: string, what: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidInputError(`${what} must be a non-empty string`);
}

/** A JSON answer of CS1, its ids parsed (answer-ids.ts). */
function answerOf<T>(endpoint: string, operation: string): (response: Response) => Promise<T> {
  const decode = jsonOf<T>(endpoint, operation);
  return async (response) => withParsedIds(await decode(response), `the answer of ${endpoint} to ${operation}`);
}

function plainArray(values: ArrayLike<number>): number[] {
  return Array.from(values);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class Cs1Client {
  readonly endpoint: string;
  private readonly options: Cs1ClientOptions;
  private readonly engine: HttpEngine;
  /** Descriptions getIndex verified, for the parts downloaded from them. */
  private readonly verifiedDescriptions = new WeakMap<object, VerifiedVersion>();

  constructor(options: Cs1ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new InvalidInputError(`endpoint "${String(options.endpoint).slice(0, 100)}" is not a URL: use e.g. http://127.0.0.1:4510`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError('endpoint must be an http:// or https:// URL');
    this.endpoint = url.toString().replace(/\/+$/, '');
    this.options = options;
    const fetchFunction = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.engine = { fetch: fetchFunction, retry: { ...DEFAULT_RETRY, ...options.retry }, sleep: options.sleep ?? defaultSleep };
  }

  /** The same client with another token. */
  withToken(token: string | undefined): Cs1Client {
    return new Cs1Client({ ...this.options, endpoint: this.endpoint, token });
  }

  // -------------------------------------------------------------------------------------------
  // Owners and users

  /** POST /v1/owners (no token). Idempotent: the same key registers to the same id. */
  async registerOwner(publicKeyJwk: { kty: string; crv: string; x: string }): Promise<RegisterOwnerResponse> {
    return this.api('registerOwner', {}, 'owner registration', true, { publicKeyJwk: { kty: publicKeyJwk.kty, crv: publicKeyJwk.crv, x: publicKeyJwk.x } }, false);
  }

  /** PUT a user (adds or re-activates it). Idempotent. */
  async putUser(ownerId: OwnerId, userId: UserId): Promise<UserRecord> {
    return this.api('putUser', { ownerId, userId }, `adding user "${userId}"`, true);
  }

  /** DELETE a user: its tokens are refused from the next request on. Idempotent. */
  async revokeUser(ownerId: OwnerId, userId: UserId): Promise<UserRecord> {
    return this.api('revokeUser', { ownerId, userId }, `revoking user "${userId}"`, true);
  }

  // -------------------------------------------------------------------------------------------
  // Images

  /** Presigned PUTs for 1..100 envelopes. Idempotent (issuing URLs changes nothing). */
  async createImageUploads(ownerId: OwnerId, images: readonly ImageUploadRequest[]): Promise<ImageUpload[]> {
    const body = { images: images.map(({ imageId, byteLength }) => ({ imageId, byteLength })) };
    const { uploads } = await this.api<{ uploads: ImageUpload[] }>('imageUploads', { ownerId }, 'requesting upload URLs', true, body);
    return uploads;
  }

  /** Uploads any number of envelopes: URLs in batches of 100, PUTs in parallel. */
  async uploadImages(ownerId: OwnerId, images: readonly ImageEnvelope[], options: TransferOptions = {}): Promise<void> {
    const total = images.length;
    let done = 0;
    let bytes = 0;
    options.onProgress?.({ done, total, bytes });
    for (const batch of chunks(images, MAX_IMAGES_PER_REQUEST)) {
      const uploads = await this.createImageUploads(
        ownerId,
        batch.map(({ imageId, envelope }) => ({ imageId, byteLength: envelope.length })),
      );
      const byId = new Map(uploads.map((upload) => [upload.imageId, upload]));
      await mapLimited(batch, this.concurrency, async ({ imageId, envelope }) => {
        const upload = byId.get(imageId);
        if (upload === undefined) throw new MalformedDataError('the upload URLs from CS1', `name no URL for image "${imageId}"`);
        await this.putPresigned(upload, envelope, `upload of image "${imageId}"`);
        done++;
        bytes += envelope.length;
        options.onProgress?.({ done, total, bytes });
      });
    }
  }

  /** Presigned GETs for 1..100 existing images (404 naming unknown ids). Idempotent. */
  async imageDownloads(ownerId: OwnerId, imageIds: readonly ImageId[]): Promise<ImageDownload[]> {
    const { downloads } = await this.api<{ downloads: ImageDownload[] }>(
      'imageDownloads',
      { ownerId },
      'requesting download URLs',
      true,
      { imageIds: [...imageIds] },
    );
    return downloads;
  }

  /** Downloads the envelopes of any number of images (URLs in batches of 100), in request order. */
  async downloadImages(ownerId: OwnerId, imageIds: readonly ImageId[], options: TransferOptions = {}): Promise<ImageEnvelope[]> {
    const unique = [...new Set(imageIds)];
    const envelopes = new Map<string, Uint8Array>();
    let bytes = 0;
    options.onProgress?.({ done: 0, total: unique.length, bytes });
    for (const batch of chunks(unique, MAX_IMAGES_PER_REQUEST)) {
      const downloads = await this.imageDownloads(ownerId, batch);
      await mapLimited(downloads, this.concurrency, async (download) => {
        const envelope = await this.getPresigned(download, `download of image "${download.imageId}"`);
        if (envelope.length !== download.byteLength) {
          throw new MalformedDataError(`image "${download.imageId}"`, `downloaded ${envelope.length} bytes, CS1 announced ${download.byteLength}`);
        }
        envelopes.set(download.imageId, envelope);
        bytes += envelope.length;
        options.onProgress?.({ done: envelopes.size, total: unique.length, bytes });
      });
    }
    return imageIds.map((imageId) => {
      const envelope = envelopes.get(imageId);
      if (envelope === undefined) throw new MalformedDataError('the download URLs from CS1', `name no URL for image "${imageId}"`);
      return { imageId, envelope };
    });
  }

  /**
   * Asks CS1 to remove the envelopes of deleted images (1..100 per request) once no index version
   * may list them; `absentFrom` names, per index, the first version without them. Idempotent
   * (asking again keeps the first request).
   */
  async requestImageRemovals(ownerId: OwnerId, imageIds: readonly ImageId[], absentFrom: Readonly<Record<string, string>>): Promise<ImageRemoval[]> {
    const removals: ImageRemoval[] = [];
    for (const batch of chunks(imageIds, MAX_IMAGES_PER_REQUEST)) {
      const body = { imageIds: [...batch], absentFrom: { ...absentFrom } };
      removals.push(...(await this.api<{ removals: ImageRemoval[] }>('imageRemovals', { ownerId }, 'requesting the removal of deleted images', true, body)).removals);
    }
    return removals;
  }

  // -------------------------------------------------------------------------------------------
  // Index versions

  /** Starts a version: presigned PUTs for its parts. Not idempotent (each call makes a new version). */
  async createIndexVersion(ownerId: OwnerId, indexName: IndexName, request: CreateVersionRequest): Promise<CreateVersionResponse> {
    return this.api('createIndexVersion', { ownerId, indexName }, `creating a version of index "${indexName}"`, false, {
      kind: request.kind,
      parts: { ...request.parts },
    });
  }

  /** PUTs every part of a created version (parts must be exactly the declared ones). */
  async uploadIndexParts(created: CreateVersionResponse, parts: Readonly<Record<string, Uint8Array>>, options: TransferOptions = {}): Promise<void> {
    const names = Object.keys(created.uploads);
    for (const name of names) {
      if (parts[name] === undefined) throw new InvalidInputError(`index part "${name}" was declared but not given`);
    }
    const total = names.length;
    let done = 0;
    let bytes = 0;
    options.onProgress?.({ done, total, bytes });
    await mapLimited(names, this.concurrency, async (name) => {
      await this.putPresigned(created.uploads[name], parts[name], `upload of index part "${name}"`);
      done++;
      bytes += parts[name].length;
      options.onProgress?.({ done, total, bytes });
    });
  }

  /**
   * Makes an uploaded version current if the index still serves `expectedCurrent` (null:
   * nothing yet): starts CS1's publish job and waits for its outcome (see waitForPublish).
   * Idempotent: CS1 answers a repeated publish of the running job with that job, and of the
   * serving version as if it had just been published.
   */
  async publishIndexVersion(
    ownerId: OwnerId,
    indexName: IndexName,
    version: VersionId,
    expectedCurrent: VersionId | null,
    signedManifest?: string,
    options: PublishWaitOptions = {},
  ): Promise<PublishResponse> {
    const job = await this.startPublish(ownerId, indexName, version, expectedCurrent, signedManifest);
    return this.waitForPublish(ownerId, indexName, version, { ...options, started: job });
  }

  /** POST publish: starts CS1's publish job (202) and returns it without waiting. Idempotent. */
  async startPublish(ownerId: OwnerId, indexName: IndexName, version: VersionId, expectedCurrent: VersionId | null, signedManifest?: string): Promise<PublishJob> {
    return this.api('publishIndexVersion', { ownerId, indexName, version }, `publishing version "${version}" of index "${indexName}"`, true, {
      expectedCurrent,
      ...(signedManifest !== undefined ? { signedManifest } : {}),
    });
  }

  /** GET publish: the version's publish job as CS1 reports it now. */
  async publishStatus(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<PublishJob> {
    return this.api('publishStatus', { ownerId, indexName, version }, `reading the publish status of version "${version}" of index "${indexName}"`, true);
  }

  /**
   * Waits until the version's publish job has finished: its result once it succeeded; a
   * ServiceError with the job's error code, that code's status and CS1's message once it
   * failed (then nothing was published). Reads the status with growing pauses (200 ms to 2 s);
   * a job always ends, since CS1 reports one whose worker died as failed once its lease passes.
   */
  async waitForPublish(
    ownerId: OwnerId,
    indexName: IndexName,
    version: VersionId,
    options: PublishWaitOptions & { readonly started?: PublishJob } = {},
  ): Promise<PublishResponse> {
    let job = options.started ?? (await this.publishStatus(ownerId, indexName, version));
    let pause = PUBLISH_POLL_FIRST_MS;
    for (;;) {
      options.onPublishProgress?.(job);
      if (job.status === 'succeeded' && job.result !== undefined) {
        const { version: published, previousVersion, kind, publishedAt, warnings } = job.result;
        return { version: published, previousVersion, kind, publishedAt, ...(warnings !== undefined ? { warnings } : {}) };
      }
      if (job.status === 'failed') {
        const code = job.error?.code ?? 'INTERNAL';
        throw new ServiceError({
          status: isErrorCode(code) ? STATUS_OF_CODE[code] : 500,
          code,
          message: job.error?.message ?? 'the publish job failed',
          operation: `publishing version "${version}" of index "${indexName}"`,
        });
      }
      await this.engine.sleep(pause);
      pause = Math.min(PUBLISH_POLL_MAX_MS, Math.round(pause * 1.5));
      job = await this.publishStatus(ownerId, indexName, version);
    }
  }

  /**
   * The owner's signed manifest of a created version's parts, when this client holds the
   * owner's signing key (undefined otherwise: the version is published unsigned).
   */
  async signManifest(
    ownerId: OwnerId,
    indexName: IndexName,
    created: Pick<CreateVersionResponse, 'version' | 'kind'>,
    expectedCurrent: VersionId | null,
    parts: Readonly<Record<string, Uint8Array>>,
  ): Promise<string | undefined> {
    if (this.options.signingKey === undefined) return undefined;
    const manifest = await indexManifestOf({ ownerId, indexName, version: created.version, kind: created.kind, previousVersion: expectedCurrent }, parts);
    return signIndexManifest(manifest, this.options.signingKey);
  }

  /** create -> upload parts -> publish, atomically replacing what serves (see PublishIndexOptions). */
  async publishIndex(
    ownerId: OwnerId,
    indexName: IndexName,
    kind: IndexKind,
    parts: Readonly<Record<string, Uint8Array>>,
    options: PublishIndexOptions = {},
  ): Promise<PublishResponse> {
    const expectedCurrent = options.expectedCurrent !== undefined ? options.expectedCurrent : ((await this.findIndex(ownerId, indexName))?.version ?? null);
    const sizes: Record<string, number> = {};
    for (const [name, bytes] of Object.entries(parts)) sizes[name] = bytes.length;
    const created = await this.createIndexVersion(ownerId, indexName, { kind, parts: sizes });
    const signedManifest = await this.signManifest(ownerId, indexName, created, expectedCurrent, parts);
    await this.uploadIndexParts(created, parts, options);
    return this.publishIndexVersion(ownerId, indexName, created.version, expectedCurrent, signedManifest, options);
  }

  /** The serving version and its public summary (404 ServiceError if nothing was published). */
  async getIndex<S = IndexDescription['summary']>(ownerId: OwnerId, indexName: IndexName): Promise<IndexDescription<S>> {
    const description = await this.api<IndexDescription<S>>('getIndex', { ownerId, indexName }, `reading index "${indexName}"`, true);
    const verified = await this.verified(ownerId, indexName, description.version, description.provenance, description.kind);
    if (verified !== undefined) this.verifiedDescriptions.set(description, verified);
    return description;
  }

  /** Like getIndex, but undefined when the index has no published version. */
  async findIndex(ownerId: OwnerId, indexName: IndexName): Promise<IndexDescription | undefined> {
    try {
      return await this.getIndex(ownerId, indexName);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------
  // SEI dynamic updates and search

  /** Adds one image to the serving SEI index (a new version). Not idempotent: a repeat is a 409. */
  async addImage(ownerId: OwnerId, indexName: IndexName, request: AddImageRequest): Promise<UpdateResponse> {
    return this.api('addImage', { ownerId, indexName }, `adding image "${request.imageId}"`, false, {
      imageId: request.imageId,
      vector: plainArray(request.vector),
      placementTrapdoor: plainArray(request.placementTrapdoor),
    });
  }

  /** Removes one image from the serving SEI index (a new version). Not idempotent: a repeat is a 404. */
  async deleteImage(ownerId: OwnerId, indexName: IndexName, imageId: ImageId): Promise<UpdateResponse> {
    return this.api('deleteImage', { ownerId, indexName, imageId }, `deleting image "${imageId}"`, false);
  }

  /** SEI top-k search; one result list per trapdoor, in request order. Idempotent (a read). */
  async search(ownerId: OwnerId, indexName: IndexName, request: SearchRequest): Promise<SearchResponse> {
    const response = await this.api<SearchResponse>('search', { ownerId, indexName }, `search in index "${indexName}"`, true, {
      trapdoors: request.trapdoors.map(plainArray),
      k: request.k,
      ...(request.probes !== undefined ? { probes: request.probes } : {}),
    });
    await this.verified(ownerId, indexName, response.version, response.provenance, 'sei');
    return response;
  }

  // -------------------------------------------------------------------------------------------
  // Sealed indexes

  /**
   * Exactly the requested leaves of a sealed index version, as stored: leaf number -> bytes.
   * 'bytes' delivery gets them in the answer; 'urls' gets presigned ranged GETs and reads them
   * (in parallel). Idempotent (a read).
   */
  async sealedLeaves(ownerId: OwnerId, indexName: IndexName, request: SealedLeavesRequest): Promise<Map<number, Uint8Array>> {
    const operation = `reading leaves of index "${indexName}"`;
    const body = {
      version: request.version,
      leaves: [...request.leaves],
      ...(request.delivery !== undefined ? { delivery: request.delivery } : {}),
    };
    // Leaves as bytes come as raw bytes where the API sends binary answers, else as JSON.
    const accept = request.delivery === 'urls' ? 'application/json' : `${OCTET_STREAM}, application/json;q=0.9`;
    const exchanged = this.apiExchange('sealedLeaves', { ownerId, indexName }, operation, true, body, true, accept);
    const answer = await exchange(this.engine, exchanged, async (response): Promise<SealedLeavesResponse | SealedLeavesBinaryAnswer> => {
      if (isBinaryContent(response.headers.get('content-type') ?? undefined)) {
        return decodeSealedLeavesAnswer(await bytesOf(response), `the answer to ${operation}`);
      }
      return answerOf<SealedLeavesResponse>(this.endpoint, operation)(response);
    });
    const { leafBytes, leaves } = answer;
    const out = new Map<number, Uint8Array>();
    if (!Array.isArray(leaves) || leaves.length !== request.leaves.length || !Number.isSafeInteger(leafBytes) || leafBytes < 1) {
      throw new MalformedDataError(`the answer to ${operation}`, 'does not list the requested leaves');
    }
    if ('downloads' in answer && answer.downloads !== undefined) {
      const { downloads } = answer;
      if (downloads.length !== leaves.length) throw new MalformedDataError(`the answer to ${operation}`, 'has one URL per leaf missing');
      await mapLimited(leaves, this.concurrency, async (leaf, i) => {
        out.set(leaf, await this.getPresigned(downloads[i], `download of leaf ${leaf} of index "${indexName}"`));
      });
      return out;
    }
    let data: Uint8Array;
    if (answer.data instanceof Uint8Array) data = answer.data;
    else if (typeof answer.data === 'string') data = base64ToBytes(answer.data, `the leaf bytes in the answer to ${operation}`);
    else throw new MalformedDataError(`the answer to ${operation}`, 'holds no leaf bytes');
    if (data.length !== leaves.length * leafBytes) throw new MalformedDataError(`the answer to ${operation}`, `holds ${data.length} bytes, not ${leaves.length} leaves of ${leafBytes}`);
    leaves.forEach((leaf, i) => out.set(leaf, data.subarray(i * leafBytes, (i + 1) * leafBytes)));
    return out;
  }

  /** Downloads the routing part a sealed index names, checked against its size and SHA-256. */
  downloadSealedRouting(description: IndexDescription<SealedIndexSummary>): Promise<Uint8Array> {
    return this.downloadAnnouncedPart(description, description.summary.routing, SEALED_ROUTING_PART, 'routing data');
  }

  // -------------------------------------------------------------------------------------------
  // Two-server identification

  /** Identification with an encrypted query (range: tauSquared; nearest: k). Idempotent (a read). */
  async identify(ownerId: OwnerId, indexName: IndexName, request: IdentifyRequest): Promise<IdentifyResponse> {
    const body = {
      query: bytesToBase64(request.query),
      ...(request.tauSquared !== undefined ? { tauSquared: request.tauSquared } : {}),
      ...(request.k !== undefined ? { k: request.k } : {}),
    };
    const response = await this.api<IdentifyResponse>('identify', { ownerId, indexName }, `identification in index "${indexName}"`, true, body);
    await this.verified(ownerId, indexName, response.version, response.provenance, 'two-server');
    return response;
  }

  /** Downloads the HE public material a two-server index names, checked against its SHA-256. */
  downloadPublicMaterial(description: IndexDescription<TwoServerIndexSummary>): Promise<Uint8Array> {
    return this.downloadAnnouncedPart(description, description.summary.publicMaterial, TWO_SERVER_PUBLIC_PART, 'public material');
  }

  // -------------------------------------------------------------------------------------------

  /** The verifier's check of a version this client read (nothing without a verifier). */
  private async verified(ownerId: OwnerId, indexName: IndexName, version: VersionId, provenance: unknown, kind: string): Promise<VerifiedVersion | undefined> {
    return this.options.verifier?.verify(ownerId, indexName, version, provenance, kind);
  }

  /** Downloads a part an index description announces, checked against the announced size and SHA-256 and the owner's signature. */
  private async downloadAnnouncedPart(
    description: object & { indexName: IndexName; version: VersionId },
    announced: { bytes: number; sha256: string; download?: PresignedRequest } | undefined,
    part: string,
    what: string,
  ): Promise<Uint8Array> {
    if (announced?.download === undefined) {
      throw new MalformedDataError(`index "${description.indexName}"`, `its description has no download URL for the ${what}`);
    }
    const bytes = await this.getPresigned(announced.download, `download of the ${what} of index "${description.indexName}"`);
    const sha256 = await sha256Hex(bytes);
    if (bytes.length !== announced.bytes || sha256 !== announced.sha256) {
      throw new MalformedDataError(`the ${what} of index "${description.indexName}"`, 'does not match the size and SHA-256 CS1 announced');
    }
    this.checkDownloadedPart(description, part, bytes.length, sha256);
    return bytes;
  }

  /** A part downloaded whole must be the one the owner signed (when this client verifies). */
  private checkDownloadedPart(description: object & { indexName: IndexName; version: VersionId }, part: string, bytes: number, sha256: string): void {
    if (this.options.verifier === undefined) return;
    // getIndex verified the description and remembered it.
    const verified = this.verifiedDescriptions.get(description);
    if (verified === undefined) {
      throw new IntegrityError(`the description of index "${description.indexName}" version "${description.version}" was not read (and verified) by this client: read it with getIndex`);
    }
    IndexVerifier.checkPart(verified, part, bytes, sha256);
  }

  private get concurrency(): number {
    return this.options.concurrency ?? DEFAULT_CONCURRENCY;
  }

  /** One call of a route of the contract, its answer read as JSON; path parameters must be non-empty. */
  private async api<T>(
    route: Cs1RouteName,
    parameters: Readonly<Record<string, string>>,
    operation: string,
    idempotent: boolean,
    body?: unknown,
    authorized = true,
  ): Promise<T> {
    return exchange(this.engine, this.apiExchange(route, parameters, operation, idempotent, body, authorized), answerOf<T>(this.endpoint, operation));
  }

  /** The HTTP exchange of a route of the contract (`accept`: the media types the answer may have). */
  private apiExchange(
    route: Cs1RouteName,
    parameters: Readonly<Record<string, string>>,
    operation: string,
    idempotent: boolean,
    body: unknown,
    authorized: boolean,
    accept = 'application/json',
  ): HttpExchange {
    const { method } = CS1_API[route];
    for (const [name, value] of Object.entries(parameters)) segment(value, PARAMETER_WHAT[name] ?? name);
    const path = pathOf(CS1_API[route], parameters);
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (authorized) {
      if (this.options.token === undefined) throw new InvalidInputError(`${operation} needs a token: create the client with one`);
      headers.authorization = `Bearer ${this.options.token}`;
    }
    return {
      method,
      url: `${this.endpoint}${path}`,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      operation,
      idempotent,
      kind: 'api',
      target: this.endpoint,
      timeoutMs: this.options.timeoutMs ?? scaledTimeout(DEFAULT_TIMEOUT_MS),
    };
  }

  /** PUTs bytes to a presigned URL with its signed headers. Idempotent (same bytes, same key). */
  private async putPresigned(presigned: PresignedRequest, bytes: Uint8Array, operation: string): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(presigned.headers)) {
      // fetch computes the length from the body; a declared one must agree with it.
      if (name.toLowerCase() === 'content-length') {
        if (Number(value) !== bytes.length) throw new InvalidInputError(`${operation}: ${bytes.length} bytes, but ${value} were declared`);
        continue;
      }
      headers[name] = value;
    }
    await exchange(this.engine, this.storageExchange('PUT', presigned.url, operation, headers, bytes), discard);
  }

  private getPresigned(presigned: PresignedRequest, operation: string): Promise<Uint8Array> {
    return exchange(this.engine, this.storageExchange('GET', presigned.url, operation, { ...presigned.headers }), bytesOf);
  }

  private storageExchange(method: 'GET' | 'PUT', url: string, operation: string, headers: Record<string, string>, body?: Uint8Array): HttpExchange {
    let target: string;
    try {
      target = `storage at ${new URL(url).origin}`;
    } catch {
      throw new MalformedDataError('a presigned URL from CS1', 'is not a URL');
    }
    return {
      method,
      url,
      headers,
      body,
      operation,
      idempotent: true,
      kind: 'storage',
      target,
      timeoutMs: this.options.transferTimeoutMs ?? scaledTimeout(DEFAULT_TRANSFER_TIMEOUT_MS),
    };
  }
}
