/**
 * Faults end to end, SEI side (CS2 down is in identify.test.ts):
 *
 * - A publish that dies halfway leaves the previous version serving. Two ways:
 *   1. HTTP level: CS1's account process is killed (SIGKILL, like a crashed host: gateway,
 *      handler and emulators die at once) in the middle of the publish of a new index version, while
 *      its handler writes the new version's chunks (a DynamoDB proxy holds that write, so the
 *      kill lands there whatever the machine's load), then restarted on the same data: the old
 *      version serves with its own answers, the half-staged one is refused with a clear
 *      message, and the owner can publish the same parts again.
 *   2. Storage level, deterministic: the real publish code (IndexVersionService) runs in this
 *      process against the cloud's DynamoDB and S3, with a DynamoDB client that "dies" at a
 *      chosen write: while writing the staged version's chunks, or at the pointer flip.
 * - Concurrent publish and search: 8 clients search while the owner publishes versions
 *   alternating between two trees with disjoint image ids; every response's hits come from the
 *   version the response names, and equal that tree's in-memory answer.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seiIndexParts } from '../../lib/client/index-parts';
import type { Cs1Client } from '../../lib/client/cs1-client';
import type { SearchResponse } from '../../lib/client/types';
import type { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import type { Trapdoor } from '../../lib/sei/types';
import { INDEX_KIND_VALIDATORS } from '../../lib/service/index-kinds/index-kind-validators';
import { createIndexKinds } from '../../lib/service/index-kinds/index-kinds';
import { IndexVersionService } from '../../lib/service/versions/index-versions';
import { DynamoIndexCatalog } from '../../lib/storage/dynamo-index-catalog';
import { currentPointerKey, versionKey } from '../../lib/storage/dynamo-keys';
import { S3ObjectStore } from '../../lib/storage/s3-object-store';
import { registerOwner, startE2eCloud } from '../support/e2e-cloud';
import type { E2eCloud, E2eOwner } from '../support/e2e-cloud';
import { buildSeiCorpus, expectedResults, userTrapdoors, vectorAt } from '../support/e2e-sei';
import type { SeiCorpus } from '../support/e2e-sei';
import { toIndexName, toOwnerId, toVersionId } from '../support/ids';

const K = 8;
const PROBES = 3;

/** A DynamoDB client that fails like a dying process at the first command `dies` picks. */
function dyingClient(inner: DynamoDBDocumentClient, dies: (command: { constructor: { name: string }; input: Record<string, unknown> }) => boolean) {
  let dead = false;
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (dead || dies(command)) {
        dead = true;
        throw new Error('simulated crash: the process died here');
      }
      return inner.send(command as never);
    },
  };
  return { client: client as unknown as DynamoDBDocumentClient, died: () => dead };
}

