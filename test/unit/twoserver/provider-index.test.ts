/**
 * The provider's updatable index: adds and deletes become new versions that re-encrypt only
 * the shards they touch and inherit the others, and identification over the new version is
 * exact for the new template set (a deleted template is never returned, an added one is).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { createHeBackend, loadHeEvaluator } from '../../../lib/he';
import type { HeProvider } from '../../../lib/he/types';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
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
import { ProviderIndex } from '../../../lib/twoserver/protocol/provider-index';
import type { Cs1Index } from '../../../lib/twoserver/protocol/types';
import { identificationPolicy } from '../../../lib/twoserver/policy';
import { syntheticTemplates } from '../../../scripts/bench/synthetic/templates';
import type { Match } from '../../../lib/twoserver/types';

const d = 8;
const n = 240;
const params = { d, maxAbs: 999, k0: 384, k1: 12, k2: 56 } as const;

/** What CS1's storage would hold: every published shard, by version and shard number. */
class PublishedShards {
  private readonly objects = new Map<string, Uint8Array>();

  /** Publishes the provider's pending version as `version` and returns its CS1 index. */
  publish(he: HeProvider, provider: ProviderIndex, version: string): Cs1Index {
    const index = provider.cs1Index(he);
    for (const s of provider.pending().fresh) this.objects.set(`${version}/${s}`, provider.encryptShard(he, s));
    provider.markPublished(version);
    return index;
  }

  /** The records of every shard of an index, resolving inherited shards to where they live. */
  resolve(index: Cs1Index, version: string): Uint8Array[] {
    return index.shards.map((shard, s) => {
      const key = shard.inherited === undefined ? `${version}/${s}` : `${shard.inherited.version}/${shard.inherited.shard}`;
      const bytes = this.objects.get(key);
      if (bytes === undefined) throw new Error(`no published shard ${key}`);
      return bytes;
    });
  }
}

