/**
 * Re-encoding the skeleton after an update. An update changes one leaf, so only the skeleton's
 * trailer changes: the update counters and the leaf directory (count, block length per leaf),
 * which the format ("BSIX" v1, lib/sei/index-tree/format.ts) puts last. The node vectors and
 * the structure before it are kept byte for byte (they are encrypted; the cloud cannot
 * re-encrypt them anyway).
 *
 * The layout assumption is checked both ways: the old trailer must read back as the decoded
 * skeleton's values before patching, and the patched bytes must decode to the new values.
 */
import { MalformedDataError } from '../../core/errors';
import { decodeIndexSkeleton } from '../../sei/index-tree/format';
import type { IndexSkeleton, LeafDirectoryEntry } from '../../sei/index-tree/format';
import type { EncryptedIndexTree } from '../../sei/index-tree/types';

type UpdateCounters = EncryptedIndexTree['updates'];

const COUNTER_BYTES = 16;
const DIRECTORY_ENTRY_BYTES = 8;

function trailerOffset(bytes: Uint8Array, leafCount: number): number {
  const offset = bytes.length - COUNTER_BYTES - leafCount * DIRECTORY_ENTRY_BYTES;
  if (offset < 0) throw new MalformedDataError('SEI skeleton', 'shorter than its trailer');
  return offset;
}

function writeTrailer(view: DataView, at: number, updates: UpdateCounters, directory: readonly LeafDirectoryEntry[]): void {
  const values = [updates.added, updates.deleted, updates.builtSize, updates.builtMaxLeaf];
  for (const entry of directory) values.push(entry.count, entry.byteLength);
  values.forEach((value, i) => view.setUint32(at + i * 4, value, true));
}

function trailerMatches(view: DataView, at: number, updates: UpdateCounters, directory: readonly LeafDirectoryEntry[]): boolean {
  const values = [updates.added, updates.deleted, updates.builtSize, updates.builtMaxLeaf];
  for (const entry of directory) values.push(entry.count, entry.byteLength);
  return values.every((value, i) => view.getUint32(at + i * 4, true) === value);
}

/**
 * The skeleton bytes with new update counters and leaf directory, and the decoded result.
 * The directory must keep the number of leaves (updates never add or remove leaves).
 */
export function rewriteSkeletonTrailer(
  bytes: Uint8Array,
  skeleton: IndexSkeleton,
  updates: UpdateCounters,
  directory: readonly LeafDirectoryEntry[],
): { bytes: Uint8Array; skeleton: IndexSkeleton } {
  if (directory.length !== skeleton.leafDirectory.length) {
    throw new Error(`an update must keep the ${skeleton.leafDirectory.length} leaves of the skeleton`);
  }
  const at = trailerOffset(bytes, directory.length);
  if (!trailerMatches(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), at, skeleton.updates, skeleton.leafDirectory)) {
    throw new MalformedDataError('SEI skeleton', 'the trailer does not hold the decoded counters and leaf directory (unknown layout)');
  }
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  writeTrailer(view, at, updates, directory);
  const decoded = decodeIndexSkeleton(out);
  const same =
    (['added', 'deleted', 'builtSize', 'builtMaxLeaf'] as const).every((key) => decoded.updates[key] === updates[key]) &&
    decoded.leafDirectory.every((entry, i) => entry.count === directory[i].count && entry.byteLength === directory[i].byteLength);
  if (!same) {
    throw new MalformedDataError('SEI skeleton', 'the rewritten skeleton does not decode to the new values');
  }
  return { bytes: out, skeleton: decoded };
}