describe('faults end to end: interrupted publishes, concurrent publish and search', () => {
  let e2e: E2eCloud;
  let owner: E2eOwner;
  let user: Cs1Client;
  let treeA: SeiCorpus;
  let treeB: SeiCorpus;
  let trapdoors: TrapdoorGenerator;
  let queries: Trapdoor[];

  /** The pointer item as CS1 stores it. */
  async function pointer(indexName: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await e2e.documents.send(new GetCommand({ TableName: e2e.table, Key: currentPointerKey(toOwnerId(owner.ownerId), toIndexName(indexName)), ConsistentRead: true }));
    return Item;
  }

  async function versionStatus(indexName: string, version: string): Promise<unknown> {
    const { Item } = await e2e.documents.send(new GetCommand({ TableName: e2e.table, Key: versionKey(toOwnerId(owner.ownerId), toIndexName(indexName), toVersionId(version)), ConsistentRead: true }));
    return Item?.status;
  }

  /** Searches and checks the whole answer is the named version's tree's answer. */
  async function searchMatches(indexName: string, treeOf: (version: string) => SeiCorpus | undefined): Promise<SearchResponse> {
    const response = await user.search(owner.ownerId, toIndexName(indexName), { trapdoors: queries.slice(0, 2), k: K, probes: PROBES });
    const tree = treeOf(response.version);
    expect(tree, `a response names version ${response.version}, which was never published`).toBeDefined();
    expect(response.results).toEqual(expectedResults(tree!.tree, queries.slice(0, 2), K, PROBES));
    return response;
  }

  beforeAll(async () => {
    // Users' very next search must see each publish.
    // The DynamoDB proxy lets the crash test stop CS1's handler at a chosen write.
    // A job whose worker was killed is reported failed once its lease (renewed every 2.5 s while it lives) has passed.
    const starting = startE2eCloud('faults', { pointerTtlMs: 0, dynamodbFaults: true, publishLeaseMs: 10_000 });
    treeA = buildSeiCorpus({ n: 400, d: 16, seed: 401, idPrefix: 'a-', build: { maxLeafSize: 32 } });
    treeB = buildSeiCorpus({ n: 400, d: 16, seed: 402, idPrefix: 'b-', owner: treeA.owner, build: { maxLeafSize: 32 } });
    trapdoors = userTrapdoors(treeA.owner);
    queries = Array.from({ length: treeA.queries.n }, (_, i) => trapdoors.trapdoor(vectorAt(treeA.queries, i)));
    e2e = await starting;
    owner = await registerOwner(e2e);
    user = (await owner.addUser('dana')).client;
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it('keeps the previous version serving when CS1 is killed during a publish job, and reports the job failed', async () => {
    const index = 'killed';
    const big = buildSeiCorpus({ n: 1500, d: 64, seed: 403, idPrefix: 'k-', build: { maxLeafSize: 64, apSampleSize: 200 } });
    const small = buildSeiCorpus({ n: 400, d: 64, seed: 404, idPrefix: 's-', owner: big.owner, build: { maxLeafSize: 32 } });
    const probe = userTrapdoors(big.owner).trapdoor(vectorAt(big.queries, 0));
    const answerOf = (corpus: SeiCorpus) => expectedResults(corpus.tree, [probe], K, PROBES);
    const ask = () => user.search(owner.ownerId, toIndexName(index), { trapdoors: [probe], k: K, probes: PROBES });

    // v1 serves.
    const v1 = await owner.client.publishIndex(owner.ownerId, toIndexName(index), 'sei', seiIndexParts(small.tree));
    const bigParts = seiIndexParts(big.tree);
    const sizes = { skeleton: bigParts.skeleton.length, leaves: bigParts.leaves.length };

    // v2: created and uploaded; its publish job starts (202), and CS1 is killed in the middle
    // of it. The DynamoDB proxy holds the worker's first write of v2's chunks: by then it has
    // copied and validated every part and written v2's version item (status "staging"), and it
    // can get no further. The kill lands exactly there, however loaded the machine is.
    const v2 = await owner.client.createIndexVersion(owner.ownerId, toIndexName(index), { kind: 'sei', parts: sizes });
    await owner.client.uploadIndexParts(v2, bigParts);
    const held = e2e.dynamodbFaults!.holdNext((request) => request.operation === 'BatchWriteItem' && request.body.includes(v2.version));
    const started = await owner.client.startPublish(owner.ownerId, toIndexName(index), v2.version, v1.version);
    expect(started).toMatchObject({ version: v2.version, status: 'running', expectedCurrent: v1.version });
    await held;
    const during = await owner.client.publishStatus(owner.ownerId, toIndexName(index), v2.version);
    expect(during).toMatchObject({ status: 'running', progress: { phase: 'staging', partsDone: 2, partsTotal: 2, bytesTotal: sizes.skeleton + sizes.leaves } });
    await e2e.killAccount('cs1');
    await e2e.cloud.startAccount('cs1');

    // v1 serves, whole; v2 is visibly half-staged.
    expect((await pointer(index))?.version).toBe(v1.version);
    expect(await versionStatus(index, v2.version)).toBe('staging');
    const after = await ask();
    expect(after.version).toBe(v1.version);
    expect(after.results).toEqual(answerOf(small));

    // Nothing renews the dead job's lease: once it has passed, the job is reported failed.
    const progress: string[] = [];
    const failed = await owner.client.waitForPublish(owner.ownerId, toIndexName(index), v2.version, { onPublishProgress: (job) => progress.push(job.status) }).catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 'UNAVAILABLE', status: 503, message: expect.stringMatching(/stopped at "staging" without finishing .* nothing was published; publish again/) });
    expect(progress.at(-1)).toBe('failed');

    // The owner publishes again: the half-staged version is refused by its job with a message
    // that says so (and changes nothing), and publishing the same parts as a new version goes through.
    const before = await e2e.snapshot();
    const retry = await owner.client.publishIndexVersion(owner.ownerId, toIndexName(index), v2.version, v1.version).catch((error: unknown) => error);
    expect(retry).toMatchObject({ status: 409, code: 'CONFLICT', message: expect.stringMatching(/not completely staged/) });
    expect(await e2e.snapshot()).toEqual(before);
    const phases = new Set<string>();
    const v3 = await owner.client.publishIndex(owner.ownerId, toIndexName(index), 'sei', bigParts, { expectedCurrent: v1.version, onPublishProgress: (job) => phases.add(job.progress.phase) });
    expect([...phases].every((phase) => ['queued', 'checking', 'copying', 'validating', 'staging', 'switching', 'done'].includes(phase))).toBe(true);
    expect(phases.has('done')).toBe(true);
    const finished = await ask();
    expect(finished.version).toBe(v3.version);
    expect(finished.results).toEqual(answerOf(big));
  });

  describe('storage level: the real publish code dies at a chosen write', () => {
    const index = 'crashing';
    let v1: string;

    /** The publish service of CS1 on the cloud's own table and bucket, with a dying DynamoDB client. */
    function dyingPublisher(dies: Parameters<typeof dyingClient>[1]) {
      const dying = dyingClient(e2e.documents, dies);
      const service = new IndexVersionService(
        {
          objects: new S3ObjectStore({ client: e2e.s3, bucket: e2e.bucket }),
          indexes: new DynamoIndexCatalog({ client: dying.client, tableName: e2e.table }),
        },
        createIndexKinds({ validators: INDEX_KIND_VALIDATORS }),
      );
      return { service, died: dying.died };
    }

    async function uploadedVersion(corpus: SeiCorpus): Promise<string> {
      const parts = seiIndexParts(corpus.tree);
      const created = await owner.client.createIndexVersion(owner.ownerId, toIndexName(index), { kind: 'sei', parts: { skeleton: parts.skeleton.length, leaves: parts.leaves.length } });
      await owner.client.uploadIndexParts(created, parts);
      return created.version;
    }

    beforeAll(async () => {
      v1 = (await owner.client.publishIndex(owner.ownerId, toIndexName(index), 'sei', seiIndexParts(treeA.tree))).version;
    });

    it('dies while writing the staged chunks: the old version serves, the broken one can never be published', async () => {
      const v2 = await uploadedVersion(treeB);
      const { service, died } = dyingPublisher((command) => command.constructor.name === 'BatchWriteCommand');
      await expect(service.publishVersion(toOwnerId(owner.ownerId), toIndexName(index), toVersionId(v2), toVersionId(v1))).rejects.toThrow(/simulated crash/);
      expect(died()).toBe(true);
      expect(await versionStatus(index, v2)).toBe('staging');
      expect((await pointer(index))?.version).toBe(v1);

      // Users see v1, whole.
      expect((await user.getIndex(owner.ownerId, toIndexName(index))).version).toBe(v1);
      expect((await searchMatches(index, (v) => (v === v1 ? treeA : undefined))).version).toBe(v1);

      // Publishing the half-staged version is refused with a clear message and changes nothing.
      const before = await e2e.snapshot();
      const retry = await owner.client.publishIndexVersion(owner.ownerId, toIndexName(index), toVersionId(v2), toVersionId(v1)).catch((error: unknown) => error);
      expect(retry).toMatchObject({ status: 409, message: expect.stringMatching(/is not completely staged .* stage the index again under a new version name/) });
      expect(await e2e.snapshot()).toEqual(before);

      // A new version goes through.
      const v3 = await owner.client.publishIndex(owner.ownerId, toIndexName(index), 'sei', seiIndexParts(treeB.tree), { expectedCurrent: toVersionId(v1) });
      expect((await searchMatches(index, (v) => (v === v3.version ? treeB : undefined))).version).toBe(v3.version);
      v1 = v3.version;
    });

    it('dies at the pointer flip: the old version serves; publishing the staged version again completes it', async () => {
      const serving = v1;
      const v2 = await uploadedVersion(treeA);
      const { service, died } = dyingPublisher((command) => command.constructor.name === 'PutCommand' && (command.input.Item as { type?: string } | undefined)?.type === 'index-pointer');
      await expect(service.publishVersion(toOwnerId(owner.ownerId), toIndexName(index), toVersionId(v2), toVersionId(serving))).rejects.toThrow(/simulated crash/);
      expect(died()).toBe(true);
      expect(await versionStatus(index, v2)).toBe('complete');
      expect((await pointer(index))?.version).toBe(serving);
      expect((await searchMatches(index, (v) => (v === serving ? treeB : undefined))).version).toBe(serving);

      // The owner's retry publishes the staged version without re-validating it.
      const published = await owner.client.publishIndexVersion(owner.ownerId, toIndexName(index), toVersionId(v2), toVersionId(serving));
      expect(published).toMatchObject({ version: v2, previousVersion: serving });
      expect((await searchMatches(index, (v) => (v === v2 ? treeA : undefined))).version).toBe(v2);
    });
  });

  it('never mixes versions while versions are published during searches', async () => {
    const index = 'busy';
    const partsA = seiIndexParts(treeA.tree);
    const partsB = seiIndexParts(treeB.tree);
    const trees = new Map<string, SeiCorpus>();
    const first = await owner.client.publishIndex(owner.ownerId, toIndexName(index), 'sei', partsA);
    trees.set(first.version, treeA);
    const expected = { a: expectedResults(treeA.tree, queries.slice(0, 2), K, PROBES), b: expectedResults(treeB.tree, queries.slice(0, 2), K, PROBES) };

    let publishing = true;
    const responses: SearchResponse[] = [];
    const errors: unknown[] = [];
    const searcher = async () => {
      while (publishing) {
        try {
          responses.push(await user.search(owner.ownerId, toIndexName(index), { trapdoors: queries.slice(0, 2), k: K, probes: PROBES }));
        } catch (error) {
          errors.push(error);
        }
      }
    };
    const publisher = async () => {
      try {
        let current = first.version;
        for (let round = 0; round < 6; round++) {
          const [tree, parts] = round % 2 === 0 ? [treeB, partsB] : [treeA, partsA];
          const published = await owner.client.publishIndex(owner.ownerId, toIndexName(index), 'sei', parts, { expectedCurrent: current });
          trees.set(published.version, tree);
          current = published.version;
        }
      } finally {
        publishing = false;
      }
    };
    await Promise.all([publisher(), ...Array.from({ length: 8 }, searcher)]);

    expect(errors).toEqual([]);
    expect(responses.length).toBeGreaterThan(8);
    const seen = new Set<string>();
    for (const response of responses) {
      const tree = trees.get(response.version);
      expect(tree, `version ${response.version} was never published`).toBeDefined();
      const prefix = tree === treeA ? 'a-' : 'b-';
      for (const { hits } of response.results) {
        expect(hits).toHaveLength(K);
        for (const hit of hits) expect(hit.imageId.startsWith(prefix), `${hit.imageId} in a response of version ${response.version}`).toBe(true);
      }
      expect(response.results).toEqual(tree === treeA ? expected.a : expected.b);
      seen.add(response.version);
    }
    // The searches did overlap the publishes: they saw several versions.
    console.info(`${responses.length} searches by 8 clients during 6 publishes saw ${seen.size} of ${trees.size} versions`);
    expect(seen.size).toBeGreaterThan(1);
  });
});
