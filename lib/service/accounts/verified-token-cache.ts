/**
 * Tokens whose signature and claims this process has already verified, so that Ed25519
 * verification runs once per token instead of once per request.
 *
 * Why this is safe: everything a cached entry stands for is fixed by the token's bytes and the
 * owner's key, and the owner's key never changes (the owner id is the key's fingerprint). The
 * one check that depends on time, expiry, is repeated on every hit with the verifier's clock
 * tolerance; an expired entry is dropped and the token goes through full verification again,
 * which refuses it with the usual message. What can change, a user's status, is NOT cached:
 * the caller still reads the registry on every request, so a revocation applies at once.
 *
 * Entries are keyed by the SHA-256 of the token (the cache never holds a token), bounded in
 * number, least recently used evicted first.
 */
import { createHash } from 'node:crypto';
import type { VerifiedToken } from '../../auth/types';
import { LoadingCache } from '../../core/loading-cache';

export const DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES = 10_000;

interface Entry {
  readonly verified: VerifiedToken;
  /** Epoch milliseconds from which the verifier would call the token expired. */
  readonly expiredFromMs: number;
}

export class VerifiedTokenCache {
  private readonly entries: LoadingCache<string, Entry>;

  /**
   * @param clockToleranceSeconds the verifier's allowed clock skew: it accepts a token until
   *   exp + tolerance, and so does the cache.
   */
  constructor(
    private readonly clockToleranceSeconds: number,
    readonly maxEntries: number = DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new Error('maxEntries must be a non-negative integer');
    this.entries = new LoadingCache({ maxSize: maxEntries });
  }

  get size(): number {
    return this.entries.size;
  }

  /** The verified claims of a token seen before and not yet expired at `now`, else undefined. */
  get(token: string, now: Date): VerifiedToken | undefined {
    const key = digestOf(token);
    const entry = this.entries.peek(key);
    if (entry === undefined) return undefined;
    if (now.getTime() >= entry.expiredFromMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.verified;
  }

  /** Remembers a token that passed full verification. */
  remember(token: string, verified: VerifiedToken): void {
    // The verifier works in whole seconds: exp is expired once floor(now / 1 s) >= exp + tolerance.
    const expiredFromMs = verified.expiresAt.getTime() + this.clockToleranceSeconds * 1000;
    this.entries.set(digestOf(token), { verified, expiredFromMs });
  }

  clear(): void {
    this.entries.clear();
  }
}

function digestOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
