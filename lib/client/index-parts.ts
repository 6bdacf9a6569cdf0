/**
 * The parts an owner uploads to publish an index version, per kind of index (the part names
 * and contents the service's kind handlers validate at publish).
 */
import { seiUploadParts } from '../service/cs1/sei-upload';
import {
  TWO_SERVER_EVALUATION_PART,
  TWO_SERVER_INDEX_PART,
  TWO_SERVER_PUBLIC_PART,
  TWO_SERVER_RECORDS_PART,
} from '../service/twoserver/metadata';
import type { EncryptedIndexTree } from '../sei/index-tree/types';
import { encodeCs1Index } from '../twoserver/protocol/cs1-index-codec';
import type { ProviderOutput } from '../twoserver/protocol/provider';

/** SEI: the tree's skeleton and all leaf blocks back to back. */
export function seiIndexParts(tree: EncryptedIndexTree): Record<string, Uint8Array> {
  return { ...seiUploadParts(tree).parts };
}

/**
 * Two-server: the encrypted records, CS1's index, CS1's evaluation material and the clients'
 * public material. Never the HE secret: that goes to CS2's operator, not to CS1.
 */
export function twoServerIndexParts(output: Pick<ProviderOutput, 'records' | 'cs1Index' | 'evaluationMaterial' | 'publicMaterial'>): Record<string, Uint8Array> {
  return {
    [TWO_SERVER_RECORDS_PART]: output.records,
    [TWO_SERVER_INDEX_PART]: encodeCs1Index(output.cs1Index),
    [TWO_SERVER_EVALUATION_PART]: output.evaluationMaterial,
    [TWO_SERVER_PUBLIC_PART]: output.publicMaterial,
  };
}
