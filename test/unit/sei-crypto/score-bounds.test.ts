/**
 * The bound that keeps SEI scores finite (lib/sei/score.ts, MAX_SCORE_OPERAND): entries of
 * trapdoors and stored vectors are at most 1e100 in magnitude, so a score over the largest
 * dimension CS1 accepts stays far below Number.MAX_VALUE. Checked at the extremes, including
 * the worst case where every term has the same sign, and with the search code itself.
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { dotAt } from '../../../lib/linalg/vectors';
import { MAX_SEI_DIMENSION } from '../../../lib/sei/owner-key';
import { searchIndexTree, validateSearch } from '../../../lib/sei/index-tree/search';
import { assertScoreOperands, isScoreOperand, MAX_SCORE_OPERAND } from '../../../lib/sei/score';
import { encryptedDimension } from '../../../lib/sei/types';
import { seiWorld } from '../../support/sei-fixture';

const M = encryptedDimension(MAX_SEI_DIMENSION);

describe('score operand bound', () => {
  it('accepts every finite entry up to 1e100 in magnitude and refuses the rest, naming the entry', () => {
    for (const ok of [0, -0, 1e-300, -1.5, MAX_SCORE_OPERAND, -MAX_SCORE_OPERAND]) expect(isScoreOperand(ok), String(ok)).toBe(true);
    for (const bad of [1.0000000000000002e100, -1e101, 1e308, -Number.MAX_VALUE, Infinity, -Infinity, NaN]) expect(isScoreOperand(bad), String(bad)).toBe(false);
    expect(() => assertScoreOperands([1, 2, 1e308], 'trapdoor')).toThrow(new InvalidInputError('trapdoor[2] is too large: entries must be at most 1e100 in magnitude, or scores could overflow (real ones are far smaller: check how it was made)'));
    expect(() => assertScoreOperands([1, NaN], 'vector')).toThrow(new InvalidInputError('vector[1] is not a finite number'));
    expect(() => assertScoreOperands([-Infinity], 'vector')).toThrow(new InvalidInputError('vector[0] is not a finite number'));
  });

  it('keeps the worst case finite: m = 2 * 4096 + 2 terms, every one +-1e100 * +-1e100 of the same sign', () => {
    const f = new Float64Array(M).fill(MAX_SCORE_OPERAND);
    const t = new Float64Array(M).fill(MAX_SCORE_OPERAND);
    const score = dotAt(f, 0, t, 0, M);
    expect(Number.isFinite(score)).toBe(true);
    expect(Math.abs(score / (M * 1e200) - 1)).toBeLessThan(1e-9);
    t.fill(-MAX_SCORE_OPERAND);
    expect(dotAt(f, 0, t, 0, M)).toBe(-score);
    // The float loop's partial sums stay within a hair of the exact bound m * 1e200 < 1e204.
    expect(Math.abs(score)).toBeLessThan(1e204);
  });

  it('keeps random extreme operands finite (mixed signs and magnitudes up to the bound)', () => {
    const random = seededRandom(17);
    const f = new Float64Array(M);
    const t = new Float64Array(M);
    for (let trial = 0; trial < 50; trial++) {
      for (let j = 0; j < M; j++) {
        f[j] = (random.next() < 0.5 ? -1 : 1) * 10 ** (100 - 200 * random.next() ** 4);
        t[j] = (random.next() < 0.5 ? -1 : 1) * 10 ** (100 - 200 * random.next() ** 4);
      }
      expect(Number.isFinite(dotAt(f, 0, t, 0, M))).toBe(true);
    }
  });

  it('the tree search refuses a trapdoor of 1e308 (which made every score infinite and left no child "best") and answers one at the bound', () => {
    const world = seiWorld(120, 6, 5, { maxLeafSize: 16 });
    const good = world.generator.trapdoor(Array.from({ length: 6 }, (_, i) => i / 10));
    const extreme = good.map((value) => (value < 0 ? -1e308 : 1e308));
    expect(() => validateSearch(world.tree, extreme, { k: 5 })).toThrow(/trapdoor\[0\] is too large/);
    expect(() => searchIndexTree(world.tree, extreme, { k: 5, probes: 2 })).toThrow(InvalidInputError);
    const largest = good.map((value) => (value < 0 ? -1e100 : 1e100));
    const { hits } = searchIndexTree(world.tree, largest, { k: 5, probes: 2 });
    expect(hits).toHaveLength(5);
    for (const hit of hits) expect(Number.isFinite(hit.score)).toBe(true);
  });
});
