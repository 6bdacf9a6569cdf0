/**
 * Types of the typed client: the wire types of CS1's API come from the contract (lib/api), the
 * request types here only widen them where callers hold typed arrays or bytes; plus the
 * client's options.
 */
import type {
  AddImageRequest as AddImageBody,
  IdentifyRequest as IdentifyBody,
  SealedLeavesRequest as SealedLeavesBody,
  SearchRequest as SearchBody,
  UpdateResponse,
} from '../api/schemas';

import type { ImageUploadRequest as ImageUploadBody } from '../api/schemas';
import type { Ed25519PrivateJwk } from '../auth/types';
import type { ImageId, VersionId } from '../core/ids';
import type { IndexVerifier } from './index-verifier';

export type {
  CreateVersionRequest,
  CreateVersionResponse,
  IdentifyResponse,
  ImageDownload,
  ImageRemoval,
  ImageUpload,
  IndexDescription,
  IndexKind,
  PresignedRequest,
  PublishJob,
  PublishResponse,
  RegisterOwnerResponse,
  SealedIndexSummary,
  SealedLeavesResponse,
  SearchResponse,
  SeiIndexSummary,
  TwoServerIndexSummary,
  UpdateResponse,
  UserRecord,
} from '../api/schemas';

/** One image to upload: its id (parsed) and its envelope's size. */
export type ImageUploadRequest = Omit<ImageUploadBody, 'imageId'> & { readonly imageId: ImageId };

export type RebuildAdvice = UpdateResponse['rebuildAdvice'];

/** The add-image body, with vectors as any array-like of numbers (e.g. Float64Array). */
export type AddImageRequest = Omit<AddImageBody, 'imageId' | 'vector' | 'placementTrapdoor'> & {
  readonly imageId: ImageId;
  readonly vector: ArrayLike<number>;
  readonly placementTrapdoor: ArrayLike<number>;
};

/** The sealed-leaves body, with the leaf numbers as any read-only array. */
export type SealedLeavesRequest = Omit<SealedLeavesBody, 'version' | 'leaves'> & { readonly version: VersionId; readonly leaves: readonly number[] };

/** The search body, with trapdoors as any array-like of numbers. */
export type SearchRequest = Omit<SearchBody, 'trapdoors'> & { readonly trapdoors: ReadonlyArray<ArrayLike<number>> };

/** The identify body with the query as bytes (the client base64-encodes it); exactly one of tauSquared and k. */
export type IdentifyRequest =
  | { readonly query: Uint8Array; readonly tauSquared: NonNullable<IdentifyBody['tauSquared']>; readonly k?: undefined }
  | { readonly query: Uint8Array; readonly k: NonNullable<IdentifyBody['k']>; readonly tauSquared?: undefined };

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
  /**
   * The owner's private signing key (owner clients): every publish then carries the owner's
   * signed manifest of the version (lib/client/index-manifest.ts), which users verify.
   */
  readonly signingKey?: Ed25519PrivateJwk;
  /**
   * Verifies every index version this client reads (description, search, identify, the sealed
   * routing data and HE public material it downloads) against the owner's signed manifest;
   * IntegrityError instead of any answer that fails. Without it nothing is checked.
   */
  readonly verifier?: IndexVerifier;
}
