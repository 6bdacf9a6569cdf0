/**
 * JSON schemas of CS1's request and response bodies (TypeBox: plain JSON Schema objects that
 * ajv validates, with the TypeScript types derived from them by `Static`). Requests are strict
 * (no unknown properties); responses may grow new properties without breaking clients.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { MAX_BLOB_NAME_LENGTH, MAX_IMAGE_ID_LENGTH, MAX_INDEX_NAME_LENGTH, MAX_VERSION_LENGTH } from '../core/ids';
import type { ImageId, IndexName, OwnerId, UserId, VersionId } from '../core/ids';
import {
  MAX_ENCRYPTED_DIMENSION,
  MAX_IDENTIFY_K,
  MAX_IMAGE_BYTES,
  MAX_IMAGES_PER_REQUEST,
  MAX_INDEX_PARTS,
  MAX_INDEXES_PER_REMOVAL,
  MAX_QUERY_BASE64_LENGTH,
  MAX_RETENTION_DAYS,
  MAX_SEARCH_K,
  MAX_SEALED_LEAVES_PER_REQUEST,
  MAX_SEARCH_PROBES,
  MAX_SIGNED_MANIFEST_LENGTH,
  MAX_TRAPDOORS_PER_SEARCH,
} from './limits';

/** Index kinds a version can be created with (each has its own part names and validator). */
export const INDEX_KINDS = ['sei', 'two-server', 'sealed'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

const strict = { additionalProperties: false } as const;
const RequestedImageId = Type.String({ minLength: 1, maxLength: MAX_IMAGE_ID_LENGTH });
/*
 * Ids in CS1's answers, typed as the branded ids CS1 made them from (the JSON schema is a plain
 * string). The client parses every one of them where an answer enters it (lib/client/answer-ids.ts).
 */
const AnsweredOwnerId = Type.Unsafe<OwnerId>(Type.String());
const AnsweredUserId = Type.Unsafe<UserId>(Type.String());
const AnsweredIndexName = Type.Unsafe<IndexName>(Type.String());
const AnsweredVersion = Type.Unsafe<VersionId>(Type.String());
const AnsweredImageId = Type.Unsafe<ImageId>(Type.String());
/** An encrypted vector or trapdoor: m = 2d + 2 numbers. */
const EncryptedVector = Type.Array(Type.Number(), { minItems: 1, maxItems: MAX_ENCRYPTED_DIMENSION });
const Timestamp = Type.String({ description: 'ISO 8601' });

/** A presigned S3 request: send `headers` with it (they are signed). */
export const PresignedRequestSchema = Type.Object({
  url: Type.String(),
  method: Type.Union([Type.Literal('PUT'), Type.Literal('GET')]),
  headers: Type.Record(Type.String(), Type.String()),
  expiresAt: Timestamp,
});
export type PresignedRequest = Static<typeof PresignedRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Owners and users

export const RegisterOwnerRequestSchema = Type.Object(
  {
    publicKeyJwk: Type.Object(
      { kty: Type.String({ maxLength: 16 }), crv: Type.String({ maxLength: 16 }), x: Type.String({ maxLength: 128 }) },
      { maxProperties: 16 },
    ),
  },
  strict,
);

export const RegisterOwnerResponseSchema = Type.Object({
  ownerId: AnsweredOwnerId,
  /** False when the same key was registered before. */
  created: Type.Boolean(),
  createdAt: Timestamp,
});
export type RegisterOwnerResponse = Static<typeof RegisterOwnerResponseSchema>;

export const UserRecordSchema = Type.Object({
  ownerId: AnsweredOwnerId,
  userId: AnsweredUserId,
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  revokedAt: Type.Optional(Timestamp),
  reactivatedAt: Type.Optional(Timestamp),
  reactivationCount: Type.Integer({ minimum: 0 }),
});
export type UserRecord = Static<typeof UserRecordSchema>;

// ---------------------------------------------------------------------------------------------
// Images

export const ImageUploadRequestSchema = Type.Object(
  { imageId: RequestedImageId, byteLength: Type.Integer({ minimum: 1, maximum: MAX_IMAGE_BYTES }) },
  strict,
);
export type ImageUploadRequest = Static<typeof ImageUploadRequestSchema>;

export const ImageUploadsRequestSchema = Type.Object(
  { images: Type.Array(ImageUploadRequestSchema, { minItems: 1, maxItems: MAX_IMAGES_PER_REQUEST }) },
  strict,
);
export const ImageUploadSchema = Type.Composite([PresignedRequestSchema, Type.Object({ imageId: AnsweredImageId })]);
export type ImageUpload = Static<typeof ImageUploadSchema>;
export const ImageUploadsResponseSchema = Type.Object({ uploads: Type.Array(ImageUploadSchema) });

export const ImageDownloadsRequestSchema = Type.Object(
  { imageIds: Type.Array(RequestedImageId, { minItems: 1, maxItems: MAX_IMAGES_PER_REQUEST }) },
  strict,
);
export const ImageDownloadSchema = Type.Composite([PresignedRequestSchema, Type.Object({ imageId: AnsweredImageId, byteLength: Type.Integer() })]);
export type ImageDownload = Static<typeof ImageDownloadSchema>;
export const ImageDownloadsResponseSchema = Type.Object({ downloads: Type.Array(ImageDownloadSchema) });

export const ImageRemovalsRequestSchema = Type.Object(
  {
    /** Images the owner deleted from its indexes: their envelopes are to go. */
    imageIds: Type.Array(RequestedImageId, { minItems: 1, maxItems: MAX_IMAGES_PER_REQUEST }),
    /**
     * Index name -> the first version of that index without these images (the one the delete
     * published). Older versions of it, and of every index not named, may still list them.
     */
    absentFrom: Type.Unsafe<Record<string, string>>({
      type: 'object',
      maxProperties: MAX_INDEXES_PER_REMOVAL,
      propertyNames: { maxLength: MAX_INDEX_NAME_LENGTH },
      additionalProperties: { type: 'string', minLength: 1, maxLength: MAX_VERSION_LENGTH },
    }),
  },
  strict,
);
export type ImageRemovalsRequest = Static<typeof ImageRemovalsRequestSchema>;
export const ImageRemovalSchema = Type.Object({ imageId: AnsweredImageId, requestedAt: Timestamp });
export type ImageRemoval = Static<typeof ImageRemovalSchema>;
export const ImageRemovalsResponseSchema = Type.Object({ removals: Type.Array(ImageRemovalSchema) });

// ---------------------------------------------------------------------------------------------
// Index versions

export const CreateVersionRequestSchema = Type.Object(
  {
    // Unsafe: plain `enum` and `propertyNames` keep ajv's messages short ("must be one of ...").
    kind: Type.Unsafe<IndexKind>({ type: 'string', enum: [...INDEX_KINDS] }),
    /** Part name -> byte length. */
    parts: Type.Unsafe<Record<string, number>>({
      type: 'object',
      minProperties: 1,
      maxProperties: MAX_INDEX_PARTS,
      propertyNames: { maxLength: MAX_BLOB_NAME_LENGTH },
      additionalProperties: { type: 'integer', minimum: 1 },
    }),
    /**
     * Days the clean-up keeps versions this one supersedes once it serves (default
     * DEFAULT_RETENTION_DAYS; the serving version's setting applies).
     */
    retentionDays: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETENTION_DAYS })),
  },
  strict,
);
export type CreateVersionRequest = Static<typeof CreateVersionRequestSchema>;

