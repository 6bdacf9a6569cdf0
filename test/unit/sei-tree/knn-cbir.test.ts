import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { encryptKnnCbirIndex, generateKnnCbirKey, knnCbirSearch, knnCbirTrapdoor } from '../../../scripts/bench/baselines/knn-cbir';
import { plaintextNearest, row } from '../../support/sei-fixture';

describe('kNN-CBIR baseline (classic ASPE, linear scan)', () => {
  it('ranks encrypted vectors exactly like plaintext Euclidean distance', () => {
    const { vectors } = clusteredVectors({ n: 500, d: 24, seed: 8 });
    const random = seededRandom(1);
    const key = generateKnnCbirKey(24, random);
    const encrypted = encryptKnnCbirIndex(key, vectors, random);
    expect(encrypted.d).toBe(50);
    for (let q = 0; q < 10; q++) {
      const query = Float64Array.from(row(vectors, q * 40), (v) => v + 0.01);
      const found = knnCbirSearch(encrypted, knnCbirTrapdoor(key, query, random), 10).map((i) => `img-${i}`);
      expect(found).toEqual(plaintextNearest(vectors, query, 10));
    }
  });
});
