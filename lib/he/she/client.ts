/** The she client role: encrypts a query from the public E(1) and E(0)s (./scheme). */
import { BinaryReader } from '../../codec/binary';
import { assertQueryVector } from '../inputs';
import { Lifecycle } from '../lifecycle';
import type { HeClient, HeDescriptor } from '../types';
import { MAGIC, readMaterialHeader, readPublicCiphertexts, writeVectorCiphertexts } from './formats';
import type { SheLayout } from './formats';
import { sheEncryptPublic } from './scheme';
import type { SheEncryptionPublic } from './scheme';

class SheClient extends Lifecycle implements HeClient {
  readonly descriptor: HeDescriptor;

  constructor(
    private readonly layout: SheLayout,
    private readonly pub: SheEncryptionPublic,
  ) {
    super();
    this.descriptor = layout.descriptor;
  }

  encryptQuery(query: ArrayLike<number>): Uint8Array {
    this.live();
    const { d, maxAbs } = this.layout.params;
    assertQueryVector(query, d, maxAbs);
    const cts = new Array<bigint>(d);
    for (let j = 0; j < d; j++) cts[j] = sheEncryptPublic(this.pub, BigInt(query[j]));
    return writeVectorCiphertexts(MAGIC.query, this.layout, cts);
  }

  dispose(): void {
    this.markDisposed();
  }
}

export function loadSheClient(bytes: Uint8Array): HeClient {
  const reader = new BinaryReader(bytes, 'SHE public material');
  const layout = readMaterialHeader(reader, MAGIC.public);
  const pub = readPublicCiphertexts(reader, layout);
  reader.end();
  return new SheClient(layout, pub);
}
