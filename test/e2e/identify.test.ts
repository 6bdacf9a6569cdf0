/**
 * Two-server identification end to end: the provider (the owner) encrypts templates with BFV
 * into three shards, hands the HE secret to CS2's operator, who imports it with
 * scripts/cs2-import-key.ts into the local CS2's key directory, and publishes the index at CS1
 * with its policy (largest k and tauSquared, a per-user budget); a user encrypts a query with the
 * index's public material and identifies through CS1, whose coordinator has the shards holding
 * candidates evaluated by the identify worker function (invoked through the local cloud's
 * Lambda API, in its own execution environments) and asks CS2 over the local transport.
 * Answers are ids only, equal to brute force; requests beyond the policy are refused and a spent
 * budget is a 429. The trilateration attack fails to recover any template coordinate; an owner's
 * add and delete publish a copy-on-write version that identification follows. CS2 down -> 503
 * with a clear message, and recovery when it is back; CS2 refuses every caller but CS1.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twoServerIndexParts } from '../../lib/client/index-parts';
import type { Cs1Client } from '../../lib/client/cs1-client';
import type { IdentifyResponse, TwoServerIndexSummary } from '../../lib/client/types';
import { seededRandom } from '../../lib/core/random';
import { scaledTimeout } from '../../lib/core/timeout-scale';
import { createHeBackend } from '../../lib/he';
import { loadHeProvider } from '../../lib/he/provider';
import { identificationPolicy } from '../../lib/twoserver/policy';
import type { VectorSet } from '../../lib/linalg/vectors';
import { allSquaredDistances } from '../../scripts/bench/baselines/plain-search';
import { buildPlainIndex, encryptIndex, IdentificationClient } from '../../lib/twoserver/protocol';
import type { ProviderOutput } from '../../lib/twoserver/protocol/provider';
import { noisyProbes, syntheticTemplates } from '../../scripts/bench/synthetic/templates';
import { errorMessageOf, indexPath, rawRequest, registerOwner, startE2eCloud } from '../support/e2e-cloud';
import type { E2eCloud, E2eOwner, RawResponse } from '../support/e2e-cloud';
import { toIndexName } from '../support/ids';

const run = promisify(execFile);
const INDEX = 'faces';
/** d = 64 at N = 8192: 128 templates per record, so 300 templates span 3 records. */
const PARAMS = { d: 64, maxAbs: 999, polyModulusDegree: 8192 } as const;
const N = 300;
/**
 * The owner's policy: k <= 10, tau^2 <= 8,000,000 (about 2^23, so an exact distance costs 23
 * range answers by bisection), 30 identifications per user and hour.
 */
const POLICY = identificationPolicy({ maxK: 10, maxTauSquared: 8_000_000, budget: { queries: 30, windowSeconds: 3600 } });
/** Attacks send dozens of HE queries: twice the suite's (load-scaled) room. */
const ATTACK_TIMEOUT_MS = 2 * scaledTimeout(60_000);
const REPO = join(import.meta.dirname, '..', '..');

interface Expected {
  templateId: string;
  dist2: number;
}

/** Every template by (squared distance, id): the protocol's order. */
function bruteForce(templates: VectorSet, ids: readonly string[], query: ArrayLike<number>): Expected[] {
  return Array.from(allSquaredDistances(templates, query), (dist2, i) => ({ templateId: ids[i], dist2 })).sort(
    (a, b) => a.dist2 - b.dist2 || (a.templateId < b.templateId ? -1 : a.templateId > b.templateId ? 1 : 0),
  );
}

