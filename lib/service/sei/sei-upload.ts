/**
 * The owner's side of publishing an SEI index: the two parts to upload (skeleton, and all leaf
 * blocks back to back) and the sizes to declare when creating the version.
 */
import { encodeIndexTreeParts } from '../../sei/index-tree/format';
import type { EncryptedIndexTree } from '../../sei/index-tree/types';
import { SEI_LEAVES_PART, SEI_SKELETON_PART } from './sei-index-kind';

export interface SeiUploadParts {
  readonly parts: { readonly [SEI_SKELETON_PART]: Uint8Array; readonly [SEI_LEAVES_PART]: Uint8Array };
  /** Part name -> byte length, the `parts` of the create-version request. */
  readonly sizes: Record<string, number>;
}

export function seiUploadParts(tree: EncryptedIndexTree): SeiUploadParts {
  const { skeleton, leaves } = encodeIndexTreeParts(tree);
  const joined = new Uint8Array(leaves.reduce((sum, block) => sum + block.length, 0));
  let at = 0;
  for (const block of leaves) {
    joined.set(block, at);
    at += block.length;
  }
  return {
    parts: { [SEI_SKELETON_PART]: skeleton, [SEI_LEAVES_PART]: joined },
    sizes: { [SEI_SKELETON_PART]: skeleton.length, [SEI_LEAVES_PART]: joined.length },
  };
}
