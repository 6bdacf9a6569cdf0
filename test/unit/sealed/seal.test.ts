/**
 * Sealed parts: round trips, and every way a cloud could change what it stores or serves (any
 * byte, a swapped leaf, a leaf of another version, index or owner, a changed header, the wrong
 * key) gives a clear error and no result.
 */
import { describe, expect, it } from 'vitest';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';
import { DecryptionError, MalformedDataError } from '../../../lib/core/errors';
import { generateIndexKey, decodeIndexKey, encodeIndexKey } from '../../../lib/sealed/index-key';
import { readLayout } from '../../../lib/sealed/format';
import { decryptLeaf, openLeaf, openRouting } from '../../../lib/sealed/seal';
import { sealIndex, sealedPartSizes } from '../../../lib/sealed/build';
import { BINDING, sealedWorld } from '../../support/sealed-fixture';

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('sealed parts', async () => {
  const world = await sealedWorld(300, 8, 5);
  const { build, key, parts, searcher } = world;
  const { leafBytes, leafCount } = searcher.routing.layout;

  it('declares exactly the sizes it seals, and every leaf has one size', () => {
    expect(sealedPartSizes(build, key.keyId)).toEqual({ routing: parts.routing.length, leaves: parts.leaves.length });
    expect(parts.leaves.length).toBe(leafCount * leafBytes);
    expect(leafBytes).toBe(build.leafPlaintextBytes + 28);
    expect(new Set(build.leafPlaintexts.map((p) => p.length)).size).toBe(1);
  });

  it('round-trips the routing data and every leaf', async () => {
    const routing = await openRouting(key, BINDING, parts.routing);
    expect(routing.imageCount).toBe(300);
    expect(Array.from(routing.leafSizes)).toEqual(Array.from(build.routing.leafSizes));
    const ids = new Set<string>();
    for (let leaf = 0; leaf < leafCount; leaf++) {
      const opened = await openLeaf(key, routing, leaf, parts.leaves.subarray(leaf * leafBytes, (leaf + 1) * leafBytes));
      expect(opened.ids.length).toBe(routing.leafSizes[leaf]);
      for (const id of opened.ids) ids.add(id);
    }
    expect(ids.size).toBe(300);
  });

  it('reads the public header without the key (what CS1 sees)', () => {
    const { layout } = readLayout(parts.routing);
    expect(layout).toEqual({ keyId: key.keyId, leafCount, leafBytes, leavesPerQuery: build.leavesPerQuery });
  });

  it('refuses every changed byte of the routing part', async () => {
    const kinds = new Set<string>();
    for (let at = 0; at < parts.routing.length; at += Math.max(1, Math.floor(parts.routing.length / 400))) {
      const changed = parts.routing.slice();
      changed[at] ^= 0x01;
      const error = await failure(openRouting(key, BINDING, changed));
      expect(error instanceof DecryptionError || error instanceof MalformedDataError, `byte ${at}: ${error.message}`).toBe(true);
      kinds.add(error.constructor.name);
    }
    expect(kinds.has('DecryptionError')).toBe(true);
    // Truncated or extended parts too.
    await expect(openRouting(key, BINDING, parts.routing.subarray(0, parts.routing.length - 1))).rejects.toBeInstanceOf(DecryptionError);
    await expect(openRouting(key, BINDING, new Uint8Array([...parts.routing, 0]))).rejects.toBeInstanceOf(DecryptionError);
  });

  it('refuses every changed byte of a leaf, with a message naming the leaf', async () => {
    const leaf = 3;
    const stored = parts.leaves.subarray(leaf * leafBytes, (leaf + 1) * leafBytes);
    for (let at = 0; at < leafBytes; at++) {
      const changed = stored.slice();
      changed[at] ^= 0x80;
      const error = await failure(decryptLeaf(key, searcher.routing, leaf, changed));
      expect(error).toBeInstanceOf(DecryptionError);
      expect(error.message).toContain(`leaf ${leaf}`);
    }
    await expect(decryptLeaf(key, searcher.routing, leaf, stored.subarray(1))).rejects.toThrow(/is \d+ bytes, every leaf is/);
  });

  it('refuses a leaf served under another number, version, index or owner', async () => {
    const leaf0 = parts.leaves.subarray(0, leafBytes);
    await expect(decryptLeaf(key, searcher.routing, 1, leaf0)).rejects.toThrow(/leaf 1 .* failed authentication/);
    for (const other of [
      { ...BINDING, version: toVersionId('20250101T000000000Z-000000000002') },
      { ...BINDING, indexName: toIndexName('other') },
      { ...BINDING, ownerId: toOwnerId('b'.repeat(52)) },
    ]) {
      const otherParts = await sealIndex(build, key, other);
      // Same key, same build, another binding: the routing part and leaves do not open here.
      await expect(openRouting(key, BINDING, otherParts.routing)).rejects.toBeInstanceOf(DecryptionError);
      await expect(decryptLeaf(key, searcher.routing, 0, otherParts.leaves.subarray(0, leafBytes))).rejects.toBeInstanceOf(DecryptionError);
    }
  });

  it('names the key when the routing data is sealed under another one', async () => {
    const other = generateIndexKey();
    await expect(openRouting(other, BINDING, parts.routing)).rejects.toThrow(new RegExp(`sealed under index key ${key.keyId}`));
    // A key with the right id but other bytes fails authentication.
    await expect(openRouting({ keyId: key.keyId, raw: other.raw }, BINDING, parts.routing)).rejects.toBeInstanceOf(DecryptionError);
  });

  it('gives no search result when a leaf it reads was changed, decoys included', async () => {
    const query = world.vectors.data.subarray(0, 8);
    const request = searcher.plan(query);
    for (const leaf of [request.real[0], request.leaves.find((l) => !request.real.includes(l))!]) {
      const tampered = parts.leaves.slice();
      tampered[leaf * leafBytes + 40] ^= 0x04;
      const fetched = await world.fetch(tampered)(request.leaves);
      await expect(searcher.open(request, fetched)).rejects.toBeInstanceOf(DecryptionError);
    }
    // A missing or extra leaf is refused too.
    const fetched = new Map(await world.fetch()(request.leaves));
    fetched.delete(request.leaves[0]);
    await expect(searcher.open(request, fetched)).rejects.toThrow(/do not include leaf/);
  });

  it('serializes the index key with its own magic', () => {
    expect(decodeIndexKey(encodeIndexKey(key))).toEqual(key);
    expect(() => decodeIndexKey(new Uint8Array([...new TextEncoder().encode('BSIK'), ...encodeIndexKey(key).subarray(4)]))).toThrow(/bad magic/);
  });
});
