/**
 * Storage interfaces of the CS1 and CS2 services. Handlers depend on these, never on the AWS
 * SDK: the implementations (S3, DynamoDB, Secrets Manager, local files) live one per module.
 * Ids arrive parsed (branded types of lib/core/ids.ts); ids read back from records are parsed
 * again by the decoders. Every method reports absence
 * and races with the typed errors of lib/core/errors (NotFoundError, ConflictError).
 */
import type { Ed25519PublicJwk, UserStatus } from '../auth/types';
import type { IndexName, OwnerId, UserId, VersionId } from '../core/ids';

export type { UserStatus };

// ---------------------------------------------------------------------------------------------
// Objects (S3)

export interface ObjectHead {
  /** Size in bytes. */
  readonly size: number;
  readonly contentType?: string;
  readonly etag?: string;
}

export interface PresignPutOptions {
  /** URL lifetime, 1 s to 7 days (SigV4's limit). */
  readonly expiresInSeconds: number;
  /** Signed: the uploader must send exactly this Content-Type. */
  readonly contentType: string;
  /** Signed when given: the uploader must send exactly this many bytes. */
  readonly contentLength?: number;
}

export interface PresignGetOptions {
  readonly expiresInSeconds: number;
  /** Bytes [start, endExclusive) only: the Range header is signed and returned with the URL. */
  readonly range?: { readonly start: number; readonly endExclusive: number };
}

/** A URL a client can use without AWS credentials, and the headers it must send with it. */
export interface PresignedRequest {
  readonly url: string;
  readonly method: 'PUT' | 'GET';
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAt: Date;
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified?: Date;
}

/** A bucket of opaque byte objects. Keys come from the builders in object-keys.ts. */
export interface ObjectStore {
  put(key: string, bytes: Uint8Array, contentType?: string): Promise<void>;
  /** The whole object; NotFoundError if absent. */
  get(key: string): Promise<Uint8Array>;
  /** Bytes [start, endExclusive) through an HTTP Range read; NotFoundError if absent. */
  getRange(key: string, start: number, endExclusive: number): Promise<Uint8Array>;
  /** Size and type, or undefined if absent. */
  head(key: string): Promise<ObjectHead | undefined>;
  /**
   * Copies an object inside the store (server side where the store can); NotFoundError if the
   * source is absent. Optional: without it, callers copy with get and put.
   */
  copy?(fromKey: string, toKey: string): Promise<void>;
  /** Deletes the object; deleting an absent object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Every object whose key starts with `prefix`, page by page (the clean-up lists what an index
   * stores). Optional: only the clean-up needs it.
   */
  list?(prefix: string): AsyncIterable<ListedObject>;
  presignPut(key: string, options: PresignPutOptions): Promise<PresignedRequest>;
  presignGet(key: string, options: PresignGetOptions): Promise<PresignedRequest>;
}

// ---------------------------------------------------------------------------------------------
// Owners and users (DynamoDB)

