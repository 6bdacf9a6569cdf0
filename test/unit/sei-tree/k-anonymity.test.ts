import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { selectRows } from '../../../lib/linalg/vectors';
import { createKAnonymousRequest } from '../../../lib/sei/k-anonymity';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import { searchIndexTreeBatch } from '../../support/sei-tree';
import { row, seiWorld } from '../../support/sei-fixture';

describe('K-anonymous requests (paper 5.5)', () => {
  const { tree, generator, vectors } = seiWorld(400, 8, 17, { maxLeafSize: 30 });
  const pool = selectRows(vectors, Uint32Array.from({ length: 50 }, (_, i) => 300 + i));

  it('hides the real query among K-1 decoys and the server answers all K', () => {
    const query = row(vectors, 7);
    const request = createKAnonymousRequest((q) => generator.trapdoor(q), query, pool, 5, seededRandom(3));
    expect(request.trapdoors.length).toBe(5);
    expect(request.realIndex).toBeGreaterThanOrEqual(0);
    expect(request.realIndex).toBeLessThan(5);
    const results = searchIndexTreeBatch(tree, request.trapdoors, { k: 4, probes: 2 });
    expect(results.length).toBe(5);
    expect(results[request.realIndex].hits[0].id).toBe('img-7');
    // The decoys are other images: their top hits are the decoy images themselves.
    const decoyTops = results.filter((_, i) => i !== request.realIndex).map((r) => r.hits[0].id);
    expect(new Set(decoyTops).size).toBe(4);
    for (const id of decoyTops) expect(Number(id.slice(4))).toBeGreaterThanOrEqual(300);
    // Same answer as a single search for the real query.
    expect(results[request.realIndex].hits.map((h) => h.id)).toEqual(
      searchIndexTree(tree, generator.trapdoor(query), { k: 4, probes: 2 }).hits.map((h) => h.id),
    );
  });

  it('puts the real query at every position over many requests', () => {
    const seen = new Set<number>();
    const random = seededRandom(99);
    for (let i = 0; i < 60; i++) seen.add(createKAnonymousRequest((q) => Float64Array.from(q), row(vectors, 0), pool, 4, random).realIndex);
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('refuses K larger than the decoy pool allows', () => {
    expect(() => createKAnonymousRequest((q) => generator.trapdoor(q), row(vectors, 0), pool, 52)).toThrow(InvalidInputError);
    expect(() => createKAnonymousRequest((q) => generator.trapdoor(q), row(vectors, 0), pool, 0)).toThrow(/positive integer/);
  });
});
