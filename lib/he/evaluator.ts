/** The CS1 role of either backend, from exportEvaluation() bytes. */
import { backendOfMaterial } from './backends';
import { loadBfvEvaluator } from './bfv/evaluator';
import { loadSheEvaluator } from './she/evaluator';
import type { HeEvaluator } from './types';

export async function loadHeEvaluator(bytes: Uint8Array): Promise<HeEvaluator> {
  return backendOfMaterial(bytes, 'HE evaluation material') === 'she' ? loadSheEvaluator(bytes) : loadBfvEvaluator(bytes);
}
