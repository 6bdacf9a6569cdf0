/**
 * The coordinator -> shard worker wire contract (both in CS1's account): the direct-invoke event
 * of the identify worker function and its result.
 *
 *   event  {ownerId, indexName, version, shard, records: number[], query: base64,
 *           blinding: "per-value" | "shared"}
 *   result {shard, batch: base64 | batchKey + batchSha256, valueSlot: base64 (i32 LE),
 *           a: decimal, b: decimal[], recordReads, bytesRead}
 *
 * The result carries the batch's blinding: it never leaves CS1 (the coordinator unblinds CS2's
 * values with it), and CS2 only ever sees the merged batch. A batch too large for Lambda's 6 MB
 * response is written by the worker under the transfer prefix of CS1's bucket (`batchKey`);
 * the coordinator reads it, checks its SHA-256 and deletes it.
 */
import { InvalidInputError, MalformedDataError } from '../../core/errors';
import { parseIndexName, parseOwnerId, parseVersionId } from '../../core/ids';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';
import type { ShardTaskResult } from '../protocol/shard-worker';
import type { BlindingMode } from '../protocol/types';
import { TRANSFER_PREFIX } from './batch-staging';
import { decodeBase64, encodeBase64 } from './decrypt-event';

/** Largest batch returned inline (its base64 and the rest of the result stay under 6 MB). */
export const WORKER_INLINE_BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** Largest encrypted query in an event (the identify route's own limit). */
const MAX_QUERY_BYTES = 4 * 1024 * 1024;
/** Records one task may name (a shard of 5 GB holds at most this many bfv records). */
const MAX_TASK_RECORDS = 1 << 20;

export interface ShardWorkerEvent {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly shard: number;
  readonly records: number[];
  readonly query: string;
  readonly blinding: BlindingMode;
}

export interface ShardWorkerResult {
  readonly shard: number;
  readonly batch?: string;
  readonly batchKey?: string;
  readonly batchSha256?: string;
  readonly valueSlot: string;
  readonly a: string;
  readonly b: string[];
  readonly recordReads: number;
  readonly bytesRead: number;
}

export interface ParsedShardWorkerEvent {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly shard: number;
  readonly records: number[];
  readonly query: Uint8Array;
  readonly blinding: BlindingMode;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a worker event (InvalidInputError naming the field otherwise). */
export function parseShardWorkerEvent(event: unknown): ParsedShardWorkerEvent {
  if (!isRecord(event)) throw new InvalidInputError('the worker event must be a JSON object');
  const { shard, records, query, blinding } = event;
  if (typeof event.ownerId !== 'string' || typeof event.indexName !== 'string' || typeof event.version !== 'string') {
    throw new InvalidInputError('the worker event needs ownerId, indexName and version');
  }
  const ownerId = parseOwnerId(event.ownerId);
  const indexName = parseIndexName(event.indexName);
  const version = parseVersionId(event.version);
  if (typeof shard !== 'number' || !Number.isInteger(shard) || shard < 0) throw new InvalidInputError('shard must be an integer >= 0');
  if (!Array.isArray(records) || records.length === 0 || records.length > MAX_TASK_RECORDS) {
    throw new InvalidInputError(`records must list 1 to ${MAX_TASK_RECORDS} record indices`);
  }
  records.forEach((r: unknown, k: number) => {
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || (k > 0 && r <= (records[k - 1] as number))) {
      throw new InvalidInputError('records must be distinct integers >= 0, ascending');
    }
  });
  if (typeof query !== 'string' || query.length === 0) throw new InvalidInputError('query must be the encrypted query, base64');
  if (blinding !== 'per-value' && blinding !== 'shared') throw new InvalidInputError('blinding must be "per-value" or "shared"');
  return { ownerId, indexName, version, shard, records: records as number[], query: decodeBase64(query, 'query', MAX_QUERY_BYTES), blinding };
}

export function shardWorkerEvent(base: Omit<ShardWorkerEvent, 'query' | 'records' | 'shard'>, query: Uint8Array, shard: number, records: readonly number[]): ShardWorkerEvent {
  return { ...base, shard, records: [...records], query: encodeBase64(query) };
}

/** A task's result for the wire; the batch itself goes inline or as `staged` (key and digest). */
export function shardWorkerResult(result: ShardTaskResult, staged?: { key: string; sha256: string }): ShardWorkerResult {
  const slots = new Uint8Array(result.valueSlot.buffer, result.valueSlot.byteOffset, result.valueSlot.byteLength);
  return {
    shard: result.shard,
    ...(staged === undefined ? { batch: encodeBase64(result.bytes) } : { batchKey: staged.key, batchSha256: staged.sha256 }),
    valueSlot: encodeBase64(slots),
    a: result.a.toString(10),
    b: result.b.map((v) => v.toString(10)),
    recordReads: result.recordReads,
    bytesRead: result.bytesRead,
  };
}

const DECIMAL = /^[0-9]{1,400}$/;

/**
 * A worker's answer, checked: its batch inline or staged, its slots and blinding. `slots` are
 * the task's slots (the coordinator knows them); MalformedDataError when anything disagrees.
 */
export function parseShardWorkerResult(
  value: unknown,
  slots: readonly number[],
): { readonly partial: Omit<ShardTaskResult, 'bytes'>; readonly batch?: Uint8Array; readonly staged?: { key: string; sha256: string } } {
  const what = 'shard worker result';
  if (!isRecord(value)) throw new MalformedDataError(what, 'it is not a JSON object');
  const { shard, batch, batchKey, batchSha256, valueSlot, a, b, recordReads, bytesRead } = value;
  if (typeof shard !== 'number' || typeof valueSlot !== 'string' || typeof a !== 'string' || !DECIMAL.test(a) || !Array.isArray(b)) {
    throw new MalformedDataError(what, 'shard, valueSlot, a and b are required');
  }
  if (!b.every((v) => typeof v === 'string' && DECIMAL.test(v)) || (b.length !== 1 && b.length !== slots.length)) {
    throw new MalformedDataError(what, 'b must hold one decimal offset, or one per slot');
  }
  let slotBytes: Uint8Array;
  let inline: Uint8Array | undefined;
  try {
    slotBytes = decodeBase64(valueSlot, 'valueSlot', 64 * 1024 * 1024);
    if (typeof batch === 'string') inline = decodeBase64(batch, 'batch', WORKER_INLINE_BATCH_MAX_BYTES);
  } catch (error) {
    throw new MalformedDataError(what, error instanceof Error ? error.message : 'bad base64');
  }
  if (slotBytes.length % 4 !== 0) throw new MalformedDataError(what, 'valueSlot is not a list of i32');
  const copy = slotBytes.slice();
  const partial = {
    shard,
    valueSlot: new Int32Array(copy.buffer, 0, copy.length / 4),
    slots: [...slots],
    a: BigInt(a),
    b: (b as string[]).map((v) => BigInt(v)),
    recordReads: typeof recordReads === 'number' ? recordReads : 0,
    bytesRead: typeof bytesRead === 'number' ? bytesRead : 0,
  };
  if (inline !== undefined) return { partial, batch: inline };
  if (typeof batchKey !== 'string' || !batchKey.startsWith(TRANSFER_PREFIX) || typeof batchSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(batchSha256)) {
    throw new MalformedDataError(what, 'it carries neither an inline batch nor a staged one');
  }
  return { partial, staged: { key: batchKey, sha256: batchSha256 } };
}