export const CreateVersionResponseSchema = Type.Object({
  version: AnsweredVersion,
  kind: Type.String(),
  uploads: Type.Record(Type.String(), PresignedRequestSchema),
});
export type CreateVersionResponse = Static<typeof CreateVersionResponseSchema>;

export const PublishRequestSchema = Type.Object(
  {
    /** The version the index must still serve (null: nothing published yet). */
    expectedCurrent: Type.Unsafe<string | null>({ type: 'string', nullable: true, minLength: 1, maxLength: MAX_VERSION_LENGTH }),
    /**
     * The owner's Ed25519-signed manifest of this version (compact JWS, lib/client/index-manifest.ts):
     * CS1 checks it against the uploaded parts and hands it to every client that reads the version.
     */
    signedManifest: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_SIGNED_MANIFEST_LENGTH })),
  },
  strict,
);

export const PublishResponseSchema = Type.Object({
  version: AnsweredVersion,
  previousVersion: Type.Union([AnsweredVersion, Type.Null()]),
  kind: Type.String(),
  publishedAt: Timestamp,
});
export type PublishResponse = Static<typeof PublishResponseSchema>;

/**
 * Where a version comes from, for clients to verify (lib/client/index-verifier.ts): the owner's
 * signed manifest of the version it was published as, and the single-image updates CS1 applied
 * since (SEI; not signed by the owner). Absent for versions published without a signature.
 */
export const IndexProvenanceSchema = Type.Object({
  manifest: Type.String(),
  updates: Type.Optional(
    Type.Array(
      Type.Object({
        version: AnsweredVersion,
        previousVersion: AnsweredVersion,
        operation: Type.Union([Type.Literal('add'), Type.Literal('delete')]),
        imageId: AnsweredImageId,
      }),
    ),
  ),
});

