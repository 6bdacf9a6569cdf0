/**
 * Client role (paper section 5.3): encrypts an identification request from the provider's
 * public HE material. The client never talks to CS2 and holds no secret.
 */
import { InvalidInputError } from '../../core/errors';
import { loadHeClient } from '../../he/client';
import type { HeClient } from '../../he/types';
import { assertDimension } from '../../linalg/vectors';
import { DEFAULT_DECIMALS, quantizeVector } from '../quantize';

export class IdentificationClient {
  constructor(private readonly he: HeClient) {}

  /** From the provider's public material (exportPublic bytes). */
  static async load(publicMaterial: Uint8Array): Promise<IdentificationClient> {
    return new IdentificationClient(await loadHeClient(publicMaterial));
  }

  get dimension(): number {
    return this.he.descriptor.d;
  }

  /** Encrypts an integer template (|x_j| <= the key's maxAbs) into request bytes for CS1. */
  encryptRequest(template: ArrayLike<number>): Uint8Array {
    assertDimension(template, this.he.descriptor.d, 'identification request');
    for (let j = 0; j < template.length; j++) {
      if (!Number.isInteger(template[j]) || Math.abs(template[j]) > this.he.descriptor.maxAbs) {
        throw new InvalidInputError(
          `identification request: coordinate ${j} must be an integer in [-${this.he.descriptor.maxAbs}, ${this.he.descriptor.maxAbs}] (quantize the embedding)`,
        );
      }
    }
    return this.he.encryptQuery(template);
  }

  /** Quantizes a real embedding (x 10^decimals, rounded) and encrypts it. */
  encryptEmbedding(embedding: ArrayLike<number>, decimals = DEFAULT_DECIMALS): Uint8Array {
    return this.encryptRequest(quantizeVector(embedding, decimals));
  }

  dispose(): void {
    this.he.dispose();
  }
}
