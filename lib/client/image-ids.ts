/**
 * The image id CS1 sees for a file: a keyed hash of its relative path (the key derived from the
 * image key), so ids reveal nothing about file names, and the same file keeps its id when the
 * folder is indexed again.
 */
import { base32 } from '../codec/base32';
import { hmacSha256 } from '../crypto/digest';
import type { ImageKey } from '../crypto/types';
import { parseImageId } from '../core/ids';
import type { ImageId } from '../core/ids';

/**
 * 18 base32 characters: 90 bits (a collision among a million images has probability ~1e-15).
 * Short ids also keep CS1's image-directory shard entries within the writer's size estimate.
 */
const IMAGE_ID_LENGTH = 18;
const encoder = new TextEncoder();

export async function imageIdOf(imageKey: ImageKey, relativePath: string): Promise<ImageId> {
  const digest = await hmacSha256(imageKey.raw, encoder.encode(`blindsight-image-id/v1\0${relativePath}`));
  return parseImageId(base32(digest).slice(0, IMAGE_ID_LENGTH));
}
