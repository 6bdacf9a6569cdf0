import { describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, NotFoundError } from '../../../lib/core/errors';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { searchIndexTree } from '../../../lib/sei/index-tree/search';
import { addImage, deleteImage, rebuildAdvice } from '../../../lib/sei/index-tree/update';
import { imageCount } from '../../support/sei-tree';
import { row, seiWorld } from '../../support/sei-fixture';

describe('dynamic update', () => {
  it('an added image is found by the next search, and a deleted one is gone', () => {
    const { tree, owner, generator, vectors } = seiWorld(800, 12, 21, { maxLeafSize: 30 });
    // A new image near image 10.
    const f = Float64Array.from(row(vectors, 10), (v, j) => v + (j === 0 ? 1e-4 : 0));
    const placement = generator.trapdoor(f);
    addImage(tree, 'new-image', encryptIndexVector(owner, f), placement);
    expect(imageCount(tree)).toBe(801);
    const { hits } = searchIndexTree(tree, generator.trapdoor(f), { k: 3 });
    expect(hits[0].id).toBe('new-image');

    deleteImage(tree, 'new-image');
    deleteImage(tree, 'img-10');
    const after = searchIndexTree(tree, generator.trapdoor(f), { k: 10, probes: 3 });
    expect(after.hits.map((h) => h.id)).not.toContain('new-image');
    expect(after.hits.map((h) => h.id)).not.toContain('img-10');
    expect(after.hits.length).toBe(10);
    expect(imageCount(tree)).toBe(799);
  });

  it('still returns k results after whole leaves are emptied', () => {
    const { tree, generator, vectors } = seiWorld(300, 8, 5, { maxLeafSize: 20 });
    const target = tree.leaves[0];
    for (const id of [...target.ids]) deleteImage(tree, id);
    expect(target.count).toBe(0);
    const { hits } = searchIndexTree(tree, generator.trapdoor(row(vectors, 0)), { k: 25 });
    expect(hits.length).toBe(25);
  });

  it('rejects duplicates, unknown ids, bad ids and wrong dimensions without changing the index', () => {
    const { tree, owner, generator, vectors } = seiWorld(200, 8, 9, { maxLeafSize: 20 });
    const f = row(vectors, 1);
    const enc = encryptIndexVector(owner, f);
    const t = generator.trapdoor(f);
    expect(() => addImage(tree, 'img-1', enc, t)).toThrow(ConflictError);
    expect(() => deleteImage(tree, 'nope')).toThrow(NotFoundError);
    expect(() => addImage(tree, 'bad id with spaces', enc, t)).toThrow(InvalidInputError);
    expect(() => addImage(tree, 'x', enc.subarray(2), t)).toThrow(/entries, this index needs/);
    const nan = Float64Array.from(enc);
    nan[0] = Number.NaN;
    expect(() => addImage(tree, 'x', nan, t)).toThrow(/not a finite number/);
    expect(imageCount(tree)).toBe(200);
    expect(tree.updates.added).toBe(0);
  });

  it('advises a rebuild once a quarter of the index has changed', () => {
    const { tree, owner, generator, vectors } = seiWorld(200, 8, 3, { maxLeafSize: 20 });
    expect(rebuildAdvice(tree).advisable).toBe(false);
    for (let i = 0; i < 51; i++) {
      const f = Float64Array.from(row(vectors, i), (v) => v + 0.001);
      addImage(tree, `extra-${i}`, encryptIndexVector(owner, f), generator.trapdoor(f));
    }
    const advice = rebuildAdvice(tree);
    expect(advice.advisable).toBe(true);
    expect(advice.reasons.join(' ')).toMatch(/added or deleted/);
  });
});