export interface OwnerRecord {
  readonly ownerId: OwnerId;
  /** The registered public signing key (kty, crv, x only). */
  readonly publicKeyJwk: Ed25519PublicJwk;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface RegisterOwnerResult {
  readonly owner: OwnerRecord;
  /** False when the same key was registered before (the existing record is returned). */
  readonly created: boolean;
}

export interface OwnerRegistry {
  /**
   * Registers an owner's public key. Idempotent for the same key; ConflictError if the id is
   * registered with a different key. Callers derive ownerId with ownerIdOf(publicKeyJwk).
   */
  register(ownerId: OwnerId, publicKeyJwk: Ed25519PublicJwk, createdAt: Date): Promise<RegisterOwnerResult>;
  get(ownerId: OwnerId): Promise<OwnerRecord | undefined>;
}

export interface UserRecord {
  readonly ownerId: OwnerId;
  readonly userId: UserId;
  readonly status: UserStatus;
  /** ISO 8601 times. */
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Last revocation, if any. */
  readonly revokedAt?: string;
  /** Last re-activation after a revocation, if any. */
  readonly reactivatedAt?: string;
  /** How many times the user was re-activated after a revocation. */
  readonly reactivationCount: number;
}

/** The users an owner has issued tokens to. Users of different owners never meet (key design). */
export interface UserRegistry {
  /** Adds or re-activates a user (re-activation is recorded). Idempotent for an active user. */
  put(ownerId: OwnerId, userId: UserId): Promise<UserRecord>;
  /** Revokes a user; takes effect on its next request. NotFoundError if unknown. */
  revoke(ownerId: OwnerId, userId: UserId): Promise<UserRecord>;
  /** Strongly consistent, so a revocation is seen at once. */
  get(ownerId: OwnerId, userId: UserId): Promise<UserRecord | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Index versions (DynamoDB)

export type IndexKind = 'sei' | 'two-server' | 'sealed';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * staging: written partly (a crash leaves it so; it can never be published);
 * complete: immutable and publishable; deleting: being removed by deleteVersion.
 */
export type IndexVersionStatus = 'staging' | 'complete' | 'deleting';

export interface IndexBlobInfo {
  readonly name: string;
  readonly size: number;
  readonly chunkCount: number;
  /** Hex SHA-256 of the blob, checked on every read. */
  readonly sha256: string;
}

export interface StageVersionInput {
  readonly kind: IndexKind;
  /** Small JSON description (< 100 KB), e.g. dimensions, S3 keys of bulky parts, counts. */
  readonly metadata: JsonObject;
  /** Named binary blobs kept in DynamoDB, chunked (e.g. the SEI skeleton, two-server segments). */
  readonly blobs?: Readonly<Record<string, Uint8Array>>;
}

export interface IndexVersionSummary {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly kind: IndexKind;
  readonly status: IndexVersionStatus;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly blobs: readonly IndexBlobInfo[];
}

export interface IndexVersion extends IndexVersionSummary {
  readonly metadata: JsonObject;
  /** Reads one blob on demand (checks size and SHA-256). NotFoundError for an unknown name. */
  readBlob(name: string): Promise<Uint8Array>;
}

export interface CurrentIndexVersion {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly kind: IndexKind;
  /** ISO 8601. */
  readonly publishedAt: string;
  /** The version this publish replaced, if any. */
  readonly previousVersion?: VersionId;
}

/**
 * Versions of an owner's named indexes and the pointer to the one that serves. A version is
 * written completely (stageVersion), then published by ONE conditional write of the pointer,
 * so readers see the old or the new version, never a mix.
 */
export interface IndexCatalog {
  /** Writes a new immutable version; ConflictError if the version name exists. */
  stageVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId, input: StageVersionInput): Promise<IndexVersionSummary>;
  /** A version (complete or not), or undefined. */
  getVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<IndexVersion | undefined>;
  /** The serving version, or undefined if none was published. */
  getCurrent(ownerId: OwnerId, indexName: IndexName): Promise<CurrentIndexVersion | undefined>;
  /**
   * Points the index at `version`, if it is completely staged and the pointer still names
   * `expectedCurrent` (undefined: nothing published yet); ConflictError otherwise.
   */
  publish(ownerId: OwnerId, indexName: IndexName, version: VersionId, expectedCurrent: VersionId | undefined): Promise<CurrentIndexVersion>;
  /** All versions of the index, ordered by version name. */
  listVersions(ownerId: OwnerId, indexName: IndexName): Promise<IndexVersionSummary[]>;
  /** Deletes a version that is not current (abandoned stagings, superseded versions). */
  deleteVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<void>;
  /**
   * Every (owner, index) with a pointer or a version, and every registered owner (a full scan:
   * for the clean-up only).
   */
  listIndexes?(): Promise<{ readonly indexes: Array<{ readonly ownerId: OwnerId; readonly indexName: IndexName }>; readonly ownerIds: OwnerId[] }>;
}

// ---------------------------------------------------------------------------------------------
// Query budgets (DynamoDB)

/** Whose queries a counter counts: one user of one owner on one index, in one window. */
export interface QueryBudgetKey {
  readonly ownerId: OwnerId;
  readonly userId: UserId;
  readonly indexName: IndexName;
  /** Start of the window, epoch seconds (a multiple of the window length). */
  readonly windowStart: number;
}

export interface QueryBudgetUse {
  /** The query was counted (false: the budget of this window is spent, nothing changed). */
  readonly allowed: boolean;
  /** Queries counted in the window, this one included when allowed. */
  readonly used: number;
}

/**
 * Per-user query counters. `consume` is ONE atomic conditional increment: of concurrent
 * requests at most `limit` are ever allowed per window, however many execution environments
 * serve them.
 */
export interface QueryBudgetStore {
  /** Counts one query if fewer than `limit` were counted; the counter expires at `expiresAt`. */
  consume(key: QueryBudgetKey, limit: number, expiresAt: Date): Promise<QueryBudgetUse>;
  /** Gives one query back (a query the service failed to answer); never below zero. */
  refund(key: QueryBudgetKey): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Publish jobs (DynamoDB)

export type PublishJobStatus = 'running' | 'succeeded' | 'failed';

export interface PublishJobProgress {
  /** The publish phase the job is in (the API's PUBLISH_PHASES). */
  readonly phase: string;
  readonly partsDone: number;
  readonly partsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export type PublishJobOutcome =
  | { readonly status: 'succeeded'; readonly result: JsonObject }
  | { readonly status: 'failed'; readonly error: { readonly code: string; readonly message: string } };

/** One publish of one version; a new job for the same version replaces a finished or abandoned one. */
export interface PublishJobRecord {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  /** Random per start: a job that lost its lease can no longer write the record. */
  readonly jobId: string;
  readonly status: PublishJobStatus;
  readonly expectedCurrent: VersionId | null;
  /** ISO 8601 times. */
  readonly startedAt: string;
  readonly updatedAt: string;
  /** A running job whose lease has passed has stopped (crashed or timed out) without finishing. */
  readonly leaseUntil: string;
  readonly progress: PublishJobProgress;
  /** The owner's signed manifest the publish was asked with, if any (a compact JWS). */
  readonly signedManifest?: string;
  readonly result?: JsonObject;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface PublishJobStore {
  /**
   * Records a new running job, unless another job of the version is running with a lease
   * beyond `record.startedAt`: then ConflictError, and the running job is left alone.
   */
  start(record: PublishJobRecord): Promise<void>;
  /** The version's latest job (strongly consistent), or undefined. */
  get(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<PublishJobRecord | undefined>;
  /**
   * Progress and a new lease for job `jobId`, only while it runs and holds its lease at `now`;
   * false when it no longer does (another job took over, or the lease passed).
   */
  heartbeat(ownerId: OwnerId, indexName: IndexName, version: VersionId, jobId: string, progress: PublishJobProgress, leaseUntil: Date, now: Date): Promise<boolean>;
  /** Records the outcome of job `jobId` if it still runs; false otherwise. */
  finish(ownerId: OwnerId, indexName: IndexName, version: VersionId, jobId: string, outcome: PublishJobOutcome, now: Date): Promise<boolean>;
  /** The versions of the index that have a job record (for the clean-up). */
  listVersions(ownerId: OwnerId, indexName: IndexName): Promise<VersionId[]>;
  /**
   * Removes the version's job record unless a job of it still runs with a lease beyond `now`;
   * true when no record is left.
   */
  remove(ownerId: OwnerId, indexName: IndexName, version: VersionId, now: Date): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Secrets (CS2)

/** CS2's homomorphic-encryption secret material by key id. Values are never logged. */
export interface SecretStore {
  /** NotFoundError if no secret has this id. */
  get(keyId: string): Promise<Uint8Array>;
  /** Creates or replaces the secret. */
  put(keyId: string, bytes: Uint8Array): Promise<void>;
}
