import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { leaveOneOutPrecision } from '../../../lib/features/evaluation';
import { vectorSetFromRows } from '../../support/vectors';

describe('leaveOneOutPrecision', () => {
  // Points on a line: 0, 1, 2 (label 0) and 10, 11, 13 (label 1), plus 5.5 (label 1).
  const vectors = vectorSetFromRows([[0], [1], [2], [10], [11], [13], [5.5]]);
  const labels = [0, 0, 0, 1, 1, 1, 1];

  it('computes P@k with the query left out of its own results', () => {
    // Query 0: neighbours 1 (0), 2 (0), 5.5 (1), 10 (1) -> P@1 = 1, P@2 = 1, P@3 = 2/3, P@4 = 1/2.
    expect(leaveOneOutPrecision(vectors, labels, [0], [1, 2, 3, 4])).toEqual([1, 1, 2 / 3, 0.5]);
    // Query 6 (5.5, label 1): nearest are 2 (dist 3.5), 1 (4.5), 10 (4.5, tie broken by lower index: 1 first).
    expect(leaveOneOutPrecision(vectors, labels, [6], [1, 2, 3])).toEqual([0, 0, 1 / 3]);
    // Mean over queries, ks in any order.
    expect(leaveOneOutPrecision(vectors, labels, [0, 6], [3, 1])).toEqual([(2 / 3 + 1 / 3) / 2, 0.5]);
  });

  it('a perfect feature space scores 1 and a label-blind one scores the class frequency', () => {
    const perfect = vectorSetFromRows([[0], [0.1], [0.2], [100], [100.1], [100.2]]);
    expect(leaveOneOutPrecision(perfect, [0, 0, 0, 1, 1, 1], [0, 1, 2, 3, 4, 5], [2])).toEqual([1]);
    const blind = vectorSetFromRows([[0], [0], [0], [0]]);
    // All distances tie: ranks follow the index, so query 0 sees 1, 2, 3.
    expect(leaveOneOutPrecision(blind, [0, 1, 0, 1], [0], [3])).toEqual([1 / 3]);
  });

  it('validates its arguments', () => {
    expect(() => leaveOneOutPrecision(vectors, labels, [0], [7])).toThrow(InvalidParametersError);
    expect(() => leaveOneOutPrecision(vectors, labels, [0], [0])).toThrow(InvalidParametersError);
    expect(() => leaveOneOutPrecision(vectors, labels, [], [1])).toThrow(InvalidInputError);
    expect(() => leaveOneOutPrecision(vectors, labels, [9], [1])).toThrow(InvalidInputError);
    expect(() => leaveOneOutPrecision(vectors, [0, 1], [0], [1])).toThrow(InvalidInputError);
  });
});
