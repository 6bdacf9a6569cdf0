/**
 * What a cloud can and cannot do with a sealed index (docs/threat-model.md, "Sealed search").
 *
 * Protections, each tried against an attack that breaks SEI (the control):
 * - ciphertext only: SEI's stored vectors lie on a quadric (and in a (d+1)-dimensional affine
 *   subspace), which is what recovers their geometry; the sealed bytes, read as vectors the same
 *   way, satisfy no quadric and look uniform;
 * - known plaintext: d + 2 (vector, stored vector) pairs solve SEI's linear map; the same fit on
 *   sealed leaves predicts nothing, and a leaf's known plaintext (its keystream) opens no other
 *   leaf, because no nonce repeats;
 * - nothing stored contains a vector's encoding or an image id.
 *
 * Weaknesses, each demonstrated: the intersection of the leaf sets of a repeated query is its
 * real leaves; a cloud that logs many queries learns which leaves are asked for together and
 * picks out real leaves far above chance; result downloads tie images to leaves.
 */
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { encryptIndexVectors } from '../../../lib/sei/index-vector';
import { generateOwnerSecret } from '../../../lib/sei/owner-key';
import { readLayout } from '../../../lib/sealed/format';
import { encodeRows } from '../../../lib/sealed/quantise';
import { chooseLeaves, nearestLeaves } from '../../../lib/sealed/leaf-choice';
import { chiSquareUniform } from '../../support/chi-square';
import { sealedWorld } from '../../support/sealed-fixture';

/** sigma_min / sigma_max of the quadric design matrix [x_i x_j (i <= j), x_i, 1]: ~0 iff the rows lie on a quadric. */
function quadricFit(rows: number[][]): number {
  const design = rows.map((x) => {
    const features: number[] = [];
    for (let i = 0; i < x.length; i++) for (let j = i; j < x.length; j++) features.push(x[i] * x[j]);
    return [...features, ...x, 1];
  });
  const matrix = new Matrix(design);
  // Columns to unit norm, so the ratio does not depend on scale.
  for (let c = 0; c < matrix.columns; c++) {
    const column = matrix.getColumn(c);
    const norm = Math.hypot(...column) || 1;
    matrix.setColumn(c, column.map((v) => v / norm));
  }
  const sigma = new SingularValueDecomposition(matrix, { computeLeftSingularVectors: false, computeRightSingularVectors: false }).diagonal;
  return Math.min(...sigma) / Math.max(...sigma);
}

/** R^2 of a least-squares linear map from known plaintexts to stored values, on held-out rows. */
function heldOutR2(inputs: number[][], targets: number[][], train: number): number {
  const X = new Matrix(inputs.slice(0, train).map((x) => [...x, 1]));
  const Y = new Matrix(targets.slice(0, train));
  const W = new SingularValueDecomposition(X).solve(Y);
  let residual = 0;
  let total = 0;
  const mean = targets[0].map((_, j) => targets.slice(train).reduce((s, t) => s + t[j], 0) / (targets.length - train));
  for (let i = train; i < inputs.length; i++) {
    const predicted = new Matrix([[...inputs[i], 1]]).mmul(W).getRow(0);
    targets[i].forEach((t, j) => {
      residual += (t - predicted[j]) ** 2;
      total += (t - mean[j]) ** 2;
    });
  }
  return 1 - residual / total;
}

/** Which leaf holds each image id (read from the owner's plaintexts: ground truth for the attacks). */
function leafOfIds(build: { leafPlaintexts: readonly Uint8Array[]; d: number; quantisation: string }): Map<string, number> {
  const bytesPer = build.quantisation === 'float32' ? 4 : build.quantisation === 'float16' ? 2 : 1;
  const leafOf = new Map<string, number>();
  build.leafPlaintexts.forEach((plain, leaf) => {
    const count = new DataView(plain.buffer, plain.byteOffset).getUint32(0, true);
    let at = 4 + count * build.d * bytesPer;
    for (let i = 0; i < count; i++) {
      const length = plain[at++];
      leafOf.set(new TextDecoder().decode(plain.subarray(at, at + length)), leaf);
      at += length;
    }
  });
  return leafOf;
}

