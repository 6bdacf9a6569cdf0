/**
 * Homomorphic-encryption contract of the two-server identification scheme (CS1, CS2).
 *
 * Roles and what each holds (all material is versioned bytes with a 4-byte magic):
 * - Provider (`HeProvider`): generates the key, encrypts integer vectors (templates and the
 *   reference points O_i) into fixed-size RECORDS, exports the other roles' material.
 * - Client (`HeClient`, from public material): encrypts a query vector.
 * - CS1 (`HeEvaluator`, from evaluation material, NEVER the secret): given an encrypted query
 *   and records read by byte ranges, produces ONE batch of encrypted, blinded squared distances
 *   per stage. The protocol layer chooses the blinding (a, b); the backend applies it and
 *   shuffles the batch.
 * - CS2 (`HeDecryptor`, from secret material): decrypts a batch to blinded values.
 *
 * Units. Vectors are integers (real embeddings x 10^3, rounded) with |x_j| <= maxAbs. CS2
 * returns, for every value of a batch, y = a * dist2 + b, where dist2 is the exact integer
 * squared Euclidean distance sum_j (q_j - t_j)^2 and (a, b) the batch's blinding, a in
 * [1, 2^aBits). Two value spaces (HeDescriptor.valueModulus):
 * - she (valueModulus 0): y is the exact integer; b in [0, 2^bBits).
 * - bfv (valueModulus = the plain modulus t): y is reduced mod t and b may be any residue in
 *   [0, t); with b uniform mod t every value CS2 sees is uniform, whatever the distance.
 * `unblind` (lib/he/blinding) inverts both exactly, because a_max * dist2_max + b_max < t.
 *
 * Records. A record holds `vectorsPerRecord` vectors (1 for she, a SIMD block count for bfv)
 * and is exactly `recordBytes` long, so vector i lives in record floor(i / vectorsPerRecord)
 * at byte offset recordIndex * recordBytes of the object that stores them in order. A run of
 * records read with one byte-range request is the concatenation of whole records. A vector's
 * SLOT in a request is its position over the request's records taken in order:
 * (record ordinal in the request) * vectorsPerRecord + (position in its record). The last
 * record of a set is padded with zero vectors; never request the padding slots.
 *
 * Parameters are validated up front: a key is only generated when the worst case
 * a_max * dist2_max + b_max, and the noise of computing it, fit the scheme (L/2 and p for she,
 * the plaintext modulus t and the noise budget for bfv); otherwise InvalidParametersError names
 * the failing bound.
 */
import type { VectorSet } from '../linalg/vectors';

export type HeBackendName = 'she' | 'bfv';

/** What every backend needs to size itself: the vectors and the blinding range. */
export interface HeVectorBounds {
  /** Dimension d of every vector (512 for FaceNet embeddings). */
  readonly d: number;
  /** Every coordinate is an integer with |x_j| <= maxAbs (999 for embeddings x 10^3 in (-1, 1)). */
  readonly maxAbs: number;
  /**
   * Blinding multiplier a is drawn from [1, 2^aBits). Default DEFAULT_A_BITS (4): with a fresh
   * offset per value a adds nothing to the hiding, and with a shared offset CS2 recovers it
   * from the gcd of a few differences, so every bit of a only costs plaintext space.
   */
  readonly aBits?: number;
  /**
   * Blinding offset b is drawn from [0, 2^bBits) (exact backends). Default: she, the largest
   * bBits the message bound L/2 allows; bfv, 0, because bfv offsets are residues mod t anyway
   * (valueModulus) and a larger bBits only enlarges t.
   */
  readonly bBits?: number;
}

/** Bounds with the blinding sizes resolved (what a key is validated for). */
export interface HeResolvedBounds extends HeVectorBounds {
  readonly aBits: number;
  readonly bBits: number;
}

