/** Balancing leaves to one capacity: every vector kept once, no leaf above capacity, neighbours stay together. */
import { describe, expect, it } from 'vitest';
import { clusteredVectors } from '../../../scripts/bench/synthetic/vectors';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import { balanceLeaves } from '../../../lib/sealed/balance';
import { partitionVectors } from '../../../lib/sealed/partition';
import { seededRandom } from '../../../lib/core/random';

describe('balanced leaves', () => {
  it('keeps every vector once, fills leaves to one capacity, and keeps members near their centroid', () => {
    const { vectors } = clusteredVectors({ n: 1500, d: 8, seed: 3, clusters: 6 });
    const raw = partitionVectors(vectors, { leafSize: 48, random: seededRandom(1), balance: false });
    const sizes = raw.leaves.map((leaf) => leaf.members.length);
    expect(Math.max(...sizes)).toBeGreaterThan(1.3 * (1500 / raw.leaves.length)); // uneven to start with
    // Few neighbours per vector, to exercise the fallback beyond them.
    const balanced = balanceLeaves(vectors, raw, { slack: 0.02, neighbours: 3 });
    const capacity = Math.ceil((1500 / raw.leaves.length) * 1.02);
    expect(balanced.leaves.length).toBe(raw.leaves.length);
    expect(Math.max(...balanced.leaves.map((leaf) => leaf.members.length))).toBeLessThanOrEqual(capacity);
    const all = balanced.leaves.flatMap((leaf) => Array.from(leaf.members)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    // Most vectors sit in the leaf with the nearest centroid (balance moves only the overflow).
    let nearest = 0;
    balanced.leaves.forEach((leaf, index) => {
      for (const member of leaf.members) {
        let best = -1;
        let bestDistance = Infinity;
        balanced.leaves.forEach((other, j) => {
          const distance = squaredDistanceAt(vectors.data, member * 8, other.centre, 0, 8);
          if (distance < bestDistance) {
            bestDistance = distance;
            best = j;
          }
        });
        if (best === index) nearest++;
      }
    });
    expect(nearest / 1500).toBeGreaterThan(0.7);
    // Centroids are the means of their members.
    for (const leaf of balanced.leaves.slice(0, 5)) {
      for (let j = 0; j < 8; j++) {
        const mean = Array.from(leaf.members).reduce((s, m) => s + vectors.data[m * 8 + j], 0) / leaf.members.length;
        expect(leaf.centre[j]).toBeCloseTo(mean, 10);
      }
    }
  });
});
