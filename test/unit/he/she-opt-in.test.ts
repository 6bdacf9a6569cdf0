/**
 * The broken `she` backend is only made on explicit request: createHeBackend('she') without
 * allowInsecurePaperScheme throws and makes no key; with it, a key comes out as before.
 */
import { describe, expect, it } from 'vitest';
import { InvalidParametersError } from '../../../lib/core/errors';
import { createHeBackend } from '../../../lib/he';
import { SHE_IS_INSECURE } from '../../../lib/he/backends';
import type { SheParameters } from '../../../lib/he';

const params: SheParameters = { k0: 256, k1: 12, k2: 32, d: 4, maxAbs: 100, aBits: 4, bBits: 8 };

describe('she needs an explicit opt-in', () => {
  it('refuses to make a she key without allowInsecurePaperScheme, saying why and what to do', async () => {
    for (const options of [undefined, {}, { allowInsecurePaperScheme: false }]) {
      const made = createHeBackend('she', params, options);
      await expect(made).rejects.toThrow(InvalidParametersError);
      await expect(made).rejects.toThrow(SHE_IS_INSECURE);
      await expect(made).rejects.toThrow(/Use 'bfv'; .*\{ allowInsecurePaperScheme: true \}/);
    }
  });

  it('makes a she key with allowInsecurePaperScheme: true', async () => {
    const provider = await createHeBackend('she', params, { allowInsecurePaperScheme: true });
    expect(provider.descriptor.backend).toBe('she');
    provider.dispose();
  });
});
