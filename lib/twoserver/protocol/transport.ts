/**
 * In-process {@link Cs2Transport}: calls a {@link Cs2Server} directly and records everything it
 * carries (each batch's bytes and CS2's answer), so tests can check what CS2 was shown and
 * benchmarks can count calls and bytes. A network transport has the same shape.
 */
import type { Cs2Server } from './cs2';
import type { Cs2Transport } from './types';

export interface CarriedExchange {
  /** Batch bytes CS1 sent. */
  readonly request: Uint8Array;
  /** Values CS2 returned (what CS2 saw after decryption). */
  readonly response: readonly bigint[];
}

export class InProcessCs2Transport implements Cs2Transport {
  readonly exchanges: CarriedExchange[] = [];
  bytesSent = 0;

  calls = 0;
  private readonly record: boolean;

  /** With `record: false` only calls and bytes are counted (long benchmarks). */
  constructor(
    private readonly cs2: Cs2Server,
    options: { record?: boolean } = {},
  ) {
    this.record = options.record ?? true;
  }

  async decryptBatch(batch: Uint8Array): Promise<bigint[]> {
    // A copy, as a network hop would make: CS1 cannot alter what CS2 already received.
    const request = batch.slice();
    const response = this.cs2.decryptBatch(request);
    this.calls++;
    this.bytesSent += request.length;
    if (this.record) this.exchanges.push({ request, response: [...response] });
    return response;
  }

  /** Forgets what was recorded and counted (between queries of a benchmark). */
  clear(): void {
    this.exchanges.length = 0;
    this.calls = 0;
    this.bytesSent = 0;
  }
}
