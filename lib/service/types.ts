/**
 * Types of CS1's application services: the stores they work on, and the contract between the
 * index-version service and each kind of index (SEI, two-server). The services hold the logic
 * of the API and depend only on the storage interfaces, never on Lambda or the AWS SDK.
 */
import type { IndexCatalog, IndexKind, IndexVersion, JsonObject, ObjectStore, OwnerRegistry, PublishJobStore, UserRegistry } from '../storage/types';
import type { IndexName, OwnerId, VersionId } from '../core/ids';

/** CS1's stores (the same shape as lib/storage/factory's Cs1Storage). */
export interface Cs1Stores {
  readonly objects: ObjectStore;
  readonly owners: OwnerRegistry;
  readonly users: UserRegistry;
  readonly indexes: IndexCatalog;
  readonly publishJobs: PublishJobStore;
}

/**
 * An S3 object of an index, named relative to the index: a part of one version. Stored
 * references never hold a raw key; the key is rebuilt with the caller's owner id through
 * object-keys.ts, so stored data can never point into another owner's prefix.
 */
export interface PartRef {
  readonly version: VersionId;
  readonly part: string;
}

// ---------------------------------------------------------------------------------------------
// Index kinds

/** A part the owner uploads (with a presigned PUT) before publishing a version. */
export interface IndexPartSpec {
  /**
   * Blob-name syntax (parseBlobName, lib/core/ids.ts); becomes the last component of the part's S3 key. With
   * `pattern`, a description of the names it matches (e.g. "records-NNNN").
   */
  readonly name: string;
  /** A family of parts: every declared name matching it is such a part (at most maxCount). */
  readonly pattern?: RegExp;
  readonly maxCount?: number;
  /** Largest accepted size in bytes. */
  readonly maxBytes: number;
  /** Optional parts may be left out of the declaration; declared parts must be uploaded. */
  readonly optional?: boolean;
  /** What the part holds, for error messages and docs. */
  readonly description: string;
}

/** The uploaded parts of the version being published, as the kind handler sees them. */
export interface IndexPartsReader {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  /** Declared (and uploaded) part names. */
  readonly names: readonly string[];
  /** Uploaded size in bytes (equal to the declared size; checked before validate runs). */
  size(name: string): number;
  /** The whole part. */
  read(name: string): Promise<Uint8Array>;
  /** Bytes [start, endExclusive) of a part (an S3 range read). */
  readRange(name: string, start: number, endExclusive: number): Promise<Uint8Array>;
  /** Writes a derived object under this version's prefix (e.g. an index built from the parts). */
  writeDerived(name: string, bytes: Uint8Array): Promise<PartRef>;
  /** The reference of a part (or derived object) of this version. */
  ref(name: string): PartRef;
  /**
   * An earlier, completely staged version of the same index (copy-on-write versions reuse its
   * objects), or undefined when there is none by that name.
   */
  priorVersion(version: VersionId): Promise<IndexVersion | undefined>;
}

/** What a kind handler makes of valid parts: the catalog entry of the version. */
export interface ValidatedIndexVersion {
  /** Small JSON description (< 100 KB): dimensions, counts, where the bulky parts are. */
  readonly metadata: JsonObject;
  /** Named binary blobs kept in the catalog (DynamoDB, chunked; 32 MB each at most). */
  readonly blobs: Readonly<Record<string, Uint8Array>>;
  /** What the owner and the operator should know about the version (logged, and returned by publish). */
  readonly warnings?: readonly string[];
}

/** What a kind's summary may do besides reading the metadata (scoped to the index's owner). */
export interface IndexSummaryAccess {
  /** A presigned GET of a part (or derived object) of the index, for clients without credentials. */
  presignGet(ref: PartRef, expiresInSeconds: number): Promise<PresignedUrl>;
}

/**
 * A kind of index as every function that names kinds sees it: its name and the parts an owner
 * uploads. Cheap to load: the checking and describing code of a kind is in its validator and
 * summarizer, loaded only by the functions that run them (index-kinds.ts).
 */
export interface IndexKindSpec {
  readonly kind: IndexKind;
  readonly parts: readonly IndexPartSpec[];
}

/**
 * Checks a version's parts at publish. `validate` must check them COMPLETELY (decode every byte
 * a search will ever read) and throw MalformedDataError / InvalidInputError with a message that
 * names the problem: a version that passes is published as is. `policy` is what this
 * deployment accepts.
 */
export interface IndexKindValidator {
  validate(parts: IndexPartsReader, policy: IndexPublishPolicy): Promise<ValidatedIndexVersion>;
}

/** What a deployment accepts at publish (CS1 settings: publish-policy.ts). */
export interface IndexPublishPolicy {
  /**
   * Accept two-server indexes of the `she` backend, the paper's scheme, which is broken
   * (lib/he/backends.ts, SHE_IS_INSECURE). BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME; off by default.
   */
  readonly allowInsecurePaperScheme: boolean;
}


/** Describes a published version (GET index): dimensions, counts, public material. */
export interface IndexKindSummarizer {
  summarize(metadata: JsonObject, access: IndexSummaryAccess): JsonObject | Promise<JsonObject>;
}

/** A whole kind in one object: its spec and both roles (small kinds, tests). */
export interface IndexKindHandler extends IndexKindSpec, IndexKindValidator, IndexKindSummarizer {}

// ---------------------------------------------------------------------------------------------
// Results shared by services and handlers

export interface PresignedUrl {
  readonly url: string;
  readonly method: 'PUT' | 'GET';
  /** Headers the client must send with the request (signed). */
  readonly headers: Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly expiresAt: string;
}