/** Paper's SHE: KeyGen(k0, k1, k2). */
export interface SheParameters extends HeVectorBounds {
  /** Bit length of each secret prime p, q (N has 2*k0 bits). */
  readonly k0: number;
  /** Message-space bits of inputs: |m| < 2^(k1 - 1). */
  readonly k1: number;
  /** Bit length of the secret L and of the encryption randomness r. */
  readonly k2: number;
  /** How many E(0) the provider publishes for client encryption (>= 2; default 2). */
  readonly publicZeros?: number;
}

/**
 * The RLWE backend (Microsoft SEAL through node-seal) with SIMD packing of whole vectors. Named
 * 'bfv' after the family; it runs SEAL's BGV by default (same ring, same security, ~10x cheaper
 * ciphertext multiplication in SEAL), BFV on request.
 */
export interface BfvParameters extends HeVectorBounds {
  /** SEAL scheme: 'bgv' (default, faster) or 'bfv'. */
  readonly scheme?: 'bgv' | 'bfv';
  /** Ring degree N = number of slots; vectorsPerRecord = floor(N / d). Default 8192. */
  readonly polyModulusDegree?: number;
  /** Bit size of the batching prime plain modulus t (<= 52). Default: smallest t > a_max*dist2_max + b_max. */
  readonly plainModulusBits?: number;
  /** Bit sizes of the coefficient-modulus primes (last = special prime). Default for N=8192: [60, 60, 60, 38]. */
  readonly coeffModulusBits?: readonly number[];
  /**
   * Relinearise CS1's squared distances before the output modulus switch. Relinearisation
   * removes the s^2 noise term, which lets the output drop to a lower level (N=8192: one
   * 60-bit prime, 2 polynomials: 1/3 of the bytes to CS2) at the cost of relinearisation keys
   * in CS1's evaluation material (~0.8 MB) and ~+3.5 ms CS1 time per record (measured 4.4 -> 7.8 ms). 'auto' (default):
   * key generation measures both and relinearises only if that gives fewer output bytes.
   */
  readonly relinearize?: boolean | 'auto';
}

export type HeParametersFor<N extends HeBackendName> = N extends 'she' ? SheParameters : BfvParameters;

/** How a key is made (createHeBackend). */
export interface HeBackendOptions {
  /**
   * Required to make a `she` key: the paper's scheme is broken (SHE_IS_INSECURE, ./backends).
   * Without it createHeBackend('she', ...) throws InvalidParametersError.
   */
  readonly allowInsecurePaperScheme?: boolean;
}

/** Public description of a key: the same on every role, carried in every material. */
export interface HeDescriptor {
  readonly backend: HeBackendName;
  /** Random identifier of the key (hex). Batches, queries and records name it to catch mix-ups. */
  readonly keyId: string;
  readonly d: number;
  readonly maxAbs: number;
  readonly aBits: number;
  readonly bBits: number;
  /**
   * 0 when CS2's values are exact integers (she); otherwise CS2's values are reduced modulo
   * this number (bfv: the plain modulus t, < 2^52) and offsets b may be any residue below it.
   */
  readonly valueModulus: number;
  /** Vectors per record (1 for she). */
  readonly vectorsPerRecord: number;
  /** Exact byte length of every record. */
  readonly recordBytes: number;
  /** Exact byte length of an encrypted query (HeClient.encryptQuery output). */
  readonly queryBytes: number;
  /** d * (2 * maxAbs)^2: the largest squared distance. */
  readonly dist2Max: number;
}

/**
 * The monotone map y = a * x + b applied by CS1 (fresh per query stage). A batch has ONE
 * multiplier a; the offset b is either shared by the batch or drawn per value (see
 * DistanceRequest.blinding): fresh uniform offsets hide each distance from CS2 (perfectly mod t
 * for bfv; up to a statistical distance a_max * dist2_max / 2^bBits for she, see
 * blindingLeakage), a shared one lets CS2 see differences a*(x_i - x_j).
 */
export interface Blinding {
  /** a in [1, 2^aBits). */
  readonly a: bigint;
  /** b in [0, 2^bBits), or in [0, valueModulus) when the descriptor has one. */
  readonly b: bigint;
}

