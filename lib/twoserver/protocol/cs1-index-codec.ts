/**
 * Binary format of what CS1 stores besides the records (the "manifest" of an encrypted index).
 *
 *   "TSIX" u16 version=2
 *   string backend ("she" | "bfv"), string keyId (hex)
 *   u32 recordBytes, u32 vectorsPerRecord
 *   policy: u32 maxK, f64 maxTauSquared, u32 budget queries, u32 budget window seconds
 *   iDistance metadata body (idistance-codec.ts, without its header)
 *   segment index body (segments/codec.ts, without its header)
 *   blob referenceRecords
 *   u32 S, then per shard: u32 templates, string inherited version ("" = uploaded with this
 *     version), u32 inherited shard
 *   u32 n, then n strings: template ids in storage order
 *
 * Version 1 (no policy, one shard: the "records" part) is still read, with LEGACY_POLICY.
 * The decoder re-checks the cross-field invariants: segments, ids and shards cover the
 * metadata's n templates, and the reference records are exactly ceil(K / vectorsPerRecord)
 * records.
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import type { HeBackendName } from '../../he/types';
import { InvalidInputError } from '../../core/errors';
import { readIDistanceMetadata, writeIDistanceMetadata } from '../idistance-codec';
import { LEGACY_POLICY, validatePolicy } from '../policy';
import type { IdentificationPolicy } from '../policy';
import { readSegmentIndex, writeSegmentIndex } from '../segments/codec';
import type { Cs1Index, ShardEntry } from './types';

const MAGIC = 'TSIX';
const VERSION = 2;
const WHAT = 'two-server index';
const BACKENDS: readonly HeBackendName[] = ['she', 'bfv'];
/** Version names as the catalog makes them (lib/core/ids.ts); checked again where they are used. */
const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function encodeCs1Index(index: Cs1Index): Uint8Array {
  const policy = validatePolicy(index.policy);
  const writer = new BinaryWriter(1024 + index.referenceRecords.length + index.templateIds.length * 16).header(MAGIC, VERSION);
  writer.string(index.backend).string(index.keyId).u32(index.recordBytes).u32(index.vectorsPerRecord);
  writer.u32(policy.maxK).f64(policy.maxTauSquared).u32(policy.budget.queries).u32(policy.budget.windowSeconds);
  writeIDistanceMetadata(writer, index.metadata);
  writeSegmentIndex(writer, index.segments);
  writer.blob(index.referenceRecords);
  writer.u32(index.shards.length);
  for (const shard of index.shards) {
    if (shard.inherited !== undefined && !VERSION_NAME.test(shard.inherited.version)) {
      throw new InvalidInputError(`shard inherited from "${shard.inherited.version}": not a version name`);
    }
    writer.u32(shard.templates).string(shard.inherited?.version ?? '').u32(shard.inherited?.shard ?? 0);
  }
  writer.u32(index.templateIds.length);
  for (const id of index.templateIds) writer.string(id);
  return writer.finish();
}

function readPolicy(reader: BinaryReader): IdentificationPolicy {
  const maxK = reader.u32('maxK');
  const maxTauSquared = reader.f64('maxTauSquared');
  const queries = reader.u32('budget queries');
  const windowSeconds = reader.u32('budget window');
  try {
    return validatePolicy({ maxK, maxTauSquared, budget: { queries, windowSeconds } });
  } catch (error) {
    reader.fail(error instanceof Error ? error.message : 'invalid identification policy');
  }
}

function readShards(reader: BinaryReader, n: number): ShardEntry[] {
  const count = reader.u32('shard count');
  if (count < 1 || count > n) reader.fail(`${count} shards for ${n} templates`);
  if (count * 10 > reader.remaining) reader.fail(`truncated: ${count} shards do not fit`);
  const shards: ShardEntry[] = [];
  let total = 0;
  for (let s = 0; s < count; s++) {
    const templates = reader.u32('shard templates');
    const version = reader.string('shard origin');
    const shard = reader.u32('shard origin index');
    if (templates < 1) reader.fail(`shard ${s} holds no template`);
    if (version !== '' && !VERSION_NAME.test(version)) reader.fail(`shard ${s} names an invalid version`);
    total += templates;
    shards.push(version === '' ? { templates } : { templates, inherited: { version, shard } });
  }
  if (total !== n) reader.fail(`the shards hold ${total} templates, the index ${n}`);
  return shards;
}

export function decodeCs1Index(bytes: Uint8Array): Cs1Index {
  const reader = new BinaryReader(bytes, WHAT);
  const version = reader.header(MAGIC, [1, VERSION]);
  const backend = reader.string('backend') as HeBackendName;
  if (!BACKENDS.includes(backend)) reader.fail('unknown HE backend');
  const keyId = reader.string('key id');
  if (!/^[0-9a-f]{16}$/.test(keyId)) reader.fail('key id is not 16 hex characters');
  const recordBytes = reader.u32InRange('record bytes', 1, 0xffffffff);
  const vectorsPerRecord = reader.u32InRange('vectors per record', 1, 1 << 20);
  const policy = version >= 2 ? readPolicy(reader) : LEGACY_POLICY;
  const metadata = readIDistanceMetadata(reader);
  const segments = readSegmentIndex(reader);
  if (segments.n !== metadata.n) reader.fail(`segments cover ${segments.n} keys, metadata ${metadata.n} templates`);
  const referenceRecords = reader.blob('reference records');
  if (referenceRecords.length !== Math.ceil(metadata.partitions / vectorsPerRecord) * recordBytes) {
    reader.fail('reference records do not hold exactly one vector per partition');
  }
  const shards = version >= 2 ? readShards(reader, metadata.n) : [{ templates: metadata.n }];
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
  return { backend, keyId, recordBytes, vectorsPerRecord, metadata, segments, referenceRecords, templateIds, policy, shards };
}

/** The format version an encoded index was written with (1: before policies and shards). */
export function cs1IndexFormatVersion(bytes: Uint8Array): number {
  return new BinaryReader(bytes, WHAT).header(MAGIC, [1, VERSION]);
}
