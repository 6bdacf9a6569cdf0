/**
 * The parts an owner uploads to publish an index version, per kind of index (the part names
 * and contents the service's kind handlers validate at publish).
 */
import { seiUploadParts } from '../service/sei/sei-upload';
import { shardPartName, TWO_SERVER_EVALUATION_PART, TWO_SERVER_INDEX_PART, TWO_SERVER_PUBLIC_PART } from '../service/two-server/metadata';
import type { EncryptedIndexTree } from '../sei/index-tree/types';
import { decodeCs1Index, encodeCs1Index } from '../twoserver/protocol/cs1-index-codec';
import type { ProviderOutput } from '../twoserver/protocol/provider';

/** SEI: the tree's skeleton and all leaf blocks back to back. */
export function seiIndexParts(tree: EncryptedIndexTree): Record<string, Uint8Array> {
  return { ...seiUploadParts(tree).parts };
}

/**
 * Two-server: the encrypted records of every shard the version uploads (the shards it inherits
 * are named in CS1's index instead), CS1's index, CS1's evaluation material and the clients'
 * public material. Never the HE secret: that goes to CS2's operator, not to CS1.
 * `shards[s]` holds shard s's records, or undefined for an inherited shard.
 */
export function twoServerIndexParts(
  output: Pick<ProviderOutput, 'cs1Index' | 'evaluationMaterial' | 'publicMaterial'> & { readonly shards: readonly (Uint8Array | undefined)[] },
): Record<string, Uint8Array> {
  const records: Record<string, Uint8Array> = {};
  output.cs1Index.shards.forEach((shard, s) => {
    const bytes = output.shards[s];
    if ((shard.inherited === undefined) !== (bytes !== undefined)) {
      throw new Error(`shard ${s}: ${shard.inherited === undefined ? 'its records are missing' : 'is inherited but records were given'}`);
    }
    if (bytes !== undefined) records[shardPartName(s)] = bytes;
  });
  return {
    ...records,
    [TWO_SERVER_INDEX_PART]: encodeCs1Index(output.cs1Index),
    [TWO_SERVER_EVALUATION_PART]: output.evaluationMaterial,
    [TWO_SERVER_PUBLIC_PART]: output.publicMaterial,
  };
}

/**
 * The names of the parts a two-server build uploads, read from its CS1 index: one records part
 * per shard it does not inherit, then CS1's index and the two materials.
 */
export function twoServerPartNames(cs1IndexBytes: Uint8Array): string[] {
  const shards = decodeCs1Index(cs1IndexBytes).shards;
  const records = shards.flatMap((shard, s) => (shard.inherited === undefined ? [shardPartName(s)] : []));
  return [...records, TWO_SERVER_INDEX_PART, TWO_SERVER_EVALUATION_PART, TWO_SERVER_PUBLIC_PART];
}