/** Resources (WASM memory for bfv) are released by dispose(); using a disposed object throws. */
export interface Disposable {
  dispose(): void;
}

export interface HeProvider extends Disposable {
  readonly descriptor: HeDescriptor;
  /** ceil(n / vectorsPerRecord). */
  recordCount(n: number): number;
  /**
   * Encrypts record `recordIndex` of `vectors`: vectors [r*vpr, min(n, (r+1)*vpr)), zero-padded,
   * into exactly `recordBytes` bytes. Throws InvalidInputError for non-integer or out-of-range
   * coordinates, DimensionMismatchError when vectors.d !== d.
   */
  encryptRecord(vectors: VectorSet, recordIndex: number): Uint8Array;
  /** All records of `vectors`, concatenated (recordCount(n) * recordBytes bytes). */
  encryptRecords(vectors: VectorSet): Uint8Array;
  /** For clients: everything to encrypt a query (she: N, E(1), E(0)s; bfv: public key). */
  exportPublic(): Uint8Array;
  /** For CS1: everything to evaluate distances, never the secret (she: N; bfv: params, relin keys). */
  exportEvaluation(): Uint8Array;
  /** For CS2: the secret key (she: p, L; bfv: secret key). */
  exportSecret(): Uint8Array;
  /** For the provider itself (enrollment later): the whole key. Keep it as secret as exportSecret. */
  exportProviderKey(): Uint8Array;
}

export interface HeClient extends Disposable {
  readonly descriptor: HeDescriptor;
  /** Encrypts one query vector (d integers, |q_j| <= maxAbs) into versioned bytes for CS1. */
  encryptQuery(query: ArrayLike<number>): Uint8Array;
}

/** A decoded encrypted query on CS1, reusable across the stages of one identification. */
export interface EncryptedQuery extends Disposable {
  readonly keyId: string;
}

export interface DistanceRequest {
  /** Byte-range reads: each entry is one or more whole records (length a multiple of recordBytes). */
  readonly records: readonly Uint8Array[];
  /** Distinct slots to evaluate (see the header comment); at least one. */
  readonly slots: readonly number[];
  /**
   * One blinding for every value of this batch, or one per entry of `slots` (same order). All
   * entries of an array must share the same a (InvalidInputError otherwise); their b may differ.
   */
  readonly blinding: Blinding | readonly Blinding[];
}

export interface DistanceBatch {
  /** What CS1 sends to CS2 (versioned bytes; names the key id). */
  readonly bytes: Uint8Array;
  /**
   * valueSlot[i] is the requested slot whose blinded squared distance is CS2's i-th returned
   * value, or -1 for a filler value that CS1 ignores (bfv blocks that were not requested; they
   * decrypt to uniformly random values). Values are shuffled: the order carries no position.
   */
  readonly valueSlot: Int32Array;
}

export interface HeEvaluator extends Disposable {
  readonly descriptor: HeDescriptor;
  /** Decodes a client's query bytes (MalformedDataError / InvalidInputError on mismatch). */
  openQuery(bytes: Uint8Array): EncryptedQuery;
  /**
   * Computes E(a * ||q - v||^2 + b) for every requested slot, shuffled (secureRandom), as ONE
   * batch. Validates record sizes and the blinding range (InvalidInputError). Records are
   * checked to belong to this key (InvalidInputError) and to be well formed (MalformedDataError).
   */
  distanceBatch(query: EncryptedQuery, request: DistanceRequest): DistanceBatch;
}

export interface HeDecryptor extends Disposable {
  readonly descriptor: HeDescriptor;
  /**
   * Decrypts a batch: one value per entry of the batch's valueSlot, y = a * dist2 + b for the
   * requested ones. MalformedDataError on corrupted bytes, DecryptionError when the batch was
   * made for another key.
   */
  decryptBatch(bytes: Uint8Array): bigint[];
}
