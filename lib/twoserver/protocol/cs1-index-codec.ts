/**
 * Binary format of what CS1 stores besides the records blob (the "manifest" of an encrypted
 * index).
 *
 *   "TSIX" u16 version=1
 *   string backend ("she" | "bfv"), string keyId (hex)
 *   u32 recordBytes, u32 vectorsPerRecord
 *   iDistance metadata body (idistance-codec.ts, without its header)
 *   segment index body (segments/codec.ts, without its header)
 *   blob referenceRecords
 *   u32 n, then n strings: template ids in storage order
 *
 * The decoder re-checks the cross-field invariants: segments and ids cover the metadata's n
 * templates, and the reference records are exactly ceil(K / vectorsPerRecord) records.
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import type { HeBackendName } from '../../he/types';
import { readIDistanceMetadata, writeIDistanceMetadata } from '../idistance-codec';
import { readSegmentIndex, writeSegmentIndex } from '../segments/codec';
import type { Cs1Index } from './types';

const MAGIC = 'TSIX';
const VERSION = 1;
const WHAT = 'two-server index';
const BACKENDS: readonly HeBackendName[] = ['she', 'bfv'];

export function encodeCs1Index(index: Cs1Index): Uint8Array {
  const writer = new BinaryWriter(1024 + index.referenceRecords.length + index.templateIds.length * 16).header(MAGIC, VERSION);
  writer.string(index.backend).string(index.keyId).u32(index.recordBytes).u32(index.vectorsPerRecord);
  writeIDistanceMetadata(writer, index.metadata);
  writeSegmentIndex(writer, index.segments);
  writer.blob(index.referenceRecords);
  writer.u32(index.templateIds.length);
  for (const id of index.templateIds) writer.string(id);
  return writer.finish();
}

export function decodeCs1Index(bytes: Uint8Array): Cs1Index {
  const reader = new BinaryReader(bytes, WHAT);
  reader.header(MAGIC, [VERSION]);
  const backend = reader.string('backend') as HeBackendName;
  if (!BACKENDS.includes(backend)) reader.fail('unknown HE backend');
  const keyId = reader.string('key id');
  if (!/^[0-9a-f]{16}$/.test(keyId)) reader.fail('key id is not 16 hex characters');
  const recordBytes = reader.u32InRange('record bytes', 1, 0xffffffff);
  const vectorsPerRecord = reader.u32InRange('vectors per record', 1, 1 << 20);
  const metadata = readIDistanceMetadata(reader);
  const segments = readSegmentIndex(reader);
  if (segments.n !== metadata.n) reader.fail(`segments cover ${segments.n} keys, metadata ${metadata.n} templates`);
  const referenceRecords = reader.blob('reference records');
  if (referenceRecords.length !== Math.ceil(metadata.partitions / vectorsPerRecord) * recordBytes) {
    reader.fail('reference records do not hold exactly one vector per partition');
  }
  const count = reader.u32('template count');
  if (count !== metadata.n) reader.fail(`${count} template ids for ${metadata.n} templates`);
  // Each id takes at least 3 bytes (length + one byte): reject absurd counts before looping.
  if (count * 3 > reader.remaining) reader.fail(`truncated: ${count} template ids do not fit`);
  const templateIds: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const id = reader.string('template id');
    if (id.length === 0) reader.fail(`template id ${i} is empty`);
    templateIds[i] = id;
  }
  reader.end();
  return { backend, keyId, recordBytes, vectorsPerRecord, metadata, segments, referenceRecords, templateIds };
}
