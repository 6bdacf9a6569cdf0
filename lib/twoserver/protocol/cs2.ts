/**
 * CS2 role: holds the HE secret and decrypts the batches CS1 sends. Every value it sees is
 * blinded by CS1 (a * dist2 + b with secret a, b) and the batch is shuffled, so it learns
 * neither which template a value belongs to nor (with per-value offsets) the distance itself.
 */
import { loadHeDecryptor } from '../../he/decryptor';
import type { HeDecryptor } from '../../he/types';

export class Cs2Server {
  /** Batches and values decrypted so far. */
  batches = 0;
  values = 0;

  constructor(private readonly decryptor: HeDecryptor) {}

  /** From the provider's secret material (exportSecret bytes). */
  static async load(secretMaterial: Uint8Array): Promise<Cs2Server> {
    return new Cs2Server(await loadHeDecryptor(secretMaterial));
  }

  get keyId(): string {
    return this.decryptor.descriptor.keyId;
  }

  /** Decrypts one batch (MalformedDataError on corrupted bytes, DecryptionError for another key). */
  decryptBatch(batch: Uint8Array): bigint[] {
    const values = this.decryptor.decryptBatch(batch);
    this.batches++;
    this.values += values.length;
    return values;
  }

  dispose(): void {
    this.decryptor.dispose();
  }
}
