/**
 * CS2's one operation: decrypt a batch CS1 sent (lib/twoserver/transport/decrypt-event.ts) to
 * its blinded values. CS2 sees only what the protocol shows it: values a * dist2 + b under a
 * secret, fresh blinding, in shuffled order, never which template or query they belong to.
 *
 * Order of checks: the event's shape, then (staged batches) the URL policy, the download and
 * the digest, and only then the secret key is touched. Errors are the typed errors of
 * lib/core/errors with messages safe to return to CS1; nothing here logs, and the outcome
 * carries only counts for the caller to log.
 */
import { PayloadTooLargeError } from '../../core/errors';
import type { HeBackendName } from '../../he/types';
import type { SecretStore } from '../../storage/types';
import { encodeValues, LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES, parseDecryptEvent } from '../../twoserver/transport/decrypt-event';
import type { Cs2DecryptResult } from '../../twoserver/transport/decrypt-event';
import { fetchStagedBatch } from './batch-fetch';
import type { Cs2ServiceConfig } from './config';
import { DecryptorCache } from './decryptor-cache';

/** Room left in the 6 MB response for the JSON around the values. */
const RESPONSE_MARGIN_BYTES = 64 * 1024;

export interface Cs2DecryptOutcome {
  readonly result: Cs2DecryptResult;
  /** For logs: key id and backend, value count, batch bytes, how the batch came, milliseconds. */
  readonly keyId: string;
  readonly backend: HeBackendName;
  readonly count: number;
  readonly batchBytes: number;
  readonly transfer: 'inline' | 'url';
  readonly fetchMs: number;
  readonly decryptMs: number;
  /** True when the decryptor was already in memory. */
  readonly warmKey: boolean;
}

export interface Cs2DecryptServiceOptions {
  readonly config: Cs2ServiceConfig;
  /** Injected fetch (tests). */
  readonly fetch?: typeof fetch;
}

/** Bytes of {"values":["..",..]} for these values. */
function resultBytes(result: Cs2DecryptResult): number {
  let bytes = 13;
  for (const value of result.values) bytes += value.length + 3;
  return bytes;
}

export class Cs2DecryptService {
  readonly decryptors: DecryptorCache;
  private readonly config: Cs2ServiceConfig;
  private readonly fetchImpl?: typeof fetch;

  constructor(secrets: SecretStore, options: Cs2DecryptServiceOptions) {
    this.config = options.config;
    this.fetchImpl = options.fetch;
    this.decryptors = new DecryptorCache(secrets, options.config.maxCachedKeys);
  }

  async decrypt(event: unknown): Promise<Cs2DecryptOutcome> {
    const parsed = parseDecryptEvent(event, this.config.maxInlineBytes);
    const started = performance.now();
    const batch =
      parsed.kind === 'inline' ? parsed.batch : await fetchStagedBatch(parsed.batchUrl, parsed.batchSha256, this.config.fetch, this.fetchImpl);
    const fetched = performance.now();
    const warmKey = this.decryptors.has(parsed.keyId);
    const decryptor = await this.decryptors.acquire(parsed.keyId);
    const decryptStarted = performance.now();
    // Read before the lease is given back: the decryptor may be disposed once released.
    const { backend } = decryptor.value.descriptor;
    let result: Cs2DecryptResult;
    try {
      result = encodeValues(decryptor.value.decryptBatch(batch));
    } finally {
      decryptor.release();
    }
    const decryptMs = performance.now() - decryptStarted;
    const bytes = resultBytes(result);
    if (bytes > LAMBDA_SYNC_PAYLOAD_LIMIT_BYTES - RESPONSE_MARGIN_BYTES) {
      throw new PayloadTooLargeError(
        `the batch decrypts to ${result.values.length} values (${bytes} bytes of JSON), more than one Lambda response can carry: send smaller batches`,
      );
    }
    return {
      result,
      keyId: parsed.keyId,
      backend,
      count: result.values.length,
      batchBytes: batch.length,
      transfer: parsed.kind,
      fetchMs: Math.round(fetched - started),
      decryptMs: Math.round(decryptMs),
      warmKey,
    };
  }
}
