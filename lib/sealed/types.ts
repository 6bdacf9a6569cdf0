/**
 * Types of the sealed index: the owner partitions the feature vectors into leaves and seals the
 * routing data (leaf centroids) and every leaf (vectors and image ids) with AES-256-GCM under an
 * index key; the cloud stores and hands out opaque, equally sized blobs; the user's client picks
 * leaves, decrypts and ranks. The cloud never sees a vector, a query, a score or an order.
 */
import type { SymmetricKey } from '../crypto/types';
import type { IndexName, OwnerId, VersionId } from '../core/ids';

/** The AES-256 key that seals an index; owners hand it to users in their grant. */
export type IndexKey = SymmetricKey;

export type SealedQuantisation = 'float32' | 'float16' | 'int8';

/** Per-dimension int8 parameters: x_j ~ offset_j + scale_j * code_j. */
export interface QuantisationParams {
  readonly offset: Float32Array;
  readonly scale: Float32Array;
}

/**
 * What the associated data of every sealed part binds besides the part's own number: a part
 * moved to another owner, index or version fails to decrypt.
 */
export interface SealedBinding {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  /** The index version CS1 named at create-version (the owner seals after creating it). */
  readonly version: VersionId;
}

/**
 * The public header of a sealed index (in the clear at the start of the routing part, and
 * authenticated as associated data of every part): all the cloud needs to hand out leaves.
 */
export interface SealedLayout {
  /** Key id of the index key (public, like an image key's id). */
  readonly keyId: string;
  readonly leafCount: number;
  /** Stored bytes of every leaf (nonce, ciphertext, tag): one size for all. */
  readonly leafBytes: number;
  /** L: leaves every query asks for, real and decoy together. */
  readonly leavesPerQuery: number;
}

/** The sealed routing data, decrypted: everything a client needs to choose and rank leaves. */
export interface SealedRouting {
  readonly layout: SealedLayout;
  readonly binding: SealedBinding;
  readonly d: number;
  readonly quantisation: SealedQuantisation;
  readonly imageCount: number;
  /** Most images a leaf holds (every leaf is padded to this many). */
  readonly leafCapacity: number;
  /** R: leaves a query reads for real by default, chosen by the owner for a target recall. */
  readonly realLeaves: number;
  /** The recall@10 the owner measured for R at build time (held-out sample). */
  readonly recallEstimate: number;
  /** Leaf centroids, leafCount rows of d. */
  readonly centroids: Float32Array;
  /** Images in each leaf. */
  readonly leafSizes: Uint32Array;
  /** int8 only. */
  readonly params?: QuantisationParams;
}

/** Decoded vectors of one leaf: float rows, or int8 codes with the index's parameters. */
export type DecodedRows =
  | { readonly kind: 'float'; readonly values: Float32Array }
  | { readonly kind: 'int8'; readonly codes: Int8Array; readonly params: QuantisationParams };

/** One leaf, decrypted. */
export interface SealedLeaf {
  readonly leaf: number;
  readonly ids: readonly string[];
  readonly rows: DecodedRows;
}

/** The leaves one query asks for. */
export interface LeafRequest {
  /** All L leaf numbers, ascending (the order says nothing about which are real). */
  readonly leaves: readonly number[];
  /** The real ones among them, nearest centroid first. Never sent anywhere. */
  readonly real: readonly number[];
}

export interface SealedHit {
  readonly imageId: string;
  /** Squared Euclidean distance from the query to the stored vector. */
  readonly distance: number;
}
