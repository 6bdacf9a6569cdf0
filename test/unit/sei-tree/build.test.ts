import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { buildEncryptedIndexTree } from '../../../lib/sei/index-tree/build';
import { decodeIndexSkeleton, encodeIndexTreeParts, LEGACY_SEARCH_DEFAULTS } from '../../../lib/sei/index-tree/format';
import { decodeIndexTree, encodeIndexTree } from '../../support/sei-tree';
import { searchIndexTree, searchIndexTreeExhaustive } from '../../../lib/sei/index-tree/search';
import { nearestLeaf } from '../../../lib/sei/index-tree/update';
import { generateOwnerSecret } from '../../../lib/sei/owner-key';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import { generateUserSecret, issueUserKey } from '../../../lib/sei/user-key';
import { plaintextNearest, row, seiWorld } from '../../support/sei-fixture';

/** A gallery and fresh queries from the same distribution, an owner, a user. */
function world(n: number, d: number, seed: number) {
  const { vectors } = clusteredVectors({ n: n + 60, d, seed });
  const gallery = { n, d, data: vectors.data.slice(0, n * d) };
  const queries = { n: 60, d, data: vectors.data.slice(n * d) };
  const ids = Array.from({ length: n }, (_, i) => `img-${i}`);
  const owner = generateOwnerSecret(d);
  const secret = generateUserSecret(d);
  const user = new TrapdoorGenerator(issueUserKey(owner, secret.W), secret);
  return { gallery, queries, ids, owner, user };
}

function recall(tree: Parameters<typeof searchIndexTree>[0], w: ReturnType<typeof world>, probes?: number): number {
  let sum = 0;
  for (let q = 0; q < w.queries.n; q++) {
    const query = row(w.queries, q);
    const { hits } = searchIndexTree(tree, w.user.trapdoor(query), { k: 10, ...(probes === undefined ? {} : { probes }) });
    const truth = new Set(plaintextNearest(w.gallery, query, 10));
    sum += hits.filter((h) => truth.has(h.id)).length / 10;
  }
  return sum / w.queries.n;
}

