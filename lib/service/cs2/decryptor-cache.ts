/**
 * CS2's loaded HE decryptors by key id, kept across warm invocations: loading means reading the
 * secret (Secrets Manager or a 0600 file) and, for bfv, building a SEAL context, which costs far
 * more than decrypting one batch. A failed load is not cached (the next call tries again, so a
 * key imported after a failure is picked up at once). At most `maxKeys` decryptors are kept;
 * the least recently used one is disposed (decryption is synchronous, so no call can be using
 * it at that moment).
 */
import { SETTINGS } from '../../config/settings';
import { BlindsightError } from '../../core/errors';
import { loadHeDecryptor } from '../../he/decryptor';
import type { HeDecryptor } from '../../he/types';
import type { SecretStore } from '../../storage/types';

export class DecryptorCache {
  private readonly entries = new Map<string, Promise<HeDecryptor>>();
  /** Loads from the secret store (for logs and tests). */
  loads = 0;

  constructor(
    private readonly secrets: SecretStore,
    private readonly maxKeys: number = SETTINGS.cs2MaxKeys.default,
  ) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('DecryptorCache: maxKeys must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /** True if a decryptor for keyId is loaded or loading. */
  has(keyId: string): boolean {
    return this.entries.has(keyId);
  }

  async get(keyId: string): Promise<HeDecryptor> {
    let entry = this.entries.get(keyId);
    if (entry !== undefined) {
      // Most recently used last (Map keeps insertion order).
      this.entries.delete(keyId);
      this.entries.set(keyId, entry);
      return entry;
    }
    entry = this.load(keyId);
    this.entries.set(keyId, entry);
    entry.catch(() => {
      if (this.entries.get(keyId) === entry) this.entries.delete(keyId);
    });
    this.evict();
    return entry;
  }

  private async load(keyId: string): Promise<HeDecryptor> {
    this.loads++;
    const secret = await this.secrets.get(keyId);
    const decryptor = await loadHeDecryptor(secret);
    if (decryptor.descriptor.keyId !== keyId) {
      decryptor.dispose();
      throw new BlindsightError('INTERNAL', `the secret stored under key id "${keyId}" holds another key: re-import it with scripts/cs2-import-key.ts`);
    }
    return decryptor;
  }

  private evict(): void {
    while (this.entries.size > this.maxKeys) {
      const [oldest, entry] = this.entries.entries().next().value as [string, Promise<HeDecryptor>];
      this.entries.delete(oldest);
      entry.then((decryptor) => decryptor.dispose()).catch(() => undefined);
    }
  }

  /** Disposes every loaded decryptor (tests, shutdown). */
  clear(): void {
    for (const entry of this.entries.values()) entry.then((decryptor) => decryptor.dispose()).catch(() => undefined);
    this.entries.clear();
  }
}
