import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { selectRows, squaredDistanceAt, type VectorSet } from '../../../lib/linalg/vectors';
import { vectorSet } from '../../support/vectors';
import { buildPartition, centroidOf } from '../../../lib/ml/partition';
import { buildProximityGraph, DEFAULT_MAX_DEGREE, GraphWalker } from '../../../lib/ml/proximity-graph';
import { neighboursOf } from '../../support/ml';
import { DENSER_GRAPH_DEGREE, DENSER_GRAPH_EF, EF_STEPS, entryRouting } from '../../../lib/sei/index-tree/graph';
import { buildPlainTree } from '../../../lib/sei/index-tree/build';
import { planLeaves } from '../../../lib/ml/leaf-routing';
import { searchIndexTree, searchIndexTreeExhaustive } from '../../../lib/sei/index-tree/search';
import { TrapdoorScorer } from '../../../lib/sei/index-tree/scoring';
import { addImage } from '../../../lib/sei/index-tree/update';
import { encryptIndexVector, encryptIndexVectors } from '../../../lib/sei/index-vector';
import { generateOwnerSecret } from '../../../lib/sei/owner-key';
import { TrapdoorGenerator } from '../../../lib/sei/trapdoor';
import { generateUserSecret, issueUserKey } from '../../../lib/sei/user-key';
import { plaintextNearest, row, seiWorld } from '../../support/sei-fixture';
import { affineFrame, configurationOf, fitQuadric, quadricCoefficients } from '../sei-crypto/support/aspe-attacks';

function recallOf(found: string[], truth: string[]): number {
  const wanted = new Set(truth);
  return found.filter((id) => wanted.has(id)).length / truth.length;
}

