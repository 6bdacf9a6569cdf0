/** The bfv client role: encrypts a query, replicated in every block, with the public key. */
import type { Encryptor } from 'node-seal/implementation/encryptor';
import type { PlainText } from 'node-seal/implementation/plain-text';
import type { PublicKey } from 'node-seal/implementation/public-key';
import { BinaryReader } from '../../codec/binary';
import { assertQueryVector } from '../inputs';
import { Lifecycle } from '../lifecycle';
import type { HeClient, HeDescriptor } from '../types';
import { descriptorOf, MAGIC, readMaterialHeader, writeKeyedCiphertext } from './formats';
import type { BfvLayout } from './formats';
import { loadKey, withContext } from './keys';
import type { CipherText, SealContext } from './seal';
import { packQuery } from './slots';

class BfvClient extends Lifecycle implements HeClient {
  readonly descriptor: HeDescriptor;
  private readonly encryptor: Encryptor;

  constructor(
    private readonly ctx: SealContext,
    private readonly layout: BfvLayout,
    private readonly publicKey: PublicKey,
  ) {
    super();
    this.descriptor = descriptorOf(layout);
    this.encryptor = ctx.seal.Encryptor(ctx.context, publicKey);
  }

  encryptQuery(query: ArrayLike<number>): Uint8Array {
    this.live();
    const { d, maxAbs } = this.layout.params;
    assertQueryVector(query, d, maxAbs);
    const plain = this.ctx.encoder.encode(packQuery(query, this.ctx.slots, d, this.descriptor.vectorsPerRecord)) as PlainText;
    const ct = this.encryptor.encrypt(plain) as CipherText;
    const payload = ct.saveArray(this.ctx.seal.ComprModeType.none);
    ct.delete();
    plain.delete();
    if (payload.length !== this.layout.queryPayloadBytes) {
      throw new Error(`bfv query serialised to ${payload.length} bytes, expected ${this.layout.queryPayloadBytes}`);
    }
    return writeKeyedCiphertext(MAGIC.query, this.layout.keyId, payload);
  }

  dispose(): void {
    if (!this.markDisposed()) return;
    this.encryptor.delete();
    this.publicKey.delete();
    this.ctx.dispose();
  }
}

export async function loadBfvClient(bytes: Uint8Array): Promise<HeClient> {
  const what = 'bfv public material';
  const reader = new BinaryReader(bytes, what);
  const layout = readMaterialHeader(reader, MAGIC.public);
  const publicBytes = reader.blob('public key');
  reader.end();
  return withContext(layout, what, (ctx) => new BfvClient(ctx, layout, loadKey(ctx, ctx.seal.PublicKey(), publicBytes, what)));
}
