/**
 * The owner's unsealed build on disk, between `owner index` and `owner publish`: sealing needs
 * the version CS1 names at publish, so the build is kept as plaintext leaves (private to the
 * owner, like the images it was made from). Format "BSSB" v1 (little-endian):
 *
 *   magic, u16 version, u32 leafCount, u32 leafPlaintextBytes, u16 leavesPerQuery,
 *   string partition, f64 meanFill, u32 curve length c, u32 curve queries, f64 recall[c],
 *   f64 standardError[c], blob routing content (format.ts), leafCount x leafPlaintextBytes.
 */
import { BinaryReader, BinaryWriter } from '../codec/binary';
import type { SealedIndexBuild } from './build';
import { decodeRoutingContent, encodeRoutingPlaintext, MAX_LEAVES_PER_QUERY, MAX_SEALED_LEAVES, MAX_LEAF_BYTES } from './format';

const MAGIC = 'BSSB';
const VERSION = 1;

export function encodeSealedBuild(build: SealedIndexBuild): Uint8Array {
  const routing = encodeRoutingPlaintext(build.routing, build.leafCount);
  const { recall, standardError, queries } = build.recallCurve;
  const w = new BinaryWriter(64 + routing.length + build.leafCount * build.leafPlaintextBytes + recall.length * 16);
  w.header(MAGIC, VERSION)
    .u32(build.leafCount)
    .u32(build.leafPlaintextBytes)
    .u16(build.leavesPerQuery)
    .string(build.stats.partition)
    .f64(build.stats.meanFill)
    .u32(recall.length)
    .u32(queries)
    .f64Array(recall)
    .f64Array(standardError)
    .blob(routing);
  for (const leaf of build.leafPlaintexts) w.bytes(leaf);
  return w.finish();
}

export function decodeSealedBuild(bytes: Uint8Array): SealedIndexBuild {
  const r = new BinaryReader(bytes, 'sealed index build');
  r.header(MAGIC, [VERSION]);
  const leafCount = r.u32InRange('leafCount', 1, MAX_SEALED_LEAVES);
  const leafPlaintextBytes = r.u32InRange('leafPlaintextBytes', 4, MAX_LEAF_BYTES);
  const leavesPerQuery = r.u16('leavesPerQuery');
  if (leavesPerQuery < 1 || leavesPerQuery > Math.min(leafCount, MAX_LEAVES_PER_QUERY)) r.fail('leavesPerQuery is out of range');
  const partition = r.string('partition');
  const meanFill = r.finite('meanFill');
  const curveLength = r.u32InRange('curve length', 0, MAX_LEAVES_PER_QUERY);
  const queries = r.u32('curve queries');
  const recall = Array.from(r.f64Array(curveLength, 'recall'));
  const standardError = Array.from(r.f64Array(curveLength, 'standardError'));
  const routing = decodeRoutingContent(r.blob('routing'), { leafCount, leavesPerQuery, leafPlaintextBytes });
  const leafPlaintexts: Uint8Array[] = [];
  for (let leaf = 0; leaf < leafCount; leaf++) leafPlaintexts.push(r.bytes(leafPlaintextBytes, `leaf ${leaf}`));
  r.end();
  return {
    d: routing.d,
    quantisation: routing.quantisation,
    imageCount: routing.imageCount,
    leafCount,
    leafCapacity: routing.leafCapacity,
    leafPlaintextBytes,
    leavesPerQuery,
    realLeaves: routing.realLeaves,
    recallEstimate: routing.recallEstimate,
    recallCurve: { recall, standardError, queries },
    routing,
    leafPlaintexts,
    stats: { partition, meanFill },
  };
}
