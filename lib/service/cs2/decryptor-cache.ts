/**
 * CS2's loaded HE decryptors by key id, kept across warm invocations: loading means reading the
 * secret (Secrets Manager or a 0600 file) and, for bfv, building a SEAL context, which costs far
 * more than decrypting one batch. A failed load is not cached (the next call tries again, so a
 * key imported after a failure is picked up at once). At most `maxKeys` decryptors are kept; the
 * least recently used one is disposed once no decryption holds it (a lease).
 */
import { SETTINGS } from '../../config/settings';
import { BlindsightError } from '../../core/errors';
import { LoadingCache } from '../../core/loading-cache';
import type { Lease } from '../../core/loading-cache';
import { loadHeDecryptor } from '../../he/decryptor';
import type { HeDecryptor } from '../../he/types';
import type { SecretStore } from '../../storage/types';

export class DecryptorCache {
  private readonly decryptors: LoadingCache<string, HeDecryptor>;
  /** Loads from the secret store (for logs and tests). */
  loads = 0;

  constructor(
    private readonly secrets: SecretStore,
    maxKeys: number = SETTINGS.cs2MaxKeys.default,
  ) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('DecryptorCache: maxKeys must be a positive integer');
    this.decryptors = new LoadingCache({ maxSize: maxKeys, dispose: (decryptor) => decryptor.dispose() });
  }

  /** Decryptors kept. */
  get size(): number {
    return this.decryptors.size;
  }

  /** True if a decryptor for keyId is loaded or loading. */
  has(keyId: string): boolean {
    return this.decryptors.has(keyId);
  }

  /** The key's decryptor, held until the lease is released. */
  acquire(keyId: string): Promise<Lease<HeDecryptor>> {
    return this.decryptors.acquire(keyId, () => this.load(keyId));
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

  /** Disposes every loaded decryptor once released (tests, shutdown). */
  clear(): void {
    this.decryptors.clear();
  }
}
