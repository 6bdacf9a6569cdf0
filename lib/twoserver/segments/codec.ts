/**
 * Binary format of a segment index (what the provider ships to CS1).
 *
 *   "FSEG" u16 version=1
 *   u8  method (0 = fiting, 1 = optimal)
 *   u32 eps
 *   u32 n          number of keys
 *   u32 m          number of segments (0 iff n = 0, m <= n)
 *   f64[m] firstKeys, f64[m] slopes, f64[m] intercepts, u32[m] starts, u32[m] maxRuns
 *
 * The decoder checks every invariant the lookup guarantee relies on (sorted first keys,
 * slopes >= 0, starts strictly increasing from 0, runs within their segment), so corrupted
 * bytes are a MalformedDataError, never silently wrong ranges.
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import { MAX_EPS } from './build';
import type { SegmentationMethod, SegmentIndex } from './types';

const MAGIC = 'FSEG';
const VERSION = 1;
const WHAT = 'segment index';
const METHOD_CODES: readonly SegmentationMethod[] = ['fiting', 'optimal'];
/** Bytes per segment: three f64 and two u32 columns. */
const SEGMENT_BYTES = 3 * 8 + 2 * 4;

export function writeSegmentIndex(writer: BinaryWriter, index: SegmentIndex): void {
  const m = index.firstKeys.length;
  writer
    .u8(METHOD_CODES.indexOf(index.method))
    .u32(index.eps)
    .u32(index.n)
    .u32(m)
    .f64Array(index.firstKeys)
    .f64Array(index.slopes)
    .f64Array(index.intercepts)
    .u32Array(index.starts)
    .u32Array(index.maxRuns);
}

/**
 * @internal Exported for the tests: the segments framed on their own, so readSegmentIndex's checks
 * are tested without a whole CS1 index (CS1 reads them inside the index,
 * protocol/cs1-index-codec.ts).
 */
export function encodeSegmentIndex(index: SegmentIndex): Uint8Array {
  const writer = new BinaryWriter(64 + index.firstKeys.length * SEGMENT_BYTES).header(MAGIC, VERSION);
  writeSegmentIndex(writer, index);
  return writer.finish();
}

/** Reads the body written by writeSegmentIndex (for formats that embed a segment index). */
export function readSegmentIndex(reader: BinaryReader): SegmentIndex {
  const code = reader.u8('method');
  if (code >= METHOD_CODES.length) reader.fail(`unknown segmentation method ${code}`);
  const eps = reader.u32InRange('eps', 0, MAX_EPS);
  const n = reader.u32('n');
  const m = reader.u32InRange('segment count', n === 0 ? 0 : 1, n);
  if (m * SEGMENT_BYTES > reader.remaining) reader.fail(`truncated: ${m} segments need ${m * SEGMENT_BYTES} bytes`);
  const firstKeys = reader.f64Array(m, 'first keys');
  const slopes = reader.f64Array(m, 'slopes');
  const intercepts = reader.f64Array(m, 'intercepts');
  const starts = reader.u32Array(m, 'starts');
  const maxRuns = reader.u32Array(m, 'max runs');
  for (let s = 0; s < m; s++) {
    if (s > 0 && !(firstKeys[s] > firstKeys[s - 1])) reader.fail(`first key of segment ${s} is not above the previous one`);
    if (!(slopes[s] >= 0)) reader.fail(`slope of segment ${s} is negative`);
    const expectedStart = s === 0 ? 0 : starts[s - 1] + 1;
    if (s === 0 ? starts[s] !== 0 : starts[s] < expectedStart) reader.fail(`start of segment ${s} is out of order`);
    const end = s + 1 < m ? starts[s + 1] : n;
    if (starts[s] >= n && n > 0) reader.fail(`start of segment ${s} is beyond the ${n} keys`);
    if (maxRuns[s] < 1 || maxRuns[s] > end - starts[s]) reader.fail(`max run of segment ${s} does not fit its positions`);
  }
  return { method: METHOD_CODES[code], eps, n, firstKeys, slopes, intercepts, starts, maxRuns };
}

/**
 * @internal Exported for the tests (see encodeSegmentIndex).
 */
export function decodeSegmentIndex(bytes: Uint8Array): SegmentIndex {
  const reader = new BinaryReader(bytes, WHAT);
  reader.header(MAGIC, [VERSION]);
  const index = readSegmentIndex(reader);
  reader.end();
  return index;
}
