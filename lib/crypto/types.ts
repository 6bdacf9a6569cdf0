/** Types of the symmetric image encryption (the paper's k_ie, sections 5.3.2 and 5.3.6). */

/** An AES-256-GCM image key and its public identifier. */
export interface ImageKey {
  /** Identifies the key in envelope headers (random lowercase hex, not secret). */
  readonly keyId: string;
  /** The 32 raw key bytes (secret). */
  readonly raw: Uint8Array;
}

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
