/** The she CS2 role (secret material: p and L): Dec of every value of a batch (./scheme). */
import { BinaryReader } from '../../codec/binary';
import { openBatch } from '../formats';
import { Lifecycle } from '../lifecycle';
import type { HeDecryptor, HeDescriptor } from '../types';
import { MAGIC, readCiphertexts, readMaterialHeader, readSecretParts, VERSION } from './formats';
import type { SheLayout } from './formats';
import { sheDecrypt } from './scheme';

class SheDecryptor extends Lifecycle implements HeDecryptor {
  readonly descriptor: HeDescriptor;

  constructor(
    private readonly layout: SheLayout,
    private readonly secret: { p: bigint; L: bigint },
  ) {
    super();
    this.descriptor = layout.descriptor;
  }

  decryptBatch(bytes: Uint8Array): bigint[] {
    this.live();
    // The key id is checked before the range checks (see readVectorCiphertexts).
    const { reader, count } = openBatch(bytes, MAGIC.batch, VERSION, 'SHE distance batch', this.layout.ctBytes, this.layout.keyId);
    const cts = readCiphertexts(reader, count, this.layout, 'ciphertext');
    reader.end();
    return cts.map((c) => sheDecrypt(this.secret, c));
  }

  dispose(): void {
    this.markDisposed();
  }
}

export function loadSheDecryptor(bytes: Uint8Array): HeDecryptor {
  const reader = new BinaryReader(bytes, 'SHE secret material');
  const layout = readMaterialHeader(reader, MAGIC.secret);
  const secret = readSecretParts(reader, layout);
  reader.end();
  return new SheDecryptor(layout, secret);
}
