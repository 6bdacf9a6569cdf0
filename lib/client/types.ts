/**
 * Wire types of CS1's HTTP API as a client sees them (JSON bodies of functions/cs1/*), and the
 * options of the typed client. Shapes are declared here rather than imported from the service
 * so the client depends on the contract, not on server code.
 */
import type { ErrorCode } from '../core/errors';

export type IndexKind = 'sei' | 'two-server';

/** A presigned S3 request: send `headers` with it (they are signed). */
export interface PresignedRequest {
  readonly url: string;
  readonly method: 'PUT' | 'GET';
  readonly headers: Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly expiresAt: string;
}

export interface RegisterOwnerResponse {
  readonly ownerId: string;
  /** False when the same key was registered before. */
  readonly created: boolean;
  readonly createdAt: string;
}

export interface UserRecord {
  readonly ownerId: string;
  readonly userId: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revokedAt?: string;
  readonly reactivatedAt?: string;
  readonly reactivationCount: number;
}

export interface ImageUploadRequest {
  readonly imageId: string;
  readonly byteLength: number;
}

export type ImageUpload = PresignedRequest & { readonly imageId: string };
export type ImageDownload = PresignedRequest & { readonly imageId: string; readonly byteLength: number };

export interface CreateVersionRequest {
  readonly kind: IndexKind;
  /** Part name -> byte length. */
  readonly parts: Readonly<Record<string, number>>;
}

export interface CreateVersionResponse {
  readonly version: string;
  readonly kind: IndexKind;
  readonly uploads: Readonly<Record<string, PresignedRequest>>;
}

export interface PublishResponse {
  readonly version: string;
  readonly previousVersion: string | null;
  readonly kind: IndexKind;
  readonly publishedAt: string;
}

/** Summary of a SEI index (GET index). */
export interface SeiIndexSummary {
  readonly d: number;
  readonly m: number;
  readonly ownerKeyId: string;
  readonly imageCount: number;
  readonly leafCount: number;
  readonly nodeCount: number;
  readonly updates: { readonly added: number; readonly deleted: number; readonly builtSize: number };
}

/** Summary of a two-server index (GET index): what a client needs to encrypt a query. */
export interface TwoServerIndexSummary {
  readonly backend: 'she' | 'bfv';
  readonly keyId: string;
  readonly d: number;
  readonly maxAbs: number;
  readonly templateCount: number;
  readonly partitions: number;
  readonly queryBytes: number;
  readonly publicMaterial: {
    readonly bytes: number;
    readonly sha256: string;
    readonly download?: PresignedRequest;
  };
}

export interface IndexDescription<S = SeiIndexSummary | TwoServerIndexSummary> {
  readonly indexName: string;
  readonly version: string;
  readonly kind: IndexKind;
  readonly publishedAt: string;
  readonly previousVersion: string | null;
  readonly summary: S;
}

export interface RebuildAdvice {
  readonly advisable: boolean;
  readonly reasons: string[];
}

export interface AddImageRequest {
  readonly imageId: string;
  /** The image's encrypted index vector f' (m = 2d + 2 entries). */
  readonly vector: ArrayLike<number>;
  /** A trapdoor of the same feature vector under the owner's own user key (m entries). */
  readonly placementTrapdoor: ArrayLike<number>;
}

export interface UpdateResponse {
  readonly version: string;
  readonly previousVersion: string;
  readonly imageId: string;
  readonly leaf: number;
  readonly imageCount: number;
  readonly rebuildAdvice: RebuildAdvice;
}

export interface SearchRequest {
  /** 1..16 trapdoors (one real, the others decoys), m entries each. */
  readonly trapdoors: ReadonlyArray<ArrayLike<number>>;
  readonly k: number;
  /** Leaves ranked at least (1..64, server default 4). */
  readonly probes?: number;
}

export interface SearchHit {
  readonly imageId: string;
  /** Encrypted score: smaller is nearer; comparable only within one trapdoor's list. */
  readonly score: number;
}

export interface SearchResponse {
  readonly version: string;
  /** One list per trapdoor, in request order. */
  readonly results: ReadonlyArray<{ readonly hits: SearchHit[] }>;
}

export type IdentifyRequest =
  | { readonly query: Uint8Array; readonly tauSquared: number; readonly k?: undefined }
  | { readonly query: Uint8Array; readonly k: number; readonly tauSquared?: undefined };

export interface IdentifyMatch {
  readonly templateId: string;
  /** Exact squared distance in the quantized space. */
  readonly dist2: number;
}

export interface IdentifyResponse {
  readonly version: string;
  readonly matches: IdentifyMatch[];
  readonly stats: { readonly cs2Calls: number; readonly candidates: number };
  readonly truncated?: boolean;
}

/** The JSON error body of every CS1 endpoint. */
export interface ErrorBody {
  readonly error: { readonly code: ErrorCode | string; readonly message: string; readonly requestId?: string };
}

/** Progress of a multi-object transfer. */
export interface TransferProgress {
  readonly done: number;
  readonly total: number;
  readonly bytes: number;
}

export interface RetryOptions {
  /** Attempts in all (1 = no retry). Default 4. */
  readonly attempts?: number;
  /** First back-off in ms; doubles each time, with jitter. Default 200. */
  readonly baseDelayMs?: number;
  /** Longest single back-off. Default 3000. */
  readonly maxDelayMs?: number;
}

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface Cs1ClientOptions {
  /** Base URL of CS1's API, e.g. http://127.0.0.1:4510 or an API Gateway URL. */
  readonly endpoint: string;
  /** Bearer token signed by the owner (owner or user role). Registration needs none. */
  readonly token?: string;
  readonly retry?: RetryOptions;
  /**
   * Per-request timeout of API calls in ms. Default 30,000 (API Gateway's limit is 29 s), times
   * BLINDSIGHT_TIMEOUT_SCALE (lib/core/timeout-scale.ts).
   */
  readonly timeoutMs?: number;
  /** Per-object timeout of presigned uploads and downloads in ms. Default 300,000, times BLINDSIGHT_TIMEOUT_SCALE. */
  readonly transferTimeoutMs?: number;
  /** Concurrent presigned transfers. Default 8. */
  readonly concurrency?: number;
  /** Injected fetch (tests); default globalThis.fetch. */
  readonly fetch?: FetchFunction;
  /** Sleep between retries (tests); default setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}
