/**
 * Byte formats of a sealed index (integers little-endian; lib/codec/binary).
 *
 * Part "routing" = public header || nonce (12) || AES-GCM(routing plaintext) || tag (16)
 *
 *   public header "BSSX" v1: magic, u16 version, string keyId, u32 leafCount, u32 leafBytes,
 *   u16 leavesPerQuery. In the clear (CS1 reads it at publish to serve leaves), and part of the
 *   associated data of every sealed part, so changing it breaks every part.
 *
 *   routing plaintext "BSSR" v1: magic, u16 version, u16 d, u8 quantisation (0 float32,
 *   1 float16, 2 int8), u32 imageCount, u32 leafCapacity, u16 realLeaves, f64 recallEstimate,
 *   f32 centroids[leafCount * d], u32 leafSizes[leafCount], and for int8 f32 offset[d],
 *   f32 scale[d].
 *
 * Part "leaves" = leafCount sealed leaves back to back, leaf i at byte i * leafBytes:
 *
 *   nonce (12) || AES-GCM(leaf plaintext) || tag (16), leafBytes = 28 + P for all leaves.
 *
 *   leaf plaintext (P bytes): u32 count, count rows of d coordinates in the index's encoding,
 *   count ids (u8 byte length + UTF-8), then zeros up to P. P is the largest leaf's encoding,
 *   so every leaf has the same stored size whatever it holds.
 *
 * No node:* imports: clients in browsers read these formats.
 */
import { BinaryReader, BinaryWriter } from '../codec/binary';
import { MalformedDataError } from '../core/errors';
import { NONCE_BYTES, TAG_BYTES, isKeyId } from '../crypto/aes-gcm';
import { bytesPerCoordinate, decodeRows, encodeRows, quantisationCode, quantisationOfCode } from './quantise';
import type { QuantisationParams, SealedBinding, SealedLayout, SealedLeaf, SealedQuantisation, SealedRouting } from './types';

export const LAYOUT_MAGIC = 'BSSX';
export const ROUTING_MAGIC = 'BSSR';
export const SEALED_FORMAT_VERSION = 1;
/** Nonce and tag around every sealed plaintext. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;
export const MAX_SEALED_DIMENSION = 4096;
export const MAX_SEALED_LEAVES = 1 << 24;
export const MAX_LEAVES_PER_QUERY = 1024;
/** One leaf is read whole by a client: keep it far below any payload limit. */
export const MAX_LEAF_BYTES = 4 * 1024 * 1024;
/** Image ids are at most 128 characters (lib/core/ids.ts); one byte holds the length. */
export const MAX_ID_BYTES = 255;

const LAYOUT_WHAT = 'sealed index header';
const ROUTING_WHAT = 'sealed routing data';
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function encodeLayout(layout: SealedLayout): Uint8Array {
  return new BinaryWriter(32 + layout.keyId.length)
    .header(LAYOUT_MAGIC, SEALED_FORMAT_VERSION)
    .string(layout.keyId)
    .u32(layout.leafCount)
    .u32(layout.leafBytes)
    .u16(layout.leavesPerQuery)
    .finish();
}

/**
 * Reads the public header at the start of a routing part: the layout, the header's bytes (for
 * the associated data) and where the sealed routing plaintext starts. Needs no key: CS1 uses it.
 */
export function readLayout(bytes: Uint8Array): { layout: SealedLayout; headerBytes: Uint8Array; sealedStart: number } {
  const r = new BinaryReader(bytes, LAYOUT_WHAT);
  r.header(LAYOUT_MAGIC, [SEALED_FORMAT_VERSION]);
  const keyId = r.string('keyId');
  if (!isKeyId(keyId)) r.fail('keyId is not 16-64 lowercase hex characters');
  const leafCount = r.u32InRange('leafCount', 1, MAX_SEALED_LEAVES);
  const leafBytes = r.u32InRange('leafBytes', SEAL_OVERHEAD + 4, MAX_LEAF_BYTES);
  const leavesPerQuery = r.u16('leavesPerQuery');
  if (leavesPerQuery < 1 || leavesPerQuery > Math.min(leafCount, MAX_LEAVES_PER_QUERY)) {
    r.fail(`leavesPerQuery = ${leavesPerQuery} is outside [1, ${Math.min(leafCount, MAX_LEAVES_PER_QUERY)}]`);
  }
  const sealedStart = r.position;
  if (r.remaining < SEAL_OVERHEAD) r.fail('truncated: no sealed routing data after the header');
  return { layout: { keyId, leafCount, leafBytes, leavesPerQuery }, headerBytes: bytes.subarray(0, sealedStart), sealedStart };
}

/** The routing plaintext fields the owner writes (the layout travels in the header). */
export type RoutingContent = Omit<SealedRouting, 'layout' | 'binding'>;

export function encodeRoutingPlaintext(routing: RoutingContent, leafCount: number): Uint8Array {
  const { d } = routing;
  const w = new BinaryWriter(64 + leafCount * (d * 4 + 4) + d * 8);
  w.header(ROUTING_MAGIC, SEALED_FORMAT_VERSION)
    .u16(d)
    .u8(quantisationCode(routing.quantisation))
    .u32(routing.imageCount)
    .u32(routing.leafCapacity)
    .u16(routing.realLeaves)
    .f64(routing.recallEstimate)
    .f32Array(routing.centroids)
    .u32Array(routing.leafSizes);
  if (routing.quantisation === 'int8') w.f32Array(routing.params!.offset).f32Array(routing.params!.scale);
  return w.finish();
}

/** What the routing content must agree with: the layout's counts and the leaf plaintext size. */
export interface RoutingShape {
  readonly leafCount: number;
  readonly leavesPerQuery: number;
  readonly leafPlaintextBytes: number;
}

