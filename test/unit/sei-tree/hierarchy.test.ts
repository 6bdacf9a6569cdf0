import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import { buildHierarchy, dmValue, NearestNeighbours } from '../../../lib/sei/index-tree/hierarchy';
import type { PlainTreeNode } from '../../../lib/sei/index-tree/types';

const leaf = (x: number, y: number, members: number[]) => ({
  centre: Float64Array.of(x, y),
  members: Uint32Array.from(members),
});

function leavesUnder(nodes: PlainTreeNode[], id: number): number[] {
  const node = nodes[id];
  if (node.children.length === 0) return [id];
  return node.children.flatMap((c) => leavesUnder(nodes, c));
}

describe('DM threshold (paper section 3.2)', () => {
  it('reproduces the worked example: (8-2)/2 = 3 merges upward, (11-10)/10 = 0.1 joins', () => {
    expect(dmValue(8, 0, 2)).toBe(3);
    expect(dmValue(11, 0, 10)).toBeCloseTo(0.1, 12);
    expect(dmValue(5, 0, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('buildHierarchy', () => {
  it('merges same-level nearest pairs first and joins a close low node into a higher one', () => {
    // Two tight pairs far apart, and a fifth leaf close to the second pair.
    const leaves = [leaf(0, 0, [0]), leaf(1, 0, [1]), leaf(100, 0, [2]), leaf(101, 0, [3]), leaf(101.2, 0.5, [4])];
    const { nodes, root } = buildHierarchy(leaves, 2, 0.5);
    // Leaf 4 is nearest to leaf 3 at distance ~0.54: same level, so they merge first.
    const first = nodes[5];
    expect(first.children.sort()).toEqual([3, 4]);
    expect(first.level).toBe(1);
    // Every leaf appears exactly once under the root.
    expect(leavesUnder(nodes, root).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(nodes[root].size).toBe(5);
  });

  it('lets a lower node join a higher one when DM <= threshold', () => {
    // Pair (0,1) at distance 10 -> parent with IND 10, centre (5, 0); leaf 2 at (5, 10.5):
    // distance 10.5 from the parent, DM = 0.05 <= 0.5, so it becomes the parent's third child.
    const leaves = [leaf(0, 0, [0]), leaf(10, 0, [1]), leaf(5, 10.5, [2])];
    const { nodes, root } = buildHierarchy(leaves, 2, 0.5);
    expect(nodes.length).toBe(4);
    expect(root).toBe(3);
    expect(nodes[3].children).toEqual([0, 1, 2]);
    // IND is recomputed as the largest distance between children: |(0,0)-(10,0)| = 10 < 11.6.
    expect(nodes[3].ind).toBeCloseTo(Math.hypot(5, 10.5), 9);
    // Centre is the member-weighted mean.
    expect(Array.from(nodes[3].centre)).toEqual([5, 3.5]);
  });

  it('merges upward when DM > threshold', () => {
    const leaves = [leaf(0, 0, [0]), leaf(1, 0, [1]), leaf(0.5, 40, [2])];
    const { nodes, root } = buildHierarchy(leaves, 2, 0.5);
    expect(nodes[root].children.length).toBe(2);
    expect(nodes[root].level).toBe(2);
  });

  it('keeps parent levels above child levels and sizes consistent on random leaves', () => {
    const leaves = Array.from({ length: 60 }, (_, i) =>
      leaf(Math.sin(i * 12.9898) * 50, Math.cos(i * 78.233) * 50, [i, 100 + i].slice(0, 1 + (i % 2))),
    );
    const { nodes, root } = buildHierarchy(leaves, 2, 0.5);
    for (const node of nodes) {
      for (const c of node.children) expect(nodes[c].level).toBeLessThan(node.level);
      if (node.children.length > 0) {
        expect(node.size).toBe(node.children.reduce((s, c) => s + nodes[c].size, 0));
      }
    }
    expect(leavesUnder(nodes, root).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('a single leaf is its own root', () => {
    const { nodes, root } = buildHierarchy([leaf(1, 2, [0, 1])], 2, 0.5);
    expect(nodes.length).toBe(1);
    expect(root).toBe(0);
  });
});

describe('nearest-neighbour table of the hierarchy', () => {
  it('after every merge or join, holds for each active node the squared distance to its nearest active node', () => {
    const random = seededRandom(41);
    const d = 3;
    const node = (centre: Float64Array) => ({ centre, children: [] as number[], level: 0, ind: 0, size: 1, members: new Uint32Array(0) });
    const nodes = Array.from({ length: 60 }, () => node(Float64Array.from({ length: d }, () => random.gaussian())));
    const table = new NearestNeighbours(nodes, d);
    const check = () => {
      if (table.active.size < 2) return;
      for (const i of table.active) {
        let nearest = Infinity;
        for (const j of table.active) if (j !== i) nearest = Math.min(nearest, squaredDistanceAt(nodes[i].centre, 0, nodes[j].centre, 0, d));
        expect(table.nnDist[i]).toBe(nearest);
        expect(table.active.has(table.nn[i])).toBe(true);
        expect(squaredDistanceAt(nodes[i].centre, 0, nodes[table.nn[i]].centre, 0, d)).toBe(nearest);
      }
    };
    check();
    for (let step = 0; table.active.size > 1; step++) {
      const { a, b } = table.closestPair();
      if (step % 2 === 0) {
        // A new parent between a and b replaces both.
        nodes.push(node(Float64Array.from(nodes[a].centre, (v, j) => (v + nodes[b].centre[j]) / 2)));
        table.apply({ changed: nodes.length - 1, removed: [a, b] });
      } else {
        // b joins a, whose centre moves (possibly away from the nodes that had it as their nearest).
        nodes[a].centre = Float64Array.from(nodes[a].centre, (v, j) => v + (nodes[b].centre[j] - v) * 0.3 + random.gaussian());
        table.apply({ changed: a, removed: [b] });
      }
      check();
    }
  });
});
