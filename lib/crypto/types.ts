/** Types of the symmetric encryption: image envelopes (the paper's k_ie) and sealed indexes. */

/** An AES-256-GCM key and its public identifier. */
export interface SymmetricKey {
  /** Identifies the key in headers (random lowercase hex, not secret). */
  readonly keyId: string;
  /** The 32 raw key bytes (secret). */
  readonly raw: Uint8Array;
}

/** The image key k_ie (sections 5.3.2 and 5.3.6): encrypts every image envelope. */
export type ImageKey = SymmetricKey;

/** What can be read from an image envelope without decrypting it. */
export interface ImageEnvelopeHeader {
  readonly version: number;
  /** Key id of the image key the envelope was encrypted under. */
  readonly keyId: string;
  /** The 96-bit GCM nonce. */
  readonly nonce: Uint8Array;
  /** Bytes of ciphertext plus the 16-byte tag that follow the header. */
  readonly ciphertextLength: number;
}