/** Reads routing content (the plaintext the routing part seals, or the owner's build file). */
export function decodeRoutingContent(bytes: Uint8Array, shape: RoutingShape): RoutingContent {
  const r = new BinaryReader(bytes, ROUTING_WHAT);
  r.header(ROUTING_MAGIC, [SEALED_FORMAT_VERSION]);
  const d = r.u16('d');
  if (d < 1 || d > MAX_SEALED_DIMENSION) r.fail(`d = ${d} is outside [1, ${MAX_SEALED_DIMENSION}]`);
  const quantisation = quantisationOfCode(r.u8('quantisation')) ?? r.fail('unknown quantisation');
  const imageCount = r.u32('imageCount');
  const leafCapacity = r.u32InRange('leafCapacity', 1, 0xffffffff);
  const realLeaves = r.u16('realLeaves');
  if (realLeaves < 1 || realLeaves > shape.leavesPerQuery) r.fail(`realLeaves = ${realLeaves} is outside [1, ${shape.leavesPerQuery}]`);
  const recallEstimate = r.finite('recallEstimate');
  const centroids = r.f32Array(shape.leafCount * d, 'centroids');
  const leafSizes = r.u32Array(shape.leafCount, 'leafSizes');
  let total = 0;
  for (const size of leafSizes) {
    if (size > leafCapacity) r.fail(`a leaf size exceeds the leaf capacity ${leafCapacity}`);
    total += size;
  }
  if (total !== imageCount) r.fail(`leaf sizes add up to ${total}, not to the ${imageCount} images`);
  let params: QuantisationParams | undefined;
  if (quantisation === 'int8') params = { offset: r.f32Array(d, 'offset'), scale: r.f32Array(d, 'scale') };
  r.end();
  if (leafPlaintextCapacity(d, quantisation, leafCapacity) > shape.leafPlaintextBytes) r.fail('the leaf capacity does not fit the stored leaf size');
  return { d, quantisation, imageCount, leafCapacity, realLeaves, recallEstimate, centroids, leafSizes, ...(params ? { params } : {}) };
}

export function decodeRoutingPlaintext(bytes: Uint8Array, layout: SealedLayout, binding: SealedBinding): SealedRouting {
  const content = decodeRoutingContent(bytes, { leafCount: layout.leafCount, leavesPerQuery: layout.leavesPerQuery, leafPlaintextBytes: layout.leafBytes - SEAL_OVERHEAD });
  return { ...content, layout, binding };
}

/** Bytes of a leaf's count and vectors when it holds `count` images (ids come on top). */
export function leafPlaintextCapacity(d: number, quantisation: SealedQuantisation, count: number): number {
  return 4 + count * d * bytesPerCoordinate(quantisation);
}

/** UTF-8 bytes of an id as stored (MalformedDataError beyond one byte of length). */
export function idBytes(id: string): Uint8Array {
  const encoded = textEncoder.encode(id);
  if (encoded.length === 0 || encoded.length > MAX_ID_BYTES) throw new MalformedDataError('image id', `must be 1-${MAX_ID_BYTES} bytes of UTF-8`);
  return encoded;
}

/** Unpadded size of one leaf's plaintext. */
export function leafPlaintextSize(d: number, quantisation: SealedQuantisation, ids: readonly Uint8Array[]): number {
  let size = leafPlaintextCapacity(d, quantisation, ids.length);
  for (const id of ids) size += 1 + id.length;
  return size;
}

/** One leaf's plaintext, padded with zeros to `size` bytes. */
export function encodeLeafPlaintext(
  data: Float64Array,
  d: number,
  members: ArrayLike<number>,
  ids: readonly Uint8Array[],
  quantisation: SealedQuantisation,
  params: QuantisationParams | undefined,
  size: number,
): Uint8Array {
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, members.length, true);
  let at = encodeRows(data, d, members, quantisation, params, out, 4);
  for (const id of ids) {
    out[at++] = id.length;
    out.set(id, at);
    at += id.length;
  }
  if (at > size) throw new Error(`leaf plaintext of ${at} bytes does not fit ${size}`);
  return out;
}

/** Reads a decrypted leaf. Everything is checked, padding included: the format is exact. */
export function decodeLeafPlaintext(bytes: Uint8Array, routing: Pick<SealedRouting, 'd' | 'quantisation' | 'leafSizes' | 'params'>, leaf: number): SealedLeaf {
  const what = `sealed leaf ${leaf}`;
  const fail = (problem: string): never => {
    throw new MalformedDataError(what, problem);
  };
  if (bytes.length < 4) fail('truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  if (count !== routing.leafSizes[leaf]) fail(`holds ${count} images, the routing data says ${routing.leafSizes[leaf]}`);
  const { d, quantisation } = routing;
  let at = leafPlaintextCapacity(d, quantisation, count);
  if (at > bytes.length) fail('truncated vectors');
  const rows = decodeRows(bytes, 4, count, d, quantisation, routing.params);
  if (rows.kind === 'float' && !rows.values.every(Number.isFinite)) fail('holds a non-finite coordinate');
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    if (at >= bytes.length) fail('truncated ids');
    const length = bytes[at++];
    if (length === 0 || at + length > bytes.length) fail(`id ${i} is empty or truncated`);
    try {
      ids.push(textDecoder.decode(bytes.subarray(at, at + length)));
    } catch {
      fail(`id ${i} is not UTF-8`);
    }
    at += length;
  }
  for (; at < bytes.length; at++) if (bytes[at] !== 0) fail('padding is not zero');
  return { leaf, ids, rows };
}