/** Where a publish job is: every phase runs in order; a failed job stops in the phase it was in. */
export const PUBLISH_PHASES = ['queued', 'checking', 'copying', 'validating', 'staging', 'switching', 'done'] as const;

/** A publish job, as the publish route starts it and the status route reports it. */
export const PublishJobSchema = Type.Object({
  indexName: AnsweredIndexName,
  version: AnsweredVersion,
  /** running: not finished yet (see progress); succeeded: `result` serves; failed: `error`, nothing changed. */
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  expectedCurrent: Type.Union([AnsweredVersion, Type.Null()]),
  startedAt: Timestamp,
  updatedAt: Timestamp,
  progress: Type.Object({
    phase: Type.Union(PUBLISH_PHASES.map((phase) => Type.Literal(phase))),
    /** Parts copied and digested so far, of `partsTotal`. */
    partsDone: Type.Integer({ minimum: 0 }),
    partsTotal: Type.Integer({ minimum: 0 }),
    /** Bytes of those parts, of `bytesTotal`. */
    bytesDone: Type.Integer({ minimum: 0 }),
    bytesTotal: Type.Integer({ minimum: 0 }),
  }),
  /** When succeeded: what the synchronous publish used to answer. */
  result: Type.Optional(Type.Intersect([PublishResponseSchema, Type.Object({ warnings: Type.Optional(Type.Array(Type.String())) })])),
  /** When failed: the error code (lib/api/errors.ts) and a message the owner can act on. */
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type PublishJob = Static<typeof PublishJobSchema>;

/** GET index: the serving version and its kind's public summary. */
export const IndexDescriptionSchema = Type.Object({
  indexName: AnsweredIndexName,
  version: AnsweredVersion,
  kind: Type.String(),
  publishedAt: Timestamp,
  previousVersion: Type.Union([AnsweredVersion, Type.Null()]),
  summary: Type.Record(Type.String(), Type.Unknown()),
  provenance: Type.Optional(IndexProvenanceSchema),
});

/** Summary of a SEI index. */
export const SeiIndexSummarySchema = Type.Object({
  d: Type.Integer(),
  m: Type.Integer(),
  ownerKeyId: Type.String(),
  imageCount: Type.Integer(),
  leafCount: Type.Integer(),
  nodeCount: Type.Integer(),
  updates: Type.Object({ added: Type.Integer(), deleted: Type.Integer(), builtSize: Type.Integer() }),
  /** The version published from the owner's build; versions made by updates keep it. */
  publishedFrom: Type.String(),
});
export type SeiIndexSummary = Static<typeof SeiIndexSummarySchema>;

/** Summary of a two-server index: what a client needs to encrypt a query. */
export const TwoServerIndexSummarySchema = Type.Object({
  backend: Type.Union([Type.Literal('she'), Type.Literal('bfv')]),
  keyId: Type.String(),
  d: Type.Integer(),
  maxAbs: Type.Number(),
  templateCount: Type.Integer(),
  partitions: Type.Integer(),
  queryBytes: Type.Integer(),
  publicMaterial: Type.Object({ bytes: Type.Integer(), sha256: Type.String(), download: Type.Optional(PresignedRequestSchema) }),
  /** What users may ask: the owner's limits and the per-user budget (lib/twoserver/policy.ts). */
  policy: Type.Object({
    maxK: Type.Integer(),
    maxTauSquared: Type.Integer(),
    budget: Type.Object({ queries: Type.Integer(), windowSeconds: Type.Integer() }),
  }),
});
export type TwoServerIndexSummary = Static<typeof TwoServerIndexSummarySchema>;

/** Summary of a sealed index: its public layout and where the sealed routing part is. */
export const SealedIndexSummarySchema = Type.Object({
  keyId: Type.String(),
  leafCount: Type.Integer(),
  leafBytes: Type.Integer(),
  leavesPerQuery: Type.Integer(),
  routing: Type.Object({ bytes: Type.Integer(), sha256: Type.String(), download: Type.Optional(PresignedRequestSchema) }),
});
export type SealedIndexSummary = Static<typeof SealedIndexSummarySchema>;

export type IndexDescription<S = SeiIndexSummary | TwoServerIndexSummary | SealedIndexSummary> = Omit<Static<typeof IndexDescriptionSchema>, 'summary'> & { summary: S };

// ---------------------------------------------------------------------------------------------
// SEI dynamic updates and search

export const AddImageRequestSchema = Type.Object(
  {
    imageId: RequestedImageId,
    /** The image's encrypted index vector f' (m = 2d + 2 entries). */
    vector: EncryptedVector,
    /** A trapdoor of the same feature vector under the owner's own user key (m entries). */
    placementTrapdoor: EncryptedVector,
  },
  strict,
);
export type AddImageRequest = Static<typeof AddImageRequestSchema>;

export const RebuildAdviceSchema = Type.Object({ advisable: Type.Boolean(), reasons: Type.Array(Type.String()) });
export const UpdateResponseSchema = Type.Object({
  version: AnsweredVersion,
  previousVersion: AnsweredVersion,
  imageId: AnsweredImageId,
  leaf: Type.Integer(),
  imageCount: Type.Integer(),
  rebuildAdvice: RebuildAdviceSchema,
});
export type UpdateResponse = Static<typeof UpdateResponseSchema>;

export const SearchRequestSchema = Type.Object(
  {
    /** 1..16 trapdoors (one real, the others decoys), m entries each. */
    trapdoors: Type.Array(EncryptedVector, { minItems: 1, maxItems: MAX_TRAPDOORS_PER_SEARCH }),
    k: Type.Integer({ minimum: 1, maximum: MAX_SEARCH_K }),
    /**
     * Leaves ranked at least: more probes, higher recall, more work. No default here: without
     * it the index's calibrated probes (chosen by the owner's build for a target recall) apply.
     */
    probes: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEARCH_PROBES })),
  },
  strict,
);
export type SearchRequest = Static<typeof SearchRequestSchema>;

