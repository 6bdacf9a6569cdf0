/**
 * Reads back what the client's formats write, for the tests' round trips.
 */
import { MalformedDataError } from '../../lib/core/errors';

/** float64 rows from their little-endian bytes; MalformedDataError unless whole rows of finite numbers. */
export function float64FromBytes(bytes: Uint8Array, d: number, what: string): Float64Array {
  if (bytes.length % (8 * d) !== 0) throw new MalformedDataError(what, `holds ${bytes.length} bytes, not whole rows of ${d} float64 values`);
  const data = new Float64Array(bytes.length / 8);
  new Uint8Array(data.buffer).set(bytes);
  if (!data.every(Number.isFinite)) throw new MalformedDataError(what, 'holds non-finite numbers');
  return data;
}
