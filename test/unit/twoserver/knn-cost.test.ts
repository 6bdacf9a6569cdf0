/**
 * What a k-nearest identification examines. No exact search built on iDistance's pruning can
 * evaluate fewer records than those holding candidates at the k-th nearest distance r_k (the
 * bound, computed here on plaintext); the protocol's radius schedule must stay close to it
 * rather than overshoot (the earlier schedule jumped to the k-th distance of its first
 * candidates, which in high dimension covers far more: 1.4 times the bound here at k = 40).
 * Real bfv records of 64 templates (d = 128), 4,000 clustered templates, exact answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../lib/core/random';
import { createHeBackend, loadHeEvaluator } from '../../../lib/he';
import type { HeEvaluator } from '../../../lib/he/types';
import { candidateRanges, searchRanges } from '../../../lib/twoserver/idistance-query';
import { allSquaredDistances } from '../../../scripts/bench/baselines/plain-search';
import {
  buildPlainIndex,
  Cs1Server,
  Cs2Server,
  encryptIndex,
  IdentificationClient,
  InProcessCs2Transport,
  LocalShardWorkers,
  MemoryRecordStore,
} from '../../../lib/twoserver/protocol';
import type { PlainIndex, ProviderOutput } from '../../../lib/twoserver/protocol/provider';
import { positionsOfRecord, recordsOfRanges, shardLayout } from '../../../lib/twoserver/shards';
import { noisyProbes, syntheticTemplates } from '../../../scripts/bench/synthetic/templates';

const n = 4000;
const d = 128;
const QUERIES = 12;

describe('k-nearest cost against the iDistance bound (bfv, d = 128, n = 4,000)', () => {
  const templates = syntheticTemplates(n, d, { kind: 'clustered', seed: 5 });
  const probes = noisyProbes(templates, QUERIES, 0.05, seededRandom(9));
  let plain: PlainIndex;
  let output: ProviderOutput;
  let cs2: Cs2Server;
  let client: IdentificationClient;
  let evaluator: HeEvaluator;

  beforeAll(async () => {
    const he = await createHeBackend('bfv', { d, maxAbs: 999 });
    try {
      plain = buildPlainIndex(templates, { partitions: 63, eps: 16, random: seededRandom(3) });
      output = encryptIndex(he, templates, plain);
    } finally {
      he.dispose();
    }
    cs2 = await Cs2Server.load(output.secretMaterial);
    client = await IdentificationClient.load(output.publicMaterial);
    evaluator = await loadHeEvaluator(output.evaluationMaterial);
  }, 300_000);

  afterAll(() => {
    evaluator?.dispose();
    cs2?.dispose();
    client?.dispose();
  });

  /** Templates in the records that hold candidates at radius^2 = r (what any exact iDistance search examines). */
  function bound(query: Float64Array, r: number): number {
    const layout = shardLayout(
      output.cs1Index.shards.map((s) => s.templates),
      output.cs1Index.vectorsPerRecord,
    );
    const centre = allSquaredDistances(plain.idistance.referencePoints, query);
    let total = 0;
    for (const record of recordsOfRanges(layout, candidateRanges(plain.idistance, plain.segments, searchRanges(plain.idistance, centre, r)))) {
      const { start, end } = positionsOfRecord(layout, record);
      total += end - start;
    }
    return total;
  }

  for (const k of [1, 10, 40]) {
    it(`k = ${k}: exact, within 20% of the bound, in few rounds`, async () => {
      const workers = new LocalShardWorkers(
        evaluator,
        output.cs1Index.shards.map((s) => s.templates),
        output.shards.map((bytes) => new MemoryRecordStore(bytes)),
      );
      const cs1 = new Cs1Server(evaluator, output.cs1Index, workers, new InProcessCs2Transport(cs2, { record: false }));
      let examined = 0;
      let least = 0;
      let rounds = 0;
      for (let q = 0; q < QUERIES; q++) {
        const query = probes.data.slice(q * d, (q + 1) * d);
        const truth = Array.from(allSquaredDistances(templates, query), (dist2, i) => ({ id: String(i), dist2 })).sort(
          (a, b) => a.dist2 - b.dist2 || (a.id < b.id ? -1 : 1),
        );
        const result = await cs1.nearest(client.encryptRequest(query), k);
        expect(result.matches).toEqual(truth.slice(0, k));
        examined += result.stats.candidates;
        least += bound(query, truth[k - 1].dist2);
        rounds += result.stats.rounds;
      }
      expect(examined).toBeGreaterThanOrEqual(least);
      expect(examined).toBeLessThanOrEqual(1.2 * least);
      expect(rounds / QUERIES).toBeLessThanOrEqual(4);
    }, 300_000);
  }
});
