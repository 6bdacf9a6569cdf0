/**
 * The she CS1 role (evaluation material: N only): a * sum_j (E(q_j) - E(t_j))^2 + b mod N per
 * requested vector, one ciphertext per value, the batch shuffled per value.
 */
import { BinaryReader } from '../../codec/binary';
import { InvalidInputError } from '../../core/errors';
import { shuffleInPlace } from '../../core/random';
import { resolveBatchBlinding } from '../blinding';
import { batchWriter } from '../formats';
import { Lifecycle } from '../lifecycle';
import { splitRequest } from '../records';
import type { DistanceBatch, DistanceRequest, EncryptedQuery, HeDescriptor, HeEvaluator } from '../types';
import { bigIntToFixedBytes, MAGIC, readMaterialHeader, readVectorCiphertexts, VERSION } from './formats';
import type { SheLayout } from './formats';
import { mod } from './scheme';

class SheEncryptedQuery extends Lifecycle implements EncryptedQuery {
  constructor(
    readonly keyId: string,
    readonly ciphertexts: readonly bigint[],
  ) {
    super();
  }

  get values(): readonly bigint[] {
    this.live();
    return this.ciphertexts;
  }

  dispose(): void {
    this.markDisposed();
  }
}

class SheEvaluator extends Lifecycle implements HeEvaluator {
  readonly descriptor: HeDescriptor;

  constructor(private readonly layout: SheLayout) {
    super();
    this.descriptor = layout.descriptor;
  }

  openQuery(bytes: Uint8Array): EncryptedQuery {
    this.live();
    const cts = readVectorCiphertexts(bytes, MAGIC.query, 'SHE encrypted query', this.layout);
    return new SheEncryptedQuery(this.layout.keyId, cts);
  }

  distanceBatch(query: EncryptedQuery, request: DistanceRequest): DistanceBatch {
    this.live();
    if (!(query instanceof SheEncryptedQuery) || query.keyId !== this.layout.keyId) {
      throw new InvalidInputError('distance batch: the query was not opened by this evaluator');
    }
    const q = query.values;
    const { records, wanted } = splitRequest(request, this.descriptor.recordBytes, 1);
    const { a, b } = resolveBatchBlinding(request.blinding, request.slots.length, this.descriptor);
    const offsetOfSlot = new Map<number, bigint>();
    request.slots.forEach((slot, k) => offsetOfSlot.set(slot, b[k]));
    const N = this.layout.N;
    const items: { slot: number; c: bigint }[] = [];
    for (let r = 0; r < records.length; r++) {
      if (wanted[r][0] < 0) continue;
      const t = readVectorCiphertexts(records[r].bytes, MAGIC.record, 'SHE record', this.layout);
      // sum_j (E(q_j) - E(t_j))^2 without reducing each term: one reduction per vector. The
      // difference's noise integer is X_q - X_t; its square is positive, so decryption sees
      // a * sum (X_q - X_t)^2 + b, which the parameter check keeps below p.
      let acc = 0n;
      for (let j = 0; j < q.length; j++) {
        const diff = q[j] - t[j];
        acc += diff * diff;
      }
      const slot = wanted[r][0];
      items.push({ slot, c: mod(a * (acc % N) + (offsetOfSlot.get(slot) as bigint), N) });
    }
    shuffleInPlace(items);
    const writer = batchWriter(MAGIC.batch, VERSION, this.layout.keyId, items.length, this.layout.ctBytes);
    for (const item of items) writer.bytes(bigIntToFixedBytes(item.c, this.layout.ctBytes));
    return { bytes: writer.finish(), valueSlot: Int32Array.from(items, (item) => item.slot) };
  }

  dispose(): void {
    this.markDisposed();
  }
}

export function loadSheEvaluator(bytes: Uint8Array): HeEvaluator {
  const reader = new BinaryReader(bytes, 'SHE evaluation material');
  const layout = readMaterialHeader(reader, MAGIC.evaluation);
  reader.end();
  return new SheEvaluator(layout);
}
