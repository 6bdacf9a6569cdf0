/**
 * Binary format of the public iDistance metadata (what CS1 needs to prune partitions).
 *
 *   "IDXM" u16 version=1
 *   u32 K          partitions (>= 1)
 *   u32 n          templates (>= K: partitions are non-empty)
 *   f64[K] offsets, f64[K] dmax, u32[K + 1] partitionStarts
 *
 * The decoder checks what the range guarantee relies on: finite values, dmax >= 0, offsets
 * strictly separating partitions (offset_{i+1} > offset_i + dmax_i), and position ranges that
 * start at 0, end at n and are strictly increasing.
 */
import { BinaryReader, BinaryWriter } from '../codec/binary';
import type { IDistanceMetadata } from './types';

const MAGIC = 'IDXM';
const VERSION = 1;
const WHAT = 'iDistance metadata';

export function writeIDistanceMetadata(writer: BinaryWriter, meta: IDistanceMetadata): void {
  writer.u32(meta.partitions).u32(meta.n).f64Array(meta.offsets).f64Array(meta.dmax).u32Array(meta.partitionStarts);
}

export function readIDistanceMetadata(reader: BinaryReader): IDistanceMetadata {
  const partitions = reader.u32('partitions');
  const n = reader.u32('templates');
  if (partitions < 1 || partitions > n) reader.fail(`partitions = ${partitions} must be in [1, ${n}]`);
  if (partitions * 20 + 4 > reader.remaining) reader.fail(`truncated: ${partitions} partitions do not fit`);
  const offsets = reader.f64Array(partitions, 'offsets');
  const dmax = reader.f64Array(partitions, 'dmax');
  const partitionStarts = reader.u32Array(partitions + 1, 'partition starts');
  for (let i = 0; i < partitions; i++) {
    if (dmax[i] < 0) reader.fail(`dmax of partition ${i} is negative`);
    if (i === 0 ? offsets[0] < 0 : !(offsets[i] > offsets[i - 1] + dmax[i - 1])) {
      reader.fail(`offset of partition ${i} does not separate it from the previous partition`);
    }
    if (!(partitionStarts[i + 1] > partitionStarts[i])) reader.fail(`partition ${i} has no positions`);
  }
  if (partitionStarts[0] !== 0 || partitionStarts[partitions] !== n) reader.fail('partition positions do not cover the templates');
  return { partitions, n, offsets, dmax, partitionStarts };
}

/**
 * @internal Exported for the tests: the metadata framed on its own, so readIDistanceMetadata's
 * checks are tested without a whole CS1 index (CS1 reads it inside the index,
 * protocol/cs1-index-codec.ts).
 */
export function encodeIDistanceMetadata(meta: IDistanceMetadata): Uint8Array {
  const writer = new BinaryWriter(32 + meta.partitions * 20).header(MAGIC, VERSION);
  writeIDistanceMetadata(writer, meta);
  return writer.finish();
}

/**
 * @internal Exported for the tests (see encodeIDistanceMetadata).
 */
export function decodeIDistanceMetadata(bytes: Uint8Array): IDistanceMetadata {
  const reader = new BinaryReader(bytes, WHAT);
  reader.header(MAGIC, [VERSION]);
  const meta = readIDistanceMetadata(reader);
  reader.end();
  return meta;
}
