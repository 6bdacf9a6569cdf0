import { createHeBackend, loadHeClient, loadHeDecryptor, loadHeEvaluator } from '../../../lib/he/index';
import type { BfvParameters } from '../../../lib/he/index';
import { describeHeBackendContract } from './support/contract';

// Production shape: d = 512 in N = 8192 slots (16 vectors per record), BGV.
const params: BfvParameters = { d: 512, maxAbs: 1000, aBits: 16, bBits: 32 };

describeHeBackendContract('bfv', async () => {
  const provider = await createHeBackend('bfv', params);
  const other = await createHeBackend('bfv', params);
  return {
    provider,
    client: await loadHeClient(provider.exportPublic()),
    evaluator: await loadHeEvaluator(provider.exportEvaluation()),
    decryptor: await loadHeDecryptor(provider.exportSecret()),
    other,
    otherDecryptor: await loadHeDecryptor(other.exportSecret()),
  };
});
