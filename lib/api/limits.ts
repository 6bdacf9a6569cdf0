/**
 * Request limits of CS1's API. The route schemas (routes.ts) carry them, so the handlers
 * enforce them; the services check them again for callers without a schema in front (tests,
 * scripts), and the client and the CLI read them to stay inside them.
 */
import { encryptedDimension, MAX_FEATURE_DIMENSION } from '../sei/types';
import { POLICY_MAX_K } from '../twoserver/policy';

/** K-anonymity: one request carries the real trapdoor and at most 15 decoys. */
export const MAX_TRAPDOORS_PER_SEARCH = 16;
export const MAX_SEARCH_K = 100;
export const MAX_SEARCH_PROBES = 64;
/** Longest encrypted vector or trapdoor any index can need (m = 2d + 2). */
export const MAX_ENCRYPTED_DIMENSION = encryptedDimension(MAX_FEATURE_DIMENSION);

/** Presigned URLs issued per request (uploads, downloads). */
export const MAX_IMAGES_PER_REQUEST = 100;
/** Encrypted image envelopes are uploaded with presigned PUTs of at most this size. */
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
/** Parts of one index version. */
export const MAX_INDEX_PARTS = 16;
/** Indexes one image-removal request may name (an owner's client keeps a few: sealed, SEI, identification). */
export const MAX_INDEXES_PER_REMOVAL = 16;

/** Leaves one sealed-leaves request may name (the sealed format's bound on L). */
export const MAX_SEALED_LEAVES_PER_REQUEST = 1024;

/**
 * k-nearest identification returns at most this many templates: the ceiling of what an owner's
 * policy may allow; each index's own limit (its policy's maxK, often lower) is enforced by the
 * service with a 400 naming it.
 */
export const MAX_IDENTIFY_K = POLICY_MAX_K;
/**
 * Largest encrypted query accepted. Queries come inline in the JSON body as base64 (4/3
 * larger): 4 MiB of query is about 5.6 MB of body, under Lambda's 6 MB event limit. Real
 * queries are far smaller (she, d = 512: 128 KB; bfv, N = 8192: about 400 KB).
 */
export const MAX_QUERY_BYTES = 4 * 1024 * 1024;
export const MAX_QUERY_BASE64_LENGTH = Math.ceil(MAX_QUERY_BYTES / 3) * 4;
/**
 * A range identification returns at most this many matches, nearest first (`truncated` says
 * when more were within the threshold), so an over-wide threshold cannot produce a response
 * past the 6 MB Lambda limit.
 */
export const MAX_RANGE_MATCHES = 1000;

/**
 * Request bodies: a JSON number of a trapdoor takes at most about 25 bytes, so a search with 16
 * trapdoors of the largest dimension stays under 4 MB. Lambda refuses events over 6 MB anyway;
 * the per-route limits refuse large bodies before they are parsed.
 */
export const SMALL_BODY_BYTES = 16 * 1024;
export const VECTOR_BODY_BYTES = 512 * 1024;
export const SEARCH_BODY_BYTES = 4 * 1024 * 1024;
export const IDENTIFY_BODY_BYTES = MAX_QUERY_BASE64_LENGTH + 4 * 1024;

/**
 * Longest signed index manifest (a compact JWS) a publish accepts: one of MAX_INDEX_PARTS parts
 * is a few KB, and it must fit a SMALL_BODY_BYTES publish body.
 */
export const MAX_SIGNED_MANIFEST_LENGTH = 12_000;

/**
 * How long the clean-up keeps a version after it stopped serving (lib/service/versions/cleanup.ts),
 * in days: the owner sets it when creating a version (the serving version's setting applies);
 * 0 keeps superseded versions only for the grace period searches may still need.
 */
export const DEFAULT_RETENTION_DAYS = 7;
export const MAX_RETENTION_DAYS = 365;