function byDistanceThenId(a: Match, b: Match): number {
  return a.dist2 - b.dist2 || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

describe('copy-on-write updates of a two-server index', () => {
  let he: HeProvider;
  let cs2: Cs2Server;
  let client: IdentificationClient;
  const templates = syntheticTemplates(n, d, { kind: 'clustered', seed: 41, clusters: 6, spread: 0.15 });
  const ids = Array.from({ length: n }, (_, i) => `t${String(i).padStart(3, '0')}`);
  /** The plaintext the index should hold: id -> template. */
  const truth = new Map<string, Float64Array>(ids.map((id, i) => [id, templates.data.slice(i * d, (i + 1) * d)]));
  const published = new PublishedShards();
  let provider: ProviderIndex;
  let v1: Cs1Index;

  beforeAll(async () => {
    he = await createHeBackend('she', params, { allowInsecurePaperScheme: true });
    const plain = buildPlainIndex(templates, { partitions: 6, eps: 4, random: seededRandom(42) });
    const output = encryptIndex(he, templates, plain, { ids, maxShardTemplates: 50, policy: identificationPolicy({ maxTauSquared: 10_000 }) });
    provider = output.provider;
    v1 = published.publish(he, provider, 'v1');
    cs2 = await Cs2Server.load(output.secretMaterial);
    client = await IdentificationClient.load(output.publicMaterial);
  });

  afterAll(() => {
    cs2?.dispose();
    client?.dispose();
    he?.dispose();
  });

  async function serve(index: Cs1Index, version: string): Promise<Cs1Server> {
    const evaluator = await loadHeEvaluator(he.exportEvaluation());
    const shards = published.resolve(index, version);
    const workers = new LocalShardWorkers(
      evaluator,
      index.shards.map((s) => s.templates),
      shards.map((bytes) => new MemoryRecordStore(bytes)),
    );
    return new Cs1Server(evaluator, index, workers, new InProcessCs2Transport(cs2));
  }

  function expected(query: ArrayLike<number>): Match[] {
    const q = Float64Array.from(query);
    return [...truth].map(([id, t]) => ({ id, dist2: squaredDistanceAt(t, 0, q, 0, d) })).sort(byDistanceThenId);
  }

  async function expectExact(server: Cs1Server, queries: readonly Float64Array[]): Promise<void> {
    for (const query of queries) {
      const all = expected(query);
      const range = await server.rangeQuery(client.encryptRequest(query), all[6].dist2);
      expect(range.matches).toEqual(all.filter((m) => m.dist2 <= all[6].dist2));
      expect((await server.nearest(client.encryptRequest(query), 9)).matches).toEqual(all.slice(0, 9));
    }
  }

  it('publishes every shard of the first version, bounded in size', () => {
    expect(v1.shards.length).toBeGreaterThanOrEqual(5);
    expect(v1.shards.every((s) => s.inherited === undefined && s.templates <= 50)).toBe(true);
    expect(provider.pending()).toEqual({ fresh: [], inherited: v1.shards.map((_, s) => s) });
  });

  it('adds and deletes by re-encrypting only the shards they touch; the next version is exact', async () => {
    // A new template next to t017, one far from everything (grows its partition's dmax, which
    // moves every later partition's keys), and two deletions.
    const near = Float64Array.from(truth.get('t017')!, (v, j) => (j === 0 ? v + 3 : v));
    const far = Float64Array.from({ length: d }, (_, j) => (j % 2 === 0 ? 990 : -990));
    provider.add('new-near', near);
    provider.add('new-far', far);
    provider.delete('t005');
    provider.delete('t100');
    truth.set('new-near', near).set('new-far', far);
    truth.delete('t005');
    truth.delete('t100');

    // Four updates touch at most four of the first version's shards (a shard that outgrows the
    // bound is split in two, both re-encrypted): every other shard is inherited as is.
    const pending = provider.pending();
    expect(pending.fresh.length).toBeGreaterThanOrEqual(1);
    expect(pending.inherited.length).toBeGreaterThanOrEqual(v1.shards.length - 4);
    const v2 = published.publish(he, provider, 'v2');
    const freshTemplates = pending.fresh.reduce((sum, s) => sum + v2.shards[s].templates, 0);
    expect(freshTemplates).toBeLessThanOrEqual(4 * 50 + 2);
    expect(v2.metadata.n).toBe(n);
    expect(v2.templateIds).toContain('new-near');
    expect(v2.templateIds).not.toContain('t005');
    expect(v2.shards.filter((s) => s.inherited !== undefined).map((s) => s.inherited!.version)).toEqual(pending.inherited.map(() => 'v1'));

    const server = await serve(v2, 'v2');
    await expectExact(server, [near, far, truth.get('t017')!, templates.data.slice(5 * d, 6 * d), templates.data.slice(200 * d, 201 * d)]);
    // A deleted template is never returned, even for its own exact capture...
    const deleted = await server.rangeQuery(client.encryptRequest(templates.data.slice(5 * d, 6 * d)), 0);
    expect(deleted.matches.map((m) => m.id)).not.toContain('t005');
    // ...and an added one is found at distance 0.
    const added = await server.rangeQuery(client.encryptRequest(near), 0);
    expect(added.matches).toContainEqual({ id: 'new-near', dist2: 0 });
  });

  it('survives its private file, and a third version inherits from both earlier ones', async () => {
    const restored = ProviderIndex.decode(provider.encode());
    expect(restored.templateIds()).toEqual(provider.templateIds());
    expect(restored.pending()).toEqual(provider.pending());
    provider = restored;
    // A version with nothing to upload: every shard inherited, from v1 and from v2.
    provider.setPolicy(identificationPolicy({ maxTauSquared: 20_000 }));
    const v2b = published.publish(he, provider, 'v2b');
    expect(v2b.shards.every((s) => s.inherited !== undefined)).toBe(true);
    expect([...new Set(v2b.shards.map((s) => s.inherited!.version))].sort()).toEqual(['v1', 'v2']);
    await expectExact(await serve(v2b, 'v2b'), [templates.data.slice(17 * d, 18 * d)]);
    // Empty a whole partition (the one holding t150): it is dropped with its reference point.
    const partitions = provider.partitions;
    const index = provider.cs1Index(he);
    const starts = index.metadata.partitionStarts;
    const position = index.templateIds.indexOf('t150');
    let p = 0;
    while (starts[p + 1] <= position) p++;
    for (const id of index.templateIds.slice(starts[p], starts[p + 1])) {
      provider.delete(id);
      truth.delete(id);
    }
    expect(provider.partitions).toBe(partitions - 1);
    const v3 = published.publish(he, provider, 'v3');
    for (const shard of v3.shards) if (shard.inherited) expect(['v1', 'v2']).toContain(shard.inherited.version);
    await expectExact(await serve(v3, 'v3'), [templates.data.slice(150 * d, 151 * d), templates.data.slice(30 * d, 31 * d)]);
  });

  it('splits a shard that outgrows the bound', async () => {
    const shardsBefore = provider.shardCount;
    const base = truth.get('t017')!;
    for (let i = 0; i < 60; i++) {
      const t = Float64Array.from(base, (v, j) => (j === i % d ? v + 1 + Math.floor(i / d) : v));
      provider.add(`crowd-${i}`, t);
      truth.set(`crowd-${i}`, t);
    }
    expect(provider.shardCount).toBeGreaterThan(shardsBefore);
    const v4 = published.publish(he, provider, 'v4');
    expect(v4.shards.every((s) => s.templates <= 50)).toBe(true);
    await expectExact(await serve(v4, 'v4'), [base, Float64Array.from(base, (v) => v + 2)]);
  });

  it('refuses what cannot be', () => {
    expect(() => provider.add('t017', truth.get('t017')!)).toThrow(InvalidInputError);
    expect(() => provider.add('bad', [1, 2, 3])).toThrow(InvalidInputError);
    expect(() => provider.add('half', Float64Array.from({ length: d }, () => 0.5))).toThrow(InvalidInputError);
    expect(() => provider.delete('never-there')).toThrow(NotFoundError);
    // A policy change alone inherits every shard.
    provider.setPolicy(identificationPolicy({ maxTauSquared: 5, maxK: 3 }));
    expect(provider.pending().fresh).toEqual([]);
    expect(provider.cs1Index(he).policy).toMatchObject({ maxTauSquared: 5, maxK: 3 });
  });
});

describe('provider index bounds', () => {
  it('keeps at least one template', async () => {
    const he = await createHeBackend('she', params, { allowInsecurePaperScheme: true });
    try {
      const two: VectorSet = { n: 2, d, data: Float64Array.from({ length: 2 * d }, (_, i) => i) };
      const plain = buildPlainIndex(two, { partitions: 1, eps: 1, random: seededRandom(1) });
      const { provider } = encryptIndex(he, two, plain, ['a', 'b']);
      provider.delete('a');
      expect(() => provider.delete('b')).toThrow(InvalidInputError);
      expect(provider.templateIds()).toEqual(['b']);
    } finally {
      he.dispose();
    }
  });
});