describe('sealed index against a curious cloud', async () => {
  const d = 3;
  const world = await sealedWorld(600, d, 41, { leafSize: 12, quantisation: 'float32', realLeaves: 2, leavesPerQuery: 8 });
  const { parts, searcher, build } = world;
  const { leafBytes, leafCount } = searcher.routing.layout;
  const m = 2 * d + 2;

  it('ciphertext only: SEI vectors lie on a quadric, sealed bytes do not and look uniform', () => {
    const owner = generateOwnerSecret(d);
    const sei = encryptIndexVectors(owner, world.vectors);
    const seiRows = Array.from({ length: 200 }, (_, i) => Array.from(sei.data.subarray(i * m, (i + 1) * m)));
    expect(quadricFit(seiRows)).toBeLessThan(1e-9);

    // Every leaf's ciphertext, read as vectors of m coordinates in [0, 1].
    const sealedRows: number[][] = [];
    for (let leaf = 0; sealedRows.length < 200; leaf++) {
      const bytes = parts.leaves.subarray((leaf % leafCount) * leafBytes + 12, (leaf % leafCount + 1) * leafBytes);
      for (let at = (Math.floor(leaf / leafCount) * m) % (bytes.length - m); at + m <= bytes.length && sealedRows.length < 200; at += 64) {
        sealedRows.push(Array.from(bytes.subarray(at, at + m), (b) => b / 255));
      }
    }
    expect(quadricFit(sealedRows)).toBeGreaterThan(1e-3);
    const histogram = new Array(256).fill(0);
    for (const byte of parts.leaves) histogram[byte]++;
    expect(chiSquareUniform(histogram).pValue).toBeGreaterThan(1e-6);
  });

  it('known plaintext: the linear map that decrypts SEI predicts nothing about sealed leaves', () => {
    const owner = generateOwnerSecret(d);
    const sei = encryptIndexVectors(owner, world.vectors);
    // The attacker knows (plaintext, ||plaintext||^2) and the stored vector of 40 images.
    const inputs = Array.from({ length: 140 }, (_, i) => {
      const f = Array.from(world.vectors.data.subarray(i * d, (i + 1) * d));
      return [...f, f.reduce((s, v) => s + v * v, 0)];
    });
    const seiTargets = inputs.map((_, i) => Array.from(sei.data.subarray(i * m, (i + 1) * m)));
    expect(heldOutR2(inputs, seiTargets, 40)).toBeGreaterThan(0.999999);
    // Sealed: even told which leaf holds each image, the leaf's bytes are unpredictable.
    const leafOf = leafOfIds(build);
    const sealedTargets = inputs.map((_, i) => {
      const leaf = leafOf.get(`img-${i}`)!;
      return Array.from(parts.leaves.subarray(leaf * leafBytes + 12, leaf * leafBytes + 12 + 16));
    });
    expect(heldOutR2(inputs, sealedTargets, 40)).toBeLessThan(0.3);
  });

  it('known plaintext: one leaf’s keystream opens no other leaf (no nonce repeats)', () => {
    const nonces = new Set<string>();
    for (let leaf = 0; leaf < leafCount; leaf++) nonces.add(Buffer.from(parts.leaves.subarray(leaf * leafBytes, leaf * leafBytes + 12)).toString('hex'));
    const { sealedStart } = readLayout(parts.routing);
    nonces.add(Buffer.from(parts.routing.subarray(sealedStart, sealedStart + 12)).toString('hex'));
    expect(nonces.size).toBe(leafCount + 1);
    const P = build.leafPlaintextBytes;
    const keystream = parts.leaves.subarray(12, 12 + P).map((c, i) => c ^ build.leafPlaintexts[0][i]);
    let recovered = 0;
    for (let leaf = 1; leaf < leafCount; leaf++) {
      const cipher = parts.leaves.subarray(leaf * leafBytes + 12, leaf * leafBytes + 12 + P);
      for (let i = 0; i < P; i++) if ((cipher[i] ^ keystream[i]) === build.leafPlaintexts[leaf][i]) recovered++;
    }
    // Chance level is 1/256 of the bytes.
    expect(recovered / ((leafCount - 1) * P)).toBeLessThan(2 / 256);
  });

  it('stores no vector encoding, no image id, in either part', () => {
    const stored = Buffer.concat([parts.routing, parts.leaves]);
    const row = new Uint8Array(d * 4);
    for (let i = 0; i < world.vectors.n; i++) {
      expect(stored.includes(Buffer.from(`img-${i}`))).toBe(false);
      encodeRows(world.vectors.data, d, [i], 'float32', undefined, row, 0);
      expect(stored.includes(Buffer.from(row))).toBe(false);
    }
  });

  // ---- weaknesses the threat model states -------------------------------------------------

  it('weakness: the leaf sets of a repeated query intersect in its real leaves', () => {
    const { routing } = searcher;
    const query = world.vectors.data.subarray(0, d);
    const real = nearestLeaves(routing, query, routing.realLeaves);
    let intersection = new Set(chooseLeaves(routing, query).leaves);
    let repeats = 1;
    while (intersection.size > real.length && repeats < 50) {
      const next = new Set(chooseLeaves(routing, query).leaves);
      intersection = new Set([...intersection].filter((leaf) => next.has(leaf)));
      repeats++;
    }
    expect([...intersection].sort((a, b) => a - b)).toEqual([...real].sort((a, b) => a - b));
    expect(repeats).toBeLessThan(20);
  });

  it('weakness: a cloud that logs many queries learns which leaves are asked together, and picks real leaves above chance', async () => {
    // A collection with many leaves and L = 4 R, so chance is 1/4.
    const big = await sealedWorld(1200, 8, 43, { leafSize: 10, realLeaves: 3, leavesPerQuery: 12, calibrationQueries: 5 });
    const { routing } = big.searcher;
    const { vectors } = big;
    const random = seededRandom(7);
    const queryOf = () => {
      const i = random.int(vectors.n);
      return Float64Array.from(vectors.data.subarray(i * 8, (i + 1) * 8), (v) => v + random.gaussian() * 0.01);
    };
    // The cloud's log: how often each pair of leaves was asked in one request.
    const together = new Map<number, number>();
    const pair = (a: number, b: number) => a * routing.layout.leafCount + b;
    for (let q = 0; q < 2000; q++) {
      const { leaves } = chooseLeaves(routing, queryOf());
      for (const a of leaves) for (const b of leaves) if (a !== b) together.set(pair(a, b), (together.get(pair(a, b)) ?? 0) + 1);
    }
    let correct = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const request = chooseLeaves(routing, queryOf());
      const score = (leaf: number) => request.leaves.reduce((s, other) => s + (other === leaf ? 0 : (together.get(pair(leaf, other)) ?? 0)), 0);
      const guess = [...request.leaves].sort((a, b) => score(b) - score(a)).slice(0, 3);
      correct += guess.filter((leaf) => request.real.includes(leaf)).length / 3;
    }
    const precision = correct / trials;
    console.log(`co-occurrence attack: ${(precision * 100).toFixed(1)}% of guessed leaves are real (chance 25%)`);
    expect(precision).toBeGreaterThan(0.5);
  });

  it('weakness: downloads of result images tie images to leaves, and then tell real leaves from decoys', async () => {
    const { routing } = searcher;
    const truth = leafOfIds(build);
    const random = seededRandom(9);
    // The cloud's log per query: the leaf set, then the image envelopes fetched (the top 5).
    const candidates = new Map<string, Set<number>>();
    for (let q = 0; q < 400; q++) {
      const i = random.int(world.vectors.n);
      const query = Float64Array.from(world.vectors.data.subarray(i * d, (i + 1) * d), (v) => v + random.gaussian() * 0.01);
      const { hits, request } = await searcher.search(query, { k: 5 }, world.fetch());
      for (const hit of hits) {
        const known = candidates.get(hit.imageId);
        candidates.set(hit.imageId, new Set(known === undefined ? request.leaves : request.leaves.filter((leaf) => known.has(leaf))));
      }
    }
    const pinned = [...candidates].filter(([, leaves]) => leaves.size === 1);
    const right = pinned.filter(([id, leaves]) => leaves.has(truth.get(id)!)).length;
    console.log(`download linking: ${pinned.length} of ${candidates.size} downloaded images pinned to one leaf, ${right} correctly`);
    expect(right).toBe(pinned.length);
    expect(pinned.length / candidates.size).toBeGreaterThan(0.3);
    expect(routing.layout.leavesPerQuery).toBeLessThan(routing.layout.leafCount);
    // New queries: a downloaded image already pinned names one of the query's real leaves.
    let exposed = 0;
    for (let q = 0; q < 100; q++) {
      const i = random.int(world.vectors.n);
      const { hits, request } = await searcher.search(world.vectors.data.subarray(i * d, (i + 1) * d), { k: 5 }, world.fetch());
      const named = hits.map((hit) => candidates.get(hit.imageId)).filter((leaves) => leaves?.size === 1).map((leaves) => [...leaves!][0]);
      for (const leaf of named) expect(request.real).toContain(leaf);
      if (named.length > 0) exposed++;
    }
    console.log(`download linking: ${exposed} of 100 later queries had a real leaf named by their downloads`);
    expect(exposed).toBeGreaterThan(30);
  });
});
