/**
 * The provider's storage order (key order, permuted inside each record) and the streamed
 * encryption of the records blob (one chunk of whole records at a time).
 */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { createHeBackend, loadHeEvaluator } from '../../../lib/he';
import type { HeProvider } from '../../../lib/he/types';
import type { VectorSet } from '../../../lib/linalg/vectors';
import {
  buildPlainIndex,
  Cs1Server,
  Cs2Server,
  IdentificationClient,
  InProcessCs2Transport,
  LocalShardWorkers,
  MemoryRecordStore,
} from '../../../lib/twoserver/protocol';
import { prepareIndexEncryption } from '../../../lib/twoserver/protocol/provider';
import { storageOrder } from '../../../lib/twoserver/protocol/provider-index';
import { bruteForceRange } from '../../support/plain-search';
import { noisyProbes, syntheticTemplates } from '../../../scripts/bench/synthetic/templates';

describe('storage order', () => {
  const order = Uint32Array.from({ length: 23 }, (_, i) => (i * 7) % 23); // some key order

  it('keeps the templates of each record and permutes them inside the record', () => {
    const stored = storageOrder({ order }, 5, seededRandom(1));
    expect([...stored].sort((a, b) => a - b)).toEqual([...order].sort((a, b) => a - b));
    for (let start = 0; start < 23; start += 5) {
      const record = (a: ArrayLike<number>) => [...Array.from(a).slice(start, start + 5)].sort((x, y) => x - y);
      expect(record(stored)).toEqual(record(order));
    }
    expect(Array.from(stored)).not.toEqual(Array.from(order));
  });

  it('is uniform inside a record: each template lands on each slot equally often', () => {
    const counts = Array.from({ length: 4 }, () => new Array<number>(4).fill(0));
    const random = seededRandom(2);
    const small = Uint32Array.from([0, 1, 2, 3]);
    for (let i = 0; i < 4000; i++) storageOrder({ order: small }, 4, random).forEach((template, slot) => counts[template][slot]++);
    for (const row of counts) for (const c of row) expect(Math.abs(c - 1000)).toBeLessThan(120);
  });

  it('is key order when a record holds one vector', () => {
    expect(Array.from(storageOrder({ order }, 1))).toEqual(Array.from(order));
    expect(() => storageOrder({ order }, 0)).toThrow(InvalidInputError);
  });
});

/** Counts the records the backend was asked to encrypt. */
function countingProvider(inner: HeProvider): HeProvider & { encrypted: number } {
  const spy = Object.create(inner) as HeProvider & { encrypted: number };
  spy.encrypted = 0;
  spy.encryptRecords = (vectors: VectorSet) => {
    spy.encrypted += inner.recordCount(vectors.n);
    return inner.encryptRecords(vectors);
  };
  return spy;
}

describe('streamed index encryption', () => {
  const d = 8;
  const n = 150;
  const templates = syntheticTemplates(n, d, { kind: 'clustered', seed: 21, clusters: 5, spread: 0.2 });
  const plain = buildPlainIndex(templates, { partitions: 5, eps: 4, random: seededRandom(22) });
  const params = { d, maxAbs: 999, k0: 384, k1: 12, k2: 56 } as const;

  it('pulls one chunk of whole records at a time, shard by shard, and the chunks form working shards (she)', async () => {
    const he = await createHeBackend('she', params, { allowInsecurePaperScheme: true });
    const counting = countingProvider(he);
    const { manifest, chunks } = prepareIndexEncryption(counting, templates, plain, { chunkRecords: 40, maxShardTemplates: 100 });
    const recordBytes = he.descriptor.recordBytes;
    const shardTemplates = manifest.cs1Index.shards.map((s) => s.templates);
    expect(shardTemplates.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...shardTemplates)).toBeLessThanOrEqual(100);
    expect(shardTemplates.reduce((a, b) => a + b, 0)).toBe(n);
    expect(manifest.shardBytes).toEqual(shardTemplates.map((t) => t * recordBytes));
    expect(manifest.recordsBytes).toBe(n * recordBytes);
    // Preparing encrypts the K reference points only, no template yet.
    const references = plain.idistance.partitions;
    expect(counting.encrypted).toBe(references);
    const shards: Uint8Array[] = [];
    let pulled = 0;
    shardTemplates.forEach((templatesInShard, s) => {
      const parts: Uint8Array[] = [];
      for (const chunk of chunks(s)) {
        // Lazy: only the chunks pulled so far were encrypted.
        parts.push(chunk);
        expect(counting.encrypted - references).toBe(pulled + Math.min(templatesInShard, parts.length * 40));
        expect(chunk.length % recordBytes).toBe(0);
        expect(chunk.length).toBeLessThanOrEqual(40 * recordBytes);
      }
      pulled += templatesInShard;
      expect(parts.length).toBe(Math.ceil(templatesInShard / 40));
      shards.push(Buffer.concat(parts));
      expect(shards[s].length).toBe(manifest.shardBytes[s]);
    });

    const cs2 = await Cs2Server.load(manifest.secretMaterial);
    const client = await IdentificationClient.load(manifest.publicMaterial);
    const evaluator = await loadHeEvaluator(manifest.evaluationMaterial);
    const workers = new LocalShardWorkers(evaluator, shardTemplates, shards.map((bytes) => new MemoryRecordStore(bytes)));
    const cs1 = new Cs1Server(evaluator, manifest.cs1Index, workers, new InProcessCs2Transport(cs2));
    const probes = noisyProbes(templates, 3, 0.05, seededRandom(23));
    for (let q = 0; q < 3; q++) {
      const query = probes.data.slice(q * d, (q + 1) * d);
      const tauSquared = bruteForceRange(templates, query, Number.MAX_SAFE_INTEGER)[9].dist2;
      const expected = bruteForceRange(templates, query, tauSquared).map((m) => ({ id: String(m.index), dist2: m.dist2 }));
      expect(expected.length).toBeGreaterThanOrEqual(10);
      const result = await cs1.rangeQuery(client.encryptRequest(query), tauSquared);
      expect(result.matches).toEqual(expected);
    }
    cs2.dispose();
    client.dispose();
    evaluator.dispose();
    he.dispose();
  });

  it('refuses chunks of no records', async () => {
    const he = await createHeBackend('she', params, { allowInsecurePaperScheme: true });
    expect(() => prepareIndexEncryption(he, templates, plain, { chunkRecords: 0 })).toThrow(InvalidInputError);
    he.dispose();
  });
});
