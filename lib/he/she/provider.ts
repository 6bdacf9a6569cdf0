/**
 * The she provider role: the whole key (p, q, L and the public E(1), E(0)s); encrypts one
 * vector per record, d ciphertexts, with the secret key.
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import type { VectorSet } from '../../linalg/vectors';
import { assertIntegerCoordinate, assertVectorSet } from '../inputs';
import { Lifecycle } from '../lifecycle';
import { assertRecordIndex, encryptAllRecords, recordCountOf } from '../records';
import type { HeDescriptor, HeProvider, SheParameters } from '../types';
import {
  MAGIC,
  readFactoredSecret,
  readMaterialHeader,
  readPublicCiphertexts,
  writeMaterialHeader,
  writePublicCiphertexts,
  writeSecretParts,
  writeVectorCiphertexts,
} from './formats';
import type { SheLayout } from './formats';
import { generateSheKey } from './keygen';
import { sheEncrypt } from './scheme';
import type { SheEncryptionPublic, SheSecretKey } from './scheme';

class SheProvider extends Lifecycle implements HeProvider {
  readonly descriptor: HeDescriptor;

  constructor(
    private readonly layout: SheLayout,
    private readonly key: SheSecretKey,
    private readonly pub: SheEncryptionPublic,
  ) {
    super();
    this.descriptor = layout.descriptor;
  }

  recordCount(n: number): number {
    return recordCountOf(n, 1);
  }

  encryptRecord(vectors: VectorSet, recordIndex: number): Uint8Array {
    this.live();
    const { d, maxAbs } = this.layout.params;
    assertVectorSet(vectors, d);
    assertRecordIndex(vectors, recordIndex, 1);
    const cts = new Array<bigint>(d);
    const base = recordIndex * d;
    for (let j = 0; j < d; j++) {
      const v = vectors.data[base + j];
      assertIntegerCoordinate(v, maxAbs, `vectors[${recordIndex}][${j}]`);
      cts[j] = sheEncrypt(this.key, BigInt(v));
    }
    return writeVectorCiphertexts(MAGIC.record, this.layout, cts);
  }

  encryptRecords(vectors: VectorSet): Uint8Array {
    this.live();
    return encryptAllRecords(this, vectors);
  }

  exportPublic(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.public, this.layout);
    writePublicCiphertexts(writer, this.layout, this.pub);
    return writer.finish();
  }

  exportEvaluation(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.evaluation, this.layout);
    return writer.finish();
  }

  exportSecret(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.secret, this.layout);
    writeSecretParts(writer, this.layout, { p: this.key.p, L: this.key.L });
    return writer.finish();
  }

  exportProviderKey(): Uint8Array {
    this.live();
    const writer = new BinaryWriter();
    writeMaterialHeader(writer, MAGIC.provider, this.layout);
    writeSecretParts(writer, this.layout, this.key);
    writePublicCiphertexts(writer, this.layout, this.pub);
    return writer.finish();
  }

  dispose(): void {
    this.markDisposed();
  }
}

/** KeyGen with validated parameters; publishes E(1) and publicZeros E(0) for clients. */
export function createSheProvider(params: SheParameters): HeProvider {
  const { layout, key, pub } = generateSheKey(params);
  return new SheProvider(layout, key, pub);
}

export function loadSheProvider(bytes: Uint8Array): HeProvider {
  const reader = new BinaryReader(bytes, 'SHE provider key');
  const layout = readMaterialHeader(reader, MAGIC.provider);
  const { p, q, L } = readFactoredSecret(reader, layout);
  const pub = readPublicCiphertexts(reader, layout);
  reader.end();
  const { k0, k2 } = layout.params;
  return new SheProvider(layout, { p, q, L, N: layout.N, k0, k2 }, pub);
}