describe('index graph: built and calibrated by the owner, walked by the cloud with encrypted scores', () => {
  const world = seiWorld(4000, 16, 21, { leafSize: 32, graph: true });
  const { tree, plain, generator, vectors } = world;
  const graph = tree.graph!;

  it('links every image: degrees bounded, every image reachable from any entry', () => {
    expect(graph).toBeDefined();
    const g = graph.graph;
    expect(g.n).toBe(4000);
    expect(graph.leafStart[tree.leaves.length]).toBe(4000);
    for (let i = 0; i < g.n; i++) {
      expect(g.degree[i]).toBeGreaterThan(0);
      expect(g.degree[i]).toBeLessThanOrEqual(g.maxDegree);
      for (const j of neighboursOf(g, i)) expect(j).not.toBe(i);
    }
    const seen = new Uint8Array(g.n);
    const stack = [graph.entryOfLeaf[0]];
    seen[stack[0]] = 1;
    let reached = 1;
    while (stack.length > 0) {
      for (const j of neighboursOf(g, stack.pop()!)) {
        if (seen[j] === 0) {
          seen[j] = 1;
          reached++;
          stack.push(j);
        }
      }
    }
    expect(reached).toBe(g.n);
  });

  it('stores a calibrated ef that reached the target on held-out vectors, and prefers the graph when it scores fewer vectors', () => {
    const s = graph.search;
    expect(EF_STEPS).toContain(s.ef);
    expect(s.reached).toBe(true);
    expect(s.measuredRecall).toBeGreaterThanOrEqual(0.95);
    expect(s.calibrationQueries).toBeGreaterThanOrEqual(100);
    expect(graph.preferred).toBe(s.scoredPerQuery < plain.stats.calibration!.scoredPerQuery);
  });

  it("the cloud's walk with encrypted scores visits and returns exactly what the owner's plaintext walk does", () => {
    const walker = new GraphWalker(graph.graph);
    // Plaintext vectors in position order (the graph's numbering).
    const position = new Float64Array(vectors.n * vectors.d);
    tree.leaves.forEach((leaf, l) => leaf.ids.forEach((id, slot) => position.set(row(vectors, Number(id.slice(4))), (graph.leafStart[l] + slot) * vectors.d)));
    for (let q = 0; q < 20; q++) {
      const query = row(vectors, q * 191);
      const scorer = TrapdoorScorer.of(tree, generator.trapdoor(query));
      const seeds = [graph.entryOfLeaf[q % tree.leaves.length]];
      const encrypted = walker.walk((node) => scorer.at(graph.vectors, node * tree.m), seeds, 24).sorted().map((e) => e.value);
      const scoredEncrypted = walker.scored;
      const plaintext = walker.walk((node) => squaredDistanceAt(position, node * vectors.d, query, 0, vectors.d), seeds, 24).sorted().map((e) => e.value);
      expect(encrypted).toEqual(plaintext);
      expect(scoredEncrypted).toBe(walker.scored);
    }
  });

  it("a search (the float32 navigation copy, greedy entry) returns what the owner's plaintext walk returns, ranked by exact encrypted scores", () => {
    const walker = new GraphWalker(graph.graph);
    const position = new Float64Array(vectors.n * vectors.d);
    tree.leaves.forEach((leaf, l) => leaf.ids.forEach((id, slot) => position.set(row(vectors, Number(id.slice(4))), (graph.leafStart[l] + slot) * vectors.d)));
    const idAt = (p: number) => {
      const l = tree.leaves.findIndex((_, i) => graph.leafStart[i + 1] > p);
      return tree.leaves[l].ids[p - graph.leafStart[l]];
    };
    for (let q = 0; q < 20; q++) {
      const query = row(vectors, q * 173 + 5).map((v, j) => v + 0.01 * Math.sin(q + j));
      const t = generator.trapdoor(query);
      const scorer = TrapdoorScorer.of(tree, t);
      const result = searchIndexTree(tree, t, { k: 10, route: 'graph', ef: 24 });
      // The owner's walk: entry by the same routing on exact scores, plaintext distances.
      const entry = planLeaves(tree, (node) => scorer.at(tree.nodeVectors, node * tree.m), entryRouting(1), { minImages: 1, leafSize: (l) => tree.leaves[l].count });
      expect(result.stats.nodesScored).toBe(entry.nodesScored);
      const owners = walker
        .walk((node) => squaredDistanceAt(position, node * vectors.d, query, 0, vectors.d), entry.leaves.map((l) => graph.entryOfLeaf[l]), 24)
        .sorted()
        .slice(0, 10)
        .map((e) => idAt(e.value));
      expect(result.hits.map((h) => h.id)).toEqual(owners);
      // Scores are the exact f'.t of the stored vectors (float64, the arithmetic of a leaf's ranking), ascending.
      for (const [i, hit] of result.hits.entries()) {
        const leaf = tree.locations.get(hit.id)!;
        const slot = tree.leaves[leaf].ids.indexOf(hit.id);
        expect(hit.score).toBe(scorer.atAsRanked(tree.leaves[leaf].vectors, slot * tree.m));
        expect(Math.abs(hit.score - scorer.at(tree.leaves[leaf].vectors, slot * tree.m))).toBeLessThan(1e-9 * (1 + Math.abs(hit.score)));
        if (i > 0) expect(hit.score).toBeGreaterThanOrEqual(result.hits[i - 1].score);
      }
    }
  });

  it('reaches high recall on fresh queries, ranks exactly, and scores far fewer vectors than a scan', () => {
    let recall = 0;
    let scored = 0;
    for (let q = 0; q < 100; q++) {
      // Not an indexed image: halfway between one and its 5th nearest neighbour.
      const a = row(vectors, q * 39);
      const b = row(vectors, Number(plaintextNearest(vectors, a, 6)[5].slice(4)));
      const query = a.map((v, j) => (v + b[j]) / 2);
      const t = generator.trapdoor(query);
      const result = searchIndexTree(tree, t, { k: 10, route: 'graph' });
      expect(result.hits.length).toBe(10);
      for (let i = 1; i < 10; i++) expect(result.hits[i].score).toBeGreaterThanOrEqual(result.hits[i - 1].score);
      recall += recallOf(result.hits.map((h) => h.id), plaintextNearest(vectors, query, 10));
      scored += result.stats.vectorsScored + result.stats.nodesScored;
    }
    expect(recall / 100).toBeGreaterThan(0.9);
    expect(scored / 100).toBeLessThan(4000 / 4);
  });

  it('with ef as large as the index, equals the exhaustive ranking (which equals plaintext ranking)', () => {
    for (let q = 0; q < 5; q++) {
      const query = row(vectors, q * 577);
      const t = generator.trapdoor(query);
      const walked = searchIndexTree(tree, t, { k: 10, route: 'graph', ef: 4000 });
      const exhaustive = searchIndexTreeExhaustive(tree, t, 10);
      expect(walked.hits.map((h) => h.id)).toEqual(exhaustive.hits.map((h) => h.id));
      // The same score for an image whichever route found it.
      expect(walked.hits.map((h) => h.score)).toEqual(exhaustive.hits.map((h) => h.score));
      expect(walked.hits.map((h) => h.id)).toEqual(plaintextNearest(vectors, query, 10));
    }
  });

  it('a request for probes, or route "tree", ranks leaves as before; bad settings are clear errors', () => {
    const t = generator.trapdoor(row(vectors, 7));
    const byTree = searchIndexTree(tree, t, { k: 10, probes: 2 });
    expect(byTree.stats.leavesVisited).toBe(2);
    expect(searchIndexTree(tree, t, { k: 10, route: 'tree' }).stats.leavesVisited).toBe(tree.search.probes);
    expect(() => searchIndexTree(tree, t, { k: 10, route: 'graph', ef: 0 })).toThrow(InvalidInputError);
    expect(() => searchIndexTree(tree, t, { k: 10, route: 'walk' as never })).toThrow(InvalidInputError);
    const paper = seiWorld(600, 8, 3, { layout: 'paper' });
    expect(paper.tree.graph).toBeUndefined(); // not asked for: the default
    expect(seiWorld(600, 8, 3, { layout: 'paper', graph: true }).tree.graph?.graph.n).toBe(600);
    expect(() => searchIndexTree(paper.tree, paper.generator.trapdoor(row(paper.vectors, 1)), { k: 5, route: 'graph' })).toThrow(/no proximity graph/);
  });

  it('adding an image drops the graph (it would not know the image); searches fall back to the tree and find it', () => {
    const small = seiWorld(1200, 16, 5, { leafSize: 32, graph: true });
    expect(small.tree.graph).toBeDefined();
    const vector = row(small.vectors, 3).map((v) => v + 1e-3);
    const ownerUser = generateUserSecret(16);
    const ownerGenerator = new TrapdoorGenerator(issueUserKey(small.owner, ownerUser.W), ownerUser);
    addImage(small.tree, 'img-new', encryptIndexVector(small.owner, vector), ownerGenerator.trapdoor(vector));
    expect(small.tree.graph).toBeUndefined();
    const hits = searchIndexTree(small.tree, small.generator.trapdoor(vector), { k: 3 }).hits.map((h) => h.id);
    expect(hits).toContain('img-new');
  });
});

