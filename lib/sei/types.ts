/**
 * Types of the SEI scheme (Similarity search for Encrypted Images). Notation follows the paper
 * and docs/sei-math.md: feature dimension d, encrypted vectors of 2d+2 entries, row
 * vectors, matrices row-major in Float64Arrays. Indices in code are 0-based.
 */

/** The owner's secret sk = {M, r, S, pi} plus the owner-held theta and X (GenKey). */
export interface OwnerSecret {
  /** Feature dimension d. */
  readonly d: number;
  /** Identifies this key in user keys, envelopes and indexes (random, not secret). */
  readonly keyId: string;
  /** Invertible (2d+2) x (2d+2) matrix M, row-major. */
  readonly M: Float64Array;
  /** M^-1, row-major (derived from M; cached because encryption uses it). */
  readonly Minv: Float64Array;
  /** r in R^(d+1). */
  readonly r: Float64Array;
  /** S in R^(d+1). */
  readonly S: Float64Array;
  /**
   * Permutation pi of the d+1 positions: entry k of (r[1..d] - 2f, r[d+1] + ||f||^2) moves to
   * slot pi[k] (0-based), as in docs/sei-math.md.
   */
  readonly pi: Uint32Array;
  /** theta > 0. */
  readonly theta: number;
  /** X in R^(d+1). */
  readonly X: Float64Array;
}

/** What the owner returns to one user in GenKey: Abar = A W^-1 and U. */
export interface UserKey {
  readonly d: number;
  /** Key id of the owner secret this key was issued from. */
  readonly ownerKeyId: string;
  /** (2d+2) x d, row-major. */
  readonly Abar: Float64Array;
  /** 2d+2 entries. */
  readonly U: Float64Array;
}

/** The user's own secret: the random invertible d x d matrix W sent to the owner in GenKey. */
export interface UserSecret {
  readonly d: number;
  /** d x d, row-major. */
  readonly W: Float64Array;
}

/** An encrypted index vector f' = fhat M^-1 (2d+2 entries). */
export type EncryptedVector = Float64Array;

/** A trapdoor t = gamma (fq W^T Abar^T + U) (2d+2 entries). Only comparable with itself. */
export type Trapdoor = Float64Array;

/**
 * Largest feature dimension the index formats and the API accept (guards allocations from
 * hostile input).
 */
export const MAX_FEATURE_DIMENSION = 4096;

/** Encrypted dimension m = 2d + 2. */
export function encryptedDimension(d: number): number {
  return 2 * d + 2;
}
