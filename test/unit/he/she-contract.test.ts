import { createHeBackend, loadHeDecryptor, loadHeEvaluator } from '../../../lib/he/index';
import { loadHeClient } from '../../../lib/he/client';
import type { SheParameters } from '../../../lib/he/index';
import { describeHeBackendContract } from './support/contract';

// Small but real: 512-bit primes, d = 16, embeddings x 10^3.
const params: SheParameters = { k0: 512, k1: 24, k2: 60, d: 16, maxAbs: 1000, aBits: 16, bBits: 32 };

describeHeBackendContract('she', async () => {
  const provider = await createHeBackend('she', params, { allowInsecurePaperScheme: true });
  const other = await createHeBackend('she', params, { allowInsecurePaperScheme: true });
  return {
    provider,
    client: await loadHeClient(provider.exportPublic()),
    evaluator: await loadHeEvaluator(provider.exportEvaluation()),
    decryptor: await loadHeDecryptor(provider.exportSecret()),
    other,
    otherDecryptor: await loadHeDecryptor(other.exportSecret()),
  };
});