describe('threat model: what the graph tells the cloud', () => {
  it('above the quadric threshold, the cloud rebuilds the very same graph from ciphertexts and leaf membership alone', () => {
    const d = 16;
    const n = quadricCoefficients(d + 1) - 1 + 214; // 400 images, more than the attack needs
    const owner = generateOwnerSecret(d);
    const random = seededRandom(1616);
    const features = vectorSet(n, d, Float64Array.from({ length: n * d }, () => random.gaussian()));
    const partition = buildPartition(features, { leafSize: 50, random: seededRandom(3) });
    const leafCentres = (set: VectorSet) => {
      const centres = new Float64Array(partition.leafCount * d);
      partition.members.forEach((members, leaf) => centres.set(centroidOf(set, members), leaf * d));
      return { n: partition.leafCount, d, data: centres };
    };
    // The owner's graph, on plaintext.
    const owners = buildProximityGraph(features, { members: partition.members, centres: leafCentres(features) }, { maxDegree: 12, candidateLeaves: 3 });

    // The cloud: ciphertexts only (attack (a)) give the vectors up to a similarity transform;
    // leaf membership is in the stored tree. The same build on that configuration.
    const ciphertexts = encryptIndexVectors(owner, features);
    const frame = affineFrame(ciphertexts, d + 1);
    const recovered = configurationOf(frame, fitQuadric(frame.points), d).vectors;
    const clouds = buildProximityGraph(recovered, { members: partition.members, centres: leafCentres(recovered) }, { maxDegree: 12, candidateLeaves: 3 });

    let edges = 0;
    for (let i = 0; i < n; i++) {
      expect(Array.from(neighboursOf(clouds, i))).toEqual(Array.from(neighboursOf(owners, i)));
      edges += owners.degree[i];
    }
    expect(edges).toBeGreaterThan(n * 4);
    // And the recovered geometry gives every image's true nearest neighbours outright.
    const some = selectRows(features, [0, 1, 2]);
    for (let i = 0; i < some.n; i++) {
      const byTruth = plaintextNearest(features, row(features, i), 6);
      const byCloud = plaintextNearest(recovered, row(recovered, i), 6);
      expect(byCloud).toEqual(byTruth);
    }
  });
});

describe('index graph: the degree the build chooses', () => {
  /** Uniform vectors: no clusters, so a sparse graph needs a large ef (like CNN features). */
  function uniform(n: number, d: number, seed: number): VectorSet {
    const random = seededRandom(seed);
    return vectorSet(n, d, Float64Array.from({ length: n * d }, () => random.next()));
  }
  const build = (vectors: VectorSet, graph: { maxDegree?: number }) =>
    buildPlainTree(vectors, { layout: 'balanced', leafSize: 32, targetRecall: 0.95, graph, random: seededRandom(3) }).graph!;

  it('tries a denser graph where the default one needs ef >= DENSER_GRAPH_EF, and keeps the one that scores fewer vectors', () => {
    const vectors = uniform(1200, 24, 8);
    const sparse = build(vectors, { maxDegree: DEFAULT_MAX_DEGREE });
    const dense = build(vectors, { maxDegree: DENSER_GRAPH_DEGREE });
    const chosen = build(vectors, {});
    expect(sparse.search.ef).toBeGreaterThanOrEqual(DENSER_GRAPH_EF);
    const denseWins = dense.search.reached && dense.search.scoredPerQuery < sparse.search.scoredPerQuery;
    expect(chosen.graph.maxDegree).toBe(denseWins ? DENSER_GRAPH_DEGREE : DEFAULT_MAX_DEGREE);
    expect(chosen.search).toEqual(denseWins ? dense.search : sparse.search);
  });

  it('builds one graph of the default degree where it walks cheaply, and never overrides a degree the owner set', () => {
    const world = seiWorld(2000, 16, 22, { leafSize: 32, graph: true });
    expect(world.plain.graph!.search.ef).toBeLessThan(DENSER_GRAPH_EF);
    expect(world.plain.graph!.graph.maxDegree).toBe(DEFAULT_MAX_DEGREE);
    expect(build(uniform(600, 24, 8), { maxDegree: 20 }).graph.maxDegree).toBe(20);
  });
});
