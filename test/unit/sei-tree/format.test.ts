import { describe, expect, it } from 'vitest';
import { MalformedDataError } from '../../../lib/core/errors';
import { decodeIndexSkeleton, decodeLeafBlock, encodeIndexTreeParts } from '../../../lib/sei/index-tree/format';
import { decodeIndexTree, encodeIndexTree } from '../../support/sei-tree';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import { row, seiWorld } from '../../support/sei-fixture';

describe('encrypted index format', () => {
  const { tree, generator, vectors } = seiWorld(300, 6, 4, { maxLeafSize: 25 });
  const bytes = encodeIndexTree(tree);

  it('round-trips to a tree that answers searches identically', () => {
    const decoded = decodeIndexTree(bytes);
    expect(decoded.ownerKeyId).toBe(tree.ownerKeyId);
    expect(decoded.leaves.length).toBe(tree.leaves.length);
    for (let q = 0; q < 5; q++) {
      const t = generator.trapdoor(row(vectors, q * 50));
      expect(searchIndexTree(decoded, t, { k: 7, probes: 2 }).hits).toEqual(
        searchIndexTree(tree, t, { k: 7, probes: 2 }).hits,
      );
    }
  });

  it('stores leaves as separately decodable blocks listed in the skeleton', () => {
    const { skeleton, leaves } = encodeIndexTreeParts(tree);
    const decoded = decodeIndexSkeleton(skeleton);
    expect(decoded.leafDirectory.map((e) => e.byteLength)).toEqual(leaves.map((b) => b.length));
    const leaf = decodeLeafBlock(leaves[1], tree.m, decoded.leafDirectory[1].count);
    expect(leaf.ids).toEqual(tree.leaves[1].ids);
    expect(() => decodeLeafBlock(leaves[1], tree.m, decoded.leafDirectory[1].count + 1)).toThrow(MalformedDataError);
    expect(() => decodeLeafBlock(leaves[1], tree.m + 2)).toThrow(/encrypted dimension/);
  });

  it('rejects every truncation and any trailing byte', () => {
    const step = Math.max(1, Math.floor(bytes.length / 400));
    for (let length = 0; length < bytes.length; length += step) {
      expect(() => decodeIndexTree(bytes.subarray(0, length))).toThrow(MalformedDataError);
    }
    expect(() => decodeIndexTree(bytes.subarray(0, bytes.length - 1))).toThrow(MalformedDataError);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(() => decodeIndexTree(longer)).toThrow(/trailing/);
  });

  it('rejects wrong magic, unknown versions, non-finite vectors and broken structure', () => {
    const { skeleton } = encodeIndexTreeParts(tree);
    const badMagic = Uint8Array.from(skeleton);
    badMagic[0] ^= 0xff;
    expect(() => decodeIndexSkeleton(badMagic)).toThrow(/bad magic/);
    const badVersion = Uint8Array.from(skeleton);
    badVersion[4] = 99;
    expect(() => decodeIndexSkeleton(badVersion)).toThrow(/unsupported version/);

    // The first node vector starts after magic(4) version(2) d(4) keyId(2+len) counts(12).
    const vectorsAt = 4 + 2 + 4 + 2 + tree.ownerKeyId.length + 12;
    const nan = Uint8Array.from(skeleton);
    new DataView(nan.buffer).setFloat64(vectorsAt, Number.NaN, true);
    expect(() => decodeIndexSkeleton(nan)).toThrow(/not a finite number/);

    // Point the root's first child at the root itself: a cycle / second parent.
    const nodeCount = tree.leafOf.length;
    const childIdsAt = vectorsAt + nodeCount * tree.m * 8 + (nodeCount + 1) * 4;
    const cycle = Uint8Array.from(skeleton);
    new DataView(cycle.buffer).setUint32(childIdsAt, tree.root, true);
    expect(() => decodeIndexSkeleton(cycle)).toThrow(MalformedDataError);
    const outOfRange = Uint8Array.from(skeleton);
    new DataView(outOfRange.buffer).setUint32(childIdsAt, nodeCount + 5, true);
    expect(() => decodeIndexSkeleton(outOfRange)).toThrow(/out of range/);
  });

  it('rejects an index in which one image id appears twice', () => {
    const copy = decodeIndexTree(bytes);
    copy.leaves[1].ids[0] = copy.leaves[0].ids[0];
    expect(() => decodeIndexTree(encodeIndexTree(copy))).toThrow(/appears twice/);
  });
});