describe('index build: layouts and calibrated search defaults', () => {
  const w = world(3000, 16, 31);
  const { tree, plain } = buildEncryptedIndexTree(w.owner, w.gallery, w.ids, { leafSize: 30, random: seededRandom(2) });

  it('indexes every image once, held-out calibration vectors included', () => {
    expect(tree.locations.size).toBe(3000);
    expect(tree.leaves.reduce((s, l) => s + l.count, 0)).toBe(3000);
    expect(plain.nodes[plain.root].size).toBe(3000);
    expect(Math.max(...tree.leaves.map((l) => l.count))).toBeLessThanOrEqual(60);
  });

  it('stores the cheapest settings that reach the target on held-out vectors, and they hold on fresh queries', () => {
    const { search } = tree;
    expect(search.strategy).toBe('beam');
    expect(search.targetRecall).toBe(0.95);
    expect(search.calibrationQueries).toBe(300);
    expect(search.measuredRecall).toBeGreaterThanOrEqual(0.95);
    expect(plain.stats.calibration?.reached).toBe(true);
    expect(recall(tree, w)).toBeGreaterThan(0.92);
    // Fewer probes than calibrated do worse: the default is not needlessly high either.
    if (search.probes > 1) expect(plain.stats.calibration!.scoredPerQuery).toBeLessThan(3000 / 2);
  });

  it('ranks exactly within what it visits: every leaf gives the exhaustive ranking, reduced or not', () => {
    expect(tree.reduction).toBeDefined();
    const full = { ...tree, reduction: undefined };
    for (let q = 0; q < 10; q++) {
      const t = w.user.trapdoor(row(w.queries, q));
      const all = searchIndexTree(tree, t, { k: 10, probes: tree.leaves.length }).hits.map((h) => h.id);
      expect(all).toEqual(searchIndexTreeExhaustive(tree, t, 10).hits.map((h) => h.id));
      expect(searchIndexTreeExhaustive(full, t, 10).hits.map((h) => h.id)).toEqual(all);
      expect(all).toEqual(plaintextNearest(w.gallery, row(w.queries, q), 10));
    }
  });

  it('keeps the paper\'s tree and search: descent, one probe = one leaf reached by greedy descent', () => {
    const paper = buildEncryptedIndexTree(w.owner, w.gallery, w.ids, { layout: 'paper', maxLeafSize: 60, apSampleSize: 600, random: seededRandom(2) });
    expect(paper.plain.stats.layout).toBe('paper');
    expect(paper.tree.search.strategy).toBe('descent');
    for (let q = 0; q < 10; q++) {
      const t = w.user.trapdoor(row(w.queries, q));
      const result = searchIndexTree(paper.tree, t, { k: 5, probes: 1 });
      const leaf = nearestLeaf(paper.tree, t);
      if (paper.tree.leaves[leaf].count >= 5) {
        expect(result.stats.leavesVisited).toBe(1);
        for (const hit of result.hits) expect(paper.tree.locations.get(hit.id)).toBe(leaf);
      }
    }
    // With its calibrated probes the paper's tree reaches the target too, only at a higher cost.
    expect(recall(paper.tree, w)).toBeGreaterThan(0.9);
  });

  it('without a target uses one probe; a tiny index ranks every leaf', () => {
    const uncalibrated = buildEncryptedIndexTree(w.owner, w.gallery, w.ids, { leafSize: 30, targetRecall: 0, random: seededRandom(2) });
    expect(uncalibrated.tree.search).toMatchObject({ probes: 1, targetRecall: 0, calibrationQueries: 0 });
    expect(Number.isNaN(uncalibrated.tree.search.measuredRecall)).toBe(true);
    const tiny = seiWorld(150, 8, 3, { leafSize: 10 });
    expect(tiny.tree.search.probes).toBe(tiny.tree.leaves.length);
    const t = tiny.generator.trapdoor(row(tiny.vectors, 4));
    expect(searchIndexTree(tiny.tree, t, { k: 10 }).hits).toEqual(searchIndexTreeExhaustive(tiny.tree, t, 10).hits);
  });

  it('rejects bad build options with clear errors', () => {
    expect(() => buildEncryptedIndexTree(w.owner, w.gallery, w.ids, { layout: 'flat' as never })).toThrow(/layout/);
    expect(() => buildEncryptedIndexTree(w.owner, w.gallery, w.ids, { targetRecall: 1.2 })).toThrow(InvalidInputError);
    expect(() => buildEncryptedIndexTree(w.owner, w.gallery, w.ids, { leafSize: 0 })).toThrow(/leafSize/);
  });

  it('stores the defaults and the reduction in the skeleton; version 1 skeletons read with the old defaults', () => {
    const decoded = decodeIndexTree(encodeIndexTree(tree));
    expect(decoded.search).toEqual(tree.search);
    expect(decoded.reduction?.coupling).toEqual(tree.reduction?.coupling);
    const t = w.user.trapdoor(row(w.queries, 0));
    expect(searchIndexTree(decoded, t, { k: 10 }).hits).toEqual(searchIndexTree(tree, t, { k: 10 }).hits);

    // Version 1: the same bytes without the search defaults and the reduction.
    const { skeleton } = encodeIndexTreeParts(tree);
    const nodeCount = tree.leafOf.length;
    const v2Sections = 32 + 4 + (tree.d + 1) * (tree.d + 2) * 8;
    const at = 4 + 2 + 4 + 2 + tree.ownerKeyId.length + 12 + nodeCount * tree.m * 8 + (nodeCount + 1) * 4 + tree.childIds.length * 4 + nodeCount * 4;
    const v1 = new Uint8Array(skeleton.length - v2Sections);
    v1.set(skeleton.subarray(0, at));
    v1.set(skeleton.subarray(at + v2Sections), at);
    new DataView(v1.buffer).setUint16(4, 1, true);
    const old = decodeIndexSkeleton(v1);
    expect(old.search).toEqual(LEGACY_SEARCH_DEFAULTS);
    expect(old.reduction).toBeUndefined();
    expect(old.leafDirectory).toEqual(decodeIndexSkeleton(skeleton).leafDirectory);
  });
});