export const SearchHitSchema = Type.Object({
  imageId: AnsweredImageId,
  /** Encrypted score: smaller is nearer; comparable only within one trapdoor's list. */
  score: Type.Number(),
});
export const SearchResponseSchema = Type.Object({
  version: AnsweredVersion,
  /** One list per trapdoor, in request order. */
  results: Type.Array(Type.Object({ hits: Type.Array(SearchHitSchema) })),
  /** Of the version searched. */
  provenance: Type.Optional(IndexProvenanceSchema),
});
export type SearchResponse = Static<typeof SearchResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Sealed indexes: CS1 hands out leaves; the client ranks

export const SealedLeavesRequestSchema = Type.Object(
  {
    /** The version being searched: the serving one or the one it replaced. */
    version: Type.String({ minLength: 1, maxLength: MAX_VERSION_LENGTH }),
    /** Exactly the index's L leaf numbers, distinct (real and decoys; CS1 cannot tell which). */
    leaves: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: MAX_SEALED_LEAVES_PER_REQUEST }),
    /** 'bytes' (default): the leaves in the answer; 'urls': one presigned byte-range GET per leaf. */
    delivery: Type.Optional(Type.Union([Type.Literal('bytes'), Type.Literal('urls')])),
  },
  strict,
);
export type SealedLeavesRequest = Static<typeof SealedLeavesRequestSchema>;

export const SealedLeavesResponseSchema = Type.Object({
  version: AnsweredVersion,
  leafBytes: Type.Integer(),
  /** The leaves answered, in request order. */
  leaves: Type.Array(Type.Integer()),
  /** 'bytes': base64 of the leaves back to back, in `leaves` order. */
  data: Type.Optional(Type.String()),
  /** 'urls': one GET per leaf, in `leaves` order (send its headers: the range is signed). */
  downloads: Type.Optional(Type.Array(PresignedRequestSchema)),
});
export type SealedLeavesResponse = Static<typeof SealedLeavesResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Two-server identification

export const IdentifyRequestSchema = Type.Object(
  {
    /** The encrypted query, base64. */
    query: Type.String({ minLength: 4, maxLength: MAX_QUERY_BASE64_LENGTH }),
    /** Range query: every template within this squared distance. */
    tauSquared: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    /** The k nearest templates (at most the index's own limit, its policy's maxK). */
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_IDENTIFY_K })),
    // "Exactly one of tauSquared and k" is checked by the service, whose message says why.
  },
  strict,
);
export type IdentifyRequest = Static<typeof IdentifyRequestSchema>;

/** Identification answers ids only, nearest first: never distances. */
export const IdentifyResponseSchema = Type.Object({
  version: AnsweredVersion,
  templateIds: Type.Array(AnsweredImageId),
  /** Range queries: more templates were within the threshold than one answer carries. */
  truncated: Type.Optional(Type.Boolean()),
  /** Of the version searched. */
  provenance: Type.Optional(IndexProvenanceSchema),
  /** Users: their identification budget on this index after this query. */
  budget: Type.Optional(Type.Object({ limit: Type.Integer(), remaining: Type.Integer(), resetsAt: Type.String() })),
});
export type IdentifyResponse = Static<typeof IdentifyResponseSchema>;