describe('two-server identification end to end (bfv): CS1 -> CS2', () => {
  let e2e: E2eCloud;
  let owner: E2eOwner;
  let user: Cs1Client;
  let userToken: string;
  let templates: VectorSet;
  let ids: string[];
  let output: ProviderOutput;
  let client: IdentificationClient;
  let probes: VectorSet;
  let keyId: string;
  let providerKey: Uint8Array;
  let firstVersion: string;

  const identifyPath = () => `${indexPath(owner.ownerId, INDEX)}/identify`;
  const identifyRaw = (query: Uint8Array, body: Record<string, unknown>): Promise<RawResponse> =>
    rawRequest(e2e.url, identifyPath(), { token: userToken, body: { query: Buffer.from(query).toString('base64'), ...body } });

  beforeAll(async () => {
    const cloudStarting = startE2eCloud('identify');
    // The provider's side: templates, plaintext index, BFV encryption (seeded data).
    templates = syntheticTemplates(N, PARAMS.d, { kind: 'clustered', seed: 301, clusters: 6, spread: 0.2 });
    ids = Array.from({ length: N }, (_, i) => `person-${String(i).padStart(3, '0')}`);
    const he = await createHeBackend('bfv', PARAMS);
    try {
      keyId = he.descriptor.keyId;
      providerKey = he.exportProviderKey();
      const plain = buildPlainIndex(templates, { partitions: 6, eps: 2, random: seededRandom(302) });
      // One record per shard: three shards, each its own object.
      output = encryptIndex(he, templates, plain, { ids, policy: POLICY, maxShardTemplates: 128 });
    } finally {
      he.dispose();
    }
    probes = noisyProbes(templates, 4, 0.05, seededRandom(303));
    e2e = await cloudStarting;

    // CS2's operator imports the secret it was handed, with the operator's tool.
    const handover = await mkdtemp(join(tmpdir(), 'blindsight-handover-'));
    try {
      const file = join(handover, 'cs2-secret.bin');
      await writeFile(file, output.secretMaterial, { mode: 0o600 });
      const keyDir = join(e2e.dataDir, 'cs2', 'keys');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'cs2-import-key.ts'), '--file', file, '--key-dir', keyDir], { cwd: REPO });
      expect(stdout).toContain(`imported key ${keyId} (bfv, d = 64)`);
      const stored = join(keyDir, `${keyId}.secret`);
      expect((await stat(stored)).mode & 0o777).toBe(0o600);
      expect(Buffer.from(await readFile(stored)).equals(Buffer.from(output.secretMaterial))).toBe(true);
      // Importing the same secret again changes nothing.
      const again = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'cs2-import-key.ts'), '--file', file, '--key-dir', keyDir], { cwd: REPO });
      expect(again.stdout).toContain('already imported');
    } finally {
      await rm(handover, { recursive: true, force: true });
    }

    // The owner publishes at CS1: records, CS1's index and evaluation key, the public material.
    owner = await registerOwner(e2e);
    const parts = twoServerIndexParts(output);
    expect(Object.keys(parts).sort()).toEqual(['cs1-index', 'evaluation', 'public', 'records-0000', 'records-0001', 'records-0002']);
    firstVersion = (await owner.client.publishIndex(owner.ownerId, toIndexName(INDEX), 'two-server', parts)).version;
    output.provider.markPublished(firstVersion);
    const added = await owner.addUser('gate-7');
    // Warm both functions (identify and its worker): a cold start loads the HE library and the
    // index in each. The owner's queries are not budgeted; the local cloud's limits stretch with
    // the machine's load (BLINDSIGHT_TIMEOUT_SCALE), so one request suffices.
    const warm = await IdentificationClient.load(output.publicMaterial);
    try {
      const answer = await rawRequest(e2e.url, `${indexPath(owner.ownerId, INDEX)}/identify`, {
        token: owner.ownerToken,
        body: { query: Buffer.from(warm.encryptRequest(betweenShards())).toString('base64'), tauSquared: POLICY.maxTauSquared },
      });
      expect(answer.status, answer.text).toBe(200);
    } finally {
      warm.dispose();
    }
    user = added.client;
    userToken = added.token;

    // The user's client encrypts with the public material CS1 hands out (checked against its SHA-256).
    const description = await user.getIndex<TwoServerIndexSummary>(owner.ownerId, toIndexName(INDEX));
    client = await IdentificationClient.load(await user.downloadPublicMaterial(description));
    // The index tells users its limits.
    expect(description.summary.policy).toEqual(POLICY);
  }, ATTACK_TIMEOUT_MS);

  afterAll(async () => {
    client?.dispose();
    await e2e?.stop();
  });

  it('describes the index: backend, key id, sizes; never the secret', async () => {
    const description = await user.getIndex<TwoServerIndexSummary>(owner.ownerId, toIndexName(INDEX));
    expect(description.kind).toBe('two-server');
    expect(description.summary).toMatchObject({ backend: 'bfv', keyId, d: 64, maxAbs: 999, templateCount: N });
    // CS1's bucket holds no copy of the secret.
    const listing = (await e2e.snapshot()).objects.join('\n');
    expect(listing).not.toMatch(/secret/i);
  });

  it('answers range queries exactly like brute force', async () => {
    for (let p = 0; p < 2; p++) {
      const probe = probes.data.subarray(p * PARAMS.d, (p + 1) * PARAMS.d);
      const expected = bruteForce(templates, ids, probe);
      // A threshold that takes in the 4 nearest (and ties).
      const tauSquared = expected[3].dist2;
      const response = await user.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(probe), tauSquared });
      expect(response.templateIds).toEqual(expected.filter((m) => m.dist2 <= tauSquared).map((m) => m.templateId));
      expect(response.templateIds.length).toBeGreaterThanOrEqual(4);
      expect(response.truncated).toBe(false);
    }
  });

  it('answers k-nearest queries exactly like brute force', async () => {
    for (let p = 2; p < 4; p++) {
      const probe = probes.data.subarray(p * PARAMS.d, (p + 1) * PARAMS.d);
      const response = await user.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(probe), k: 5 });
      expect(response.templateIds).toEqual(bruteForce(templates, ids, probe).slice(0, 5).map((m) => m.templateId));
    }
  });

  it('finds an enrolled template at distance 0', async () => {
    const enrolled = templates.data.subarray(42 * PARAMS.d, 43 * PARAMS.d);
    const response = await user.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(enrolled), tauSquared: 0 });
    expect(response.templateIds).toContain('person-042');
  });

  it('refuses malformed identification requests with 400 and changes nothing', async () => {
    const before = await e2e.snapshot();
    const probe = probes.data.subarray(0, PARAMS.d);
    const query = client.encryptRequest(probe);
    const both = await identifyRaw(query, { tauSquared: 10, k: 3 });
    expect(both.status).toBe(400);
    expect(errorMessageOf(both)).toMatch(/exactly one of tauSquared .* and k/);
    const short = await identifyRaw(query.subarray(0, query.length - 16), { k: 3 });
    expect(short.status).toBe(400);
    expect(errorMessageOf(short)).toMatch(/takes queries of exactly \d+ bytes/);
    const garbage = await identifyRaw(new Uint8Array(query.length).fill(7), { k: 3 });
    expect(garbage.status).toBe(400);
    expect(errorMessageOf(garbage)).toMatch(/is not a query for index "faces"/);
    const tooMany = await identifyRaw(query, { k: POLICY.maxK + 1 });
    expect(tooMany.status).toBe(400);
    expect(errorMessageOf(tooMany)).toMatch(new RegExp(`^k must be <= ${POLICY.maxK}: the owner of index "faces" allows`));
    const tooFar = await identifyRaw(query, { tauSquared: POLICY.maxTauSquared + 1 });
    expect(tooFar.status).toBe(400);
    expect(errorMessageOf(tooFar)).toMatch(new RegExp(`^tauSquared must be <= ${POLICY.maxTauSquared}`));
    expect(await e2e.snapshot()).toEqual(before);
  });

  it('answers 503 with a clear message while CS2 is down, and recovers when it is back', async () => {
    const probe = probes.data.subarray(PARAMS.d, 2 * PARAMS.d);
    const query = client.encryptRequest(probe);
    const expected = bruteForce(templates, ids, probe).slice(0, 3);

    const before = await user.identify(owner.ownerId, toIndexName(INDEX), { query, k: 3 });
    await e2e.cloud.stopAccount('cs2');
    try {
      const down = await identifyRaw(query, { k: 3 });
      expect(down.status, down.text).toBe(503);
      expect((down.json as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
      expect(errorMessageOf(down)).toMatch(/CS2/);
      // The typed client reports it as a transient service error.
      const error = await user.identify(owner.ownerId, toIndexName(INDEX), { query, k: 3 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'UNAVAILABLE', transient: true });
      // SEI-independent routes of CS1 keep working meanwhile.
      expect((await rawRequest(e2e.url, indexPath(owner.ownerId, INDEX), { token: userToken })).status).toBe(200);
    } finally {
      await e2e.cloud.startAccount('cs2');
    }
    const back: IdentifyResponse = await user.identify(owner.ownerId, toIndexName(INDEX), { query, k: 3 });
    expect(back.templateIds).toEqual(expected.map((m) => m.templateId));
    // The two queries CS1 could not answer were given back to the user's budget.
    expect(back.budget?.remaining).toBe((before?.budget?.remaining ?? 0) - 1);
  });

  /** A point between the two closest templates of different shards: its candidates span both. */
  function betweenShards(): Float64Array {
    const d = PARAMS.d;
    const stored = output.cs1Index.templateIds;
    const [a, b] = output.cs1Index.shards;
    const row = (id: string) => templates.data.subarray(ids.indexOf(id) * d, (ids.indexOf(id) + 1) * d);
    let best = { dist2: Infinity, mid: new Float64Array(d) };
    for (const x of stored.slice(0, a.templates)) {
      for (const y of stored.slice(a.templates, a.templates + b.templates)) {
        const dist2 = allSquaredDistances({ n: 1, d, data: row(x) }, row(y))[0];
        if (dist2 < best.dist2) best = { dist2, mid: Float64Array.from(row(x), (v, j) => Math.round((v + row(y)[j]) / 2)) };
      }
    }
    return best.mid;
  }

  it('evaluates the shards holding candidates in parallel identify workers (the local Lambda API)', async () => {
    const probe = betweenShards();
    const since = e2e.logs.length;
    // The owner is not budgeted; the widest threshold the policy allows takes in several shards.
    const response = await owner.client.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(probe), tauSquared: POLICY.maxTauSquared });
    const expected = bruteForce(templates, ids, probe).filter((m) => m.dist2 <= POLICY.maxTauSquared);
    expect(response.templateIds).toEqual(expected.map((m) => m.templateId));
    const summary = await e2e.waitForLog('cs1', since, (line) => line.message === 'identify');
    expect(summary).toMatchObject({ shards: 3, cs2Calls: 2 });
    expect(summary?.maxShardsPerRound as number).toBeGreaterThanOrEqual(2);
    // A stage with several shards has each one evaluated by its own invocation of the worker.
    let workers: Array<Record<string, unknown>> = [];
    for (let attempt = 0; attempt < 50 && workers.length < (summary?.shardTasks as number); attempt++) {
      await e2e.waitForLog('cs1', since, (line) => line.message === 'shard evaluated');
      workers = e2e.jsonLogs('cs1', since).filter((line) => line.message === 'shard evaluated');
      if (workers.length < (summary?.shardTasks as number)) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(workers.length).toBe(summary?.shardTasks);
    expect(new Set(workers.map((line) => line.shard)).size).toBe(workers.length);
    expect(workers.every((line) => line.service === 'blindsight-cs1-identify-worker' && line.version === firstVersion)).toBe(true);
  });

  describe('what a user can learn', () => {
    const d = PARAMS.d;
    const asUser = (token: string, query: Uint8Array, body: Record<string, unknown>): Promise<RawResponse> =>
      rawRequest(e2e.url, identifyPath(), { token, body: { query: Buffer.from(query).toString('base64'), ...body } });

    /** Every exact squared distance an answer states, by template id (the attack's only input). */
    function statedDistances(body: unknown): Map<string, number> {
      const out = new Map<string, number>();
      const matches = (body as { matches?: unknown }).matches;
      if (Array.isArray(matches)) {
        for (const m of matches as Array<{ templateId?: unknown; dist2?: unknown }>) {
          if (typeof m.templateId === 'string' && typeof m.dist2 === 'number') out.set(m.templateId, m.dist2);
        }
      }
      return out;
    }

    it('the trilateration attack (the origin and 999 e_i, d + 1 queries) recovers no template coordinate', async () => {
      const mallory = await owner.addUser('mallory');
      const origin = new Float64Array(d);
      // The attack as it worked before: everything within 2^53, or the 1,000 nearest.
      const wide = await asUser(mallory.token, client.encryptRequest(origin), { tauSquared: 2 ** 53 - 1 });
      expect(wide.status).toBe(400);
      expect(errorMessageOf(wide)).toMatch(/^tauSquared must be <= 8000000: the owner of index "faces" allows range queries up to that squared distance$/);
      const many = await asUser(mallory.token, client.encryptRequest(origin), { k: 1000 });
      expect(many.status).toBe(400);
      // Within the limits: the k nearest of every point, as ids.
      const points = [origin, ...Array.from({ length: d }, (_, i) => Float64Array.from({ length: d }, (_, j) => (j === i ? PARAMS.maxAbs : 0)))];
      const stated: Array<Map<string, number>> = [];
      let refused: RawResponse | undefined;
      for (const point of points) {
        const answer = await asUser(mallory.token, client.encryptRequest(point), { k: POLICY.maxK });
        if (answer.status === 429) {
          refused = answer;
          break;
        }
        expect(answer.status, answer.text).toBe(200);
        const body = answer.json as Record<string, unknown>;
        // Ids only: no distance, no candidate count, nothing else derived from the templates.
        expect(Object.keys(body).sort()).toEqual(['budget', 'templateIds', 'version']);
        expect(body.templateIds).toHaveLength(POLICY.maxK);
        expect(answer.text).not.toMatch(/dist|candidate|score/i);
        stated.push(statedDistances(body));
      }
      // The budget ends the sequence after 30 answers, before the d + 1 = 65 the attack needs.
      expect(stated).toHaveLength(POLICY.budget.queries);
      expect(refused?.status).toBe(429);
      expect((refused?.json as { error: { code: string } }).error.code).toBe('TOO_MANY_REQUESTS');
      expect(errorMessageOf(refused!)).toMatch(/^identification budget spent: 30 per hour on index "faces" \(set by its owner\); it renews at /);
      const retryAfter = Number(refused?.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      // t_i = (||t||^2 - ||t - 999 e_i||^2 + 999^2) / 1998 needs both distances of t: none was stated.
      let recovered = 0;
      for (const id of ids) {
        for (let i = 0; i < d && i + 1 < stated.length; i++) {
          if (stated[0].has(id) && stated[i + 1].has(id)) recovered++;
        }
      }
      expect(recovered).toBe(0);
    }, ATTACK_TIMEOUT_MS);

    it('bisecting the threshold for exact distances runs out of budget before a coordinate', async () => {
      const eve = await owner.addUser('eve');
      // The attacker's best start: a point right next to a template (a capture of that person).
      const c = Float64Array.from(probes.data.subarray(PARAMS.d, 2 * PARAMS.d));
      const first = await asUser(eve.token, client.encryptRequest(c), { k: 1 });
      const target = (first.json as { templateIds: string[] }).templateIds[0];
      // One coordinate takes two exact distances: D(c) and D(c + delta e_0), then
      // t_0 = c_0 + (D(c) - D(c + delta e_0) + delta^2) / (2 delta). Each costs 23 range answers.
      const exact: number[] = [];
      let refused: RawResponse | undefined;
      for (const point of [c, Float64Array.from(c, (v, j) => (j === 0 ? v + 40 : v))]) {
        let lo = -1;
        let hi = POLICY.maxTauSquared;
        while (hi - lo > 1 && refused === undefined) {
          const mid = Math.floor((lo + hi) / 2);
          const answer = await asUser(eve.token, client.encryptRequest(point), { tauSquared: mid });
          if (answer.status === 429) refused = answer;
          else if ((answer.json as { templateIds: string[] }).templateIds.includes(target)) hi = mid;
          else lo = mid;
        }
        if (refused !== undefined) break;
        exact.push(hi);
      }
      expect(refused?.status).toBe(429);
      expect(exact.length).toBeLessThan(2);
      // What it did get is exact: the bisection works, the budget is what stops it.
      const t = ids.indexOf(target);
      expect(exact[0]).toBe(allSquaredDistances({ n: 1, d, data: templates.data.slice(t * d, (t + 1) * d) }, c)[0]);
    }, ATTACK_TIMEOUT_MS);
  });

  it("follows the owner's add and delete: a copy-on-write version uploading only the changed shards", async () => {
    const d = PARAMS.d;
    const provider = output.provider;
    const he = await loadHeProvider(providerKey);
    try {
      const removed = 'person-042';
      const addedVector = Float64Array.from(templates.data.subarray(200 * d, 201 * d), (v, j) => Math.max(-999, Math.min(999, v + (j % 2 === 0 ? 30 : -30))));
      provider.delete(removed);
      provider.add('person-new', addedVector);
      const { fresh, inherited } = provider.pending();
      expect(inherited.length).toBeGreaterThanOrEqual(1);
      const cs1Index = provider.cs1Index(he);
      const shards = cs1Index.shards.map((shard, s) => (shard.inherited === undefined ? provider.encryptShard(he, s) : undefined));
      const parts = twoServerIndexParts({ cs1Index, shards, evaluationMaterial: output.evaluationMaterial, publicMaterial: output.publicMaterial });
      const published = await owner.client.publishIndex(owner.ownerId, toIndexName(INDEX), 'two-server', parts);
      provider.markPublished(published.version);
      expect(published.previousVersion).toBe(firstVersion);
      // Only the changed shards were uploaded; the others are still the first version's objects.
      const uploaded = (await e2e.snapshot()).objects.filter((o) => o.includes(`/indexes/${INDEX}/${published.version}/records-`));
      expect(uploaded).toHaveLength(fresh.length);

      const own = templates.data.slice(42 * d, 43 * d);
      // The deleted template is never identified, not even from its own exact capture...
      const exactly = await owner.client.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(own), tauSquared: 0 });
      expect(exactly.version).toBe(published.version);
      expect(exactly.templateIds).not.toContain(removed);
      const nearest = await owner.client.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(own), k: POLICY.maxK });
      expect(nearest.templateIds).not.toContain(removed);
      // ...the added one is, and answers stay exact over the new set of templates.
      const found = await owner.client.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(addedVector), k: 1 });
      expect(found.templateIds).toEqual(['person-new']);
      const now = provider.templateIds();
      const set = { n: now.length, d, data: new Float64Array(now.length * d) };
      now.forEach((id, i) => set.data.set(id === 'person-new' ? addedVector : templates.data.subarray(ids.indexOf(id) * d, (ids.indexOf(id) + 1) * d), i * d));
      const probe = probes.data.subarray(2 * d, 3 * d);
      const answer = await owner.client.identify(owner.ownerId, toIndexName(INDEX), { query: client.encryptRequest(probe), k: 5 });
      expect(answer.templateIds).toEqual(bruteForce(set, now, probe).slice(0, 5).map((m) => m.templateId));
    } finally {
      he.dispose();
    }
  });

  describe('CS2 accepts only CS1', () => {
    const decrypt = (headers: Record<string, string>) =>
      rawRequest(e2e.cloud.cs2Url, '/v1/decrypt', { headers, body: { keyId, batch: Buffer.from(output.shards[0].subarray(0, 64)).toString('base64') } });

    it('refuses a caller without the credential, with a wrong one, and with a user or owner token', async () => {
      const logged = e2e.logs.length;
      for (const headers of [{} as Record<string, string>, { authorization: 'Bearer not-the-cs1-credential' }, { authorization: `Bearer ${userToken}` }, { authorization: `Bearer ${owner.ownerToken}` }]) {
        const response = await decrypt(headers);
        expect(response.status, response.text).toBe(403);
        expect(errorMessageOf(response)).toMatch(/only from CS1/);
      }
      // Nothing was decrypted for them.
      expect(e2e.logs.slice(logged).some((line) => line.includes('batch decrypted'))).toBe(false);
    });

    it('is not reachable through CS1 either except by the identify route', async () => {
      const response = await rawRequest(e2e.url, '/v1/decrypt', { token: userToken, body: { keyId, batch: 'AAAA' } });
      expect(response.status).toBe(404);
    });
  });
});
