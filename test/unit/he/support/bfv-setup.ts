/**
 * Contract setups for the bfv backend at several dimensions. Roles of one key (and keys of one
 * shape) share a SEAL context, so a setup costs two key generations and cheap role loads.
 */
import { createHeBackend, loadHeDecryptor, loadHeEvaluator } from '../../../../lib/he/index';
import { loadHeClient } from '../../../../lib/he/client';
import type { BfvParameters } from '../../../../lib/he/index';
import type { ContractSetup } from './contract';

export function bfvContractSetup(params: BfvParameters): () => Promise<ContractSetup> {
  return async () => {
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
  };
}
