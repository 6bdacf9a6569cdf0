/**
 * API benchmark: `npm run bench -- api [--kind sei|sealed] --n 4000 --d 128 [--clients 32] [--requests 2000] [--json]`.
 *
 * End-to-end search through the local cloud, as a user sees it: starts the local cloud in a
 * temporary folder, builds an index of n seeded clustered vectors (`--kind sei`: the encrypted
 * index tree, searched by CS1 with trapdoors; `--kind sealed`: the sealed index, searched by the
 * client with the L leaves it asks CS1 for, `--delivery bytes|urls`), publishes it
 * through CS1's API (presigned uploads, publish), registers a user, and then measures with real
 * HTTP through the local gateway (authorizer, handler, DynamoDB and S3 emulators included):
 *
 * - publishMs: create version + upload both parts + publish (validation of every leaf);
 * - sequential search latency p50/p99 (one client, warm: every query was asked once before);
 * - throughput and latency with `clients` concurrent clients for `requests` searches, errors,
 *   after `warmup` concurrent searches that are not measured (CS1 runs each function in up to
 *   `concurrency` execution environments, each with its own warm caches, as Lambda does);
 * - the first search after a cold start of CS1 (account process stopped and started again:
 *   handler modules, the skeleton and the leaves are loaded again), and the second one;
 *   `--cold-starts` repeats this (medians reported, with the handler's own time of the cold
 *   search: pointer, skeleton and leaf-table load, leaf reads and scoring).
 *
 * Besides the client-side numbers, CS1's own log lines give the server-side split: the
 * gateway's time per request (authorizer + handler + event plumbing) and the handler's time
 * (SEI: pointer read, cache, scoring; sealed: pointer read, leaf cache or S3 reads). Sealed rows
 * also split the client's time (leaf choice, decryption and ranking) from the fetch, and count
 * the bytes on the wire per search (the HTTP bodies the client received, base64 included).
 * The benchmark checks that a sample of answers equals the in-memory search of the same index
 * (`mismatches` must be 0). Both processes share the
 * machine: the load average is reported with the numbers, and the CPU time per search of CS1's
 * account process and of this client (which searches through Cs1Client over keep-alive
 * node:http). The pointer TTL of the search
 * function comes from BLINDSIGHT_POINTER_TTL_MS as in the service (reported as pointerTtlMs).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ownerIdOf } from '../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../lib/auth/signing-key';
import { issueToken } from '../../lib/auth/tokens';
import { Cs1Client } from '../../lib/client/cs1-client';
import { seiIndexParts } from '../../lib/client/index-parts';
import type { FetchFunction } from '../../lib/client/types';
import { seededRandom } from '../../lib/core/random';
import { processConfig } from '../../lib/config/environment';
import { clusteredVectors } from './synthetic/vectors';
import { row } from '../../lib/linalg/vectors';
import type { VectorSet } from '../../lib/linalg/vectors';
import { buildPlainTree, encryptPlainTree } from '../../lib/sei/index-tree/build';
import { searchIndexTree } from '../../lib/sei/index-tree/search';
import { generateOwnerSecret } from '../../lib/sei/owner-key';
import { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import type { Trapdoor } from '../../lib/sei/types';
import { generateUserSecret, issueUserKey } from '../../lib/sei/user-key';
import { CS1_AUDIENCE } from '../../lib/service/accounts/token-authorizer';
import { DEFAULT_FUNCTION_CONCURRENCY, startLocalCloud } from '../local-cloud/cloud';
import type { LocalCloud } from '../local-cloud/cloud';
import { publishSealedIndex, SealedIndexReader } from '../../lib/client/sealed';
import { buildSealedIndex, sealIndex, sealedPartSizes } from '../../lib/sealed/build';
import { generateIndexKey } from '../../lib/sealed/index-key';
import { rankSealedLeaves } from '../../lib/sealed/rank';
import { SealedSearcher } from '../../lib/sealed/search';
import { BenchReporter, parseNumberList, percentile, round } from './report';
import { ServerTimings } from './server-timings';
import { HANDLER_LOG_MESSAGES } from '../../functions/lib/log-messages';
import type { BenchRow } from './report';
import type { OwnerId, UserId, VersionId } from '../../lib/core/ids';
import { parseIndexName, parseUserId } from '../../lib/core/ids';

interface ApiBenchOptions {
  n: string;
  d: string;
  k: string;
  probes: string;
  clients: string;
  requests: string;
  warmup: string;
  concurrency: string;
  sequential: string;
  coldStarts: string;
  queries: string;
  trapdoors: string;
  kind: 'sei' | 'sealed';
  delivery: 'bytes' | 'urls';
  maxLeafSize: string;
  seed: string;
  check: string;
  json: boolean;
}

const INDEX = parseIndexName('bench');
const USER = parseUserId('bench-user');
/** Waiting for a publish that outlived the gateway's 30 s integration timeout. */
const PUBLISH_WAIT_MS = 10 * 60 * 1000;
const CLOCK_TICKS_PER_SECOND = 100;

interface Sample {
  readonly ms: number;
  readonly ok: boolean;
}

/**
 * CPU time (user + system, all threads) a process has used so far, in ms, from
 * /proc/<pid>/stat; undefined where there is no /proc. Unlike latency, CPU per request does not
 * depend on what else the machine is running.
 */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) are space-separated; utime and
    // stime are fields 14 and 15 of the whole line, in clock ticks (USER_HZ, 100 on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/**
 * The searching clients' transport: Cs1Client over node:http with a keep-alive agent instead of
 * fetch. The load generator shares the CPUs with the local cloud, and fetch costs it about
 * twice the CPU per request; this keeps more of the machine for the service being measured.
 */
function keepAliveFetch(agent: Agent, wire: { bytes: number }): FetchFunction {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = httpRequest(input, { method: init.method, headers: init.headers as Record<string, string> | undefined, agent, signal: init.signal ?? undefined }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          wire.bytes += chunk.length;
        });
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
          const status = res.statusCode ?? 500;
          const body = status === 204 || status === 304 || init.method === 'HEAD' ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers }));
        });
      });
      req.on('error', reject);
      req.end(init.body as string | Uint8Array | undefined);
    });
}

function latencyStats(samples: readonly Sample[]): { p50: number; p99: number; errors: number } {
  const ok = samples.filter((s) => s.ok).map((s) => s.ms);
  return { p50: round(percentile(ok, 50), 2), p99: round(percentile(ok, 99), 2), errors: samples.length - ok.length };
}

async function waitForVersion(client: Cs1Client, ownerId: OwnerId, version: VersionId | 'unknown'): Promise<void> {
  const deadline = Date.now() + PUBLISH_WAIT_MS;
  while (Date.now() < deadline) {
    const current = await client.findIndex(ownerId, INDEX).catch(() => undefined);
    if (current?.version === version) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`version ${version} was not serving ${PUBLISH_WAIT_MS / 1000} s after its publish`);
}

/** Publishes through `publish` (which returns the version), waiting past a gateway timeout if need be. */
async function timedPublish(owner: Cs1Client, ownerId: OwnerId, publish: () => Promise<{ version: VersionId; uploadMs: number }>) {
  const start = performance.now();
  let publishTimedOut = false;
  let uploadMs = 0;
  try {
    uploadMs = (await publish()).uploadMs;
  } catch (error) {
    if (!(error instanceof PublishTimeout)) throw error;
    publishTimedOut = true;
    uploadMs = error.uploadMs;
    await waitForVersion(owner, ownerId, error.version);
  }
  return { uploadMs, publishMs: performance.now() - start, publishTimedOut };
}

/** A publish request that outlived the gateway's timeout (the publish itself goes on). */
class PublishTimeout extends Error {
  constructor(
    readonly version: VersionId | 'unknown',
    readonly uploadMs: number,
  ) {
    super(`publish of ${version} timed out at the gateway`);
  }
}

async function publishVersion(owner: Cs1Client, ownerId: OwnerId, version: VersionId, uploadMs: number): Promise<{ version: VersionId; uploadMs: number }> {
  try {
    await owner.publishIndexVersion(ownerId, INDEX, version, null);
  } catch (error) {
    if ((error as { status?: number }).status === 503) throw new PublishTimeout(version, uploadMs);
    throw error;
  }
  return { version, uploadMs };
}

/** What differs between the kinds of index: build, publish, one timed search, one checked search. */
interface Driver {
  readonly kind: 'sei' | 'sealed';
  /** Server log lines of the route searched (gateway) and the handler's message. */
  readonly route: RegExp;
  readonly handlerMessage: string;
  readonly buildMs: number;
  readonly indexBytes: number;
  /** Columns only this kind has. */
  readonly columns: BenchRow;
  publish(owner: Cs1Client, ownerId: OwnerId): Promise<{ version: VersionId; uploadMs: number }>;
  /** Prepares the searching user's side (after publish). */
  connect(user: Cs1Client, ownerId: OwnerId): Promise<void>;
  search(query: number): Promise<Sample>;
  /** Whether the answer to `query` equals the in-memory search of the same index. */
  check(query: number): Promise<boolean>;
  /** Columns measured over the searches since the last call (sealed: client time, bytes). */
  measured(): BenchRow;
}

function clusteredSplit(n: number, d: number, queryCount: number, seed: number): { gallery: VectorSet; queries: VectorSet; ids: string[] } {
  const { vectors } = clusteredVectors({ n: n + queryCount, d, seed });
  return {
    gallery: { n, d, data: vectors.data.subarray(0, n * d) },
    queries: { n: queryCount, d, data: vectors.data.subarray(n * d) },
    ids: Array.from({ length: n }, (_, i) => `img-${i}`),
  };
}

function seiDriver(n: number, d: number, options: ApiBenchOptions): Driver {
  const k = Number(options.k);
  const probes = Number(options.probes);
  const queryCount = Number(options.queries);
  const perRequest = Number(options.trapdoors);
  const seed = Number(options.seed);
  const { gallery, queries, ids } = clusteredSplit(n, d, queryCount, seed);
  const owner = generateOwnerSecret(d);
  const start = performance.now();
  const plain = buildPlainTree(gallery, { maxLeafSize: Number(options.maxLeafSize), random: seededRandom(seed + 1) });
  const tree = encryptPlainTree(owner, plain, gallery, ids);
  const buildMs = performance.now() - start;
  const secret = generateUserSecret(d);
  const generator = new TrapdoorGenerator(issueUserKey(owner, secret.W), secret);
  const requestTrapdoors: Trapdoor[][] = Array.from({ length: queryCount }, (_, q) =>
    Array.from({ length: perRequest }, (_, j) => generator.trapdoor(row(queries, (q + j) % queryCount))),
  );
  const parts = seiIndexParts(tree);
  let user: Cs1Client | undefined;
  let userOwnerId: OwnerId | undefined;
  const timedSearch = async (q: number) => {
    const started = performance.now();
    try {
      const response = await user!.search(userOwnerId!, INDEX, { trapdoors: requestTrapdoors[q % queryCount], k, probes });
      return { sample: { ms: performance.now() - started, ok: true }, response };
    } catch {
      return { sample: { ms: performance.now() - started, ok: false }, response: undefined };
    }
  };
  return {
    kind: 'sei',
    route: /^POST \/v1\/owners\/\{ownerId\}\/indexes\/\{indexName\}\/search$/,
    handlerMessage: HANDLER_LOG_MESSAGES.search,
    buildMs,
    indexBytes: parts.skeleton.length + parts.leaves.length,
    columns: { probes, trapdoorsPerRequest: perRequest, leaves: tree.leaves.length, skeletonMb: round(parts.skeleton.length / 1e6, 2) },
    async publish(ownerClient, ownerId) {
      const publishStart = performance.now();
      const created = await ownerClient.createIndexVersion(ownerId, INDEX, { kind: 'sei', parts: { skeleton: parts.skeleton.length, leaves: parts.leaves.length } });
      await ownerClient.uploadIndexParts(created, parts);
      return publishVersion(ownerClient, ownerId, created.version, performance.now() - publishStart);
    },
    async connect(client, ownerId) {
      user = client;
      userOwnerId = ownerId;
    },
    search: async (q) => (await timedSearch(q)).sample,
    async check(q) {
      const { response } = await timedSearch(q);
      const expected = requestTrapdoors[q].map((t) => searchIndexTree(tree, t, { k, probes }).hits.map((h) => `${h.id}:${h.score}`));
      const actual = response?.results.map((r) => r.hits.map((h) => `${h.imageId}:${h.score}`));
      return JSON.stringify(actual) === JSON.stringify(expected);
    },
    measured: () => ({}),
  };
}

function sealedDriver(n: number, d: number, options: ApiBenchOptions, wire: { bytes: number }): Driver {
  const k = Number(options.k);
  const queryCount = Number(options.queries);
  const seed = Number(options.seed);
  const delivery = options.delivery;
  if (delivery !== 'bytes' && delivery !== 'urls') throw new Error('--delivery must be bytes or urls');
  const { gallery, queries, ids } = clusteredSplit(n, d, queryCount, seed);
  const start = performance.now();
  const build = buildSealedIndex(gallery, ids, { random: seededRandom(seed + 1) });
  const buildMs = performance.now() - start;
  const key = generateIndexKey();
  const sizes = sealedPartSizes(build, key.keyId);
  let reader: SealedIndexReader | undefined;
  let local: SealedSearcher | undefined;
  let localParts: { routing: Uint8Array; leaves: Uint8Array } | undefined;
  let clientMs: number[] = [];
  let fetchMs: number[] = [];
  let wireAtStart = 0;
  let searches = 0;
  const query = (q: number) => row(queries, q % queryCount);
  return {
    kind: 'sealed',
    route: /^POST \/v1\/owners\/\{ownerId\}\/indexes\/\{indexName\}\/leaves$/,
    handlerMessage: HANDLER_LOG_MESSAGES.sealedLeaves,
    buildMs,
    indexBytes: sizes.routing + sizes.leaves,
    columns: {
      delivery,
      quantisation: build.quantisation,
      leaves: build.leafCount,
      leavesPerQuery: build.leavesPerQuery,
      realLeaves: build.realLeaves,
      bytesPerQuery: build.leavesPerQuery * (sizes.leaves / build.leafCount),
      routingBytes: sizes.routing,
    },
    async publish(ownerClient, ownerId) {
      const publishStart = performance.now();
      // Upload time is inside publishSealedIndex (create, seal, upload, publish).
      try {
        const published = await publishSealedIndex(ownerClient, ownerId, INDEX, build, key, { expectedCurrent: null });
        return { version: published.version, uploadMs: Number.NaN };
      } catch (error) {
        if ((error as { status?: number }).status !== 503) throw error;
        const version = (await ownerClient.findIndex(ownerId, INDEX))?.version;
        throw new PublishTimeout(version ?? 'unknown', performance.now() - publishStart);
      }
    },
    async connect(client, ownerId) {
      reader = new SealedIndexReader(client, ownerId, INDEX, key);
      const searcher = await reader.searcher();
      // The reference: the same build sealed for the same version, searched in memory.
      const parts = await sealIndex(build, key, searcher.binding);
      localParts = parts;
      local = await SealedSearcher.open(key, searcher.binding, parts.routing);
    },
    async search(q) {
      const started = performance.now();
      try {
        const result = await reader!.search(query(q), { k, delivery });
        clientMs.push(result.stats.clientMs);
        fetchMs.push(result.stats.fetchMs);
        searches++;
        return { ms: performance.now() - started, ok: true };
      } catch {
        return { ms: performance.now() - started, ok: false };
      }
    },
    async check(q) {
      const remote = await reader!.search(query(q), { k, delivery }).catch(() => undefined);
      if (remote === undefined) return false;
      const leafBytes = local!.routing.layout.leafBytes;
      const fetched = new Map(remote.request.leaves.map((leaf) => [leaf, localParts!.leaves.subarray(leaf * leafBytes, (leaf + 1) * leafBytes)]));
      const expected = await local!.open(remote.request, fetched);
      const hits = rankSealedLeaves(local!.routing, expected, query(q), k).hits;
      return JSON.stringify(hits) === JSON.stringify(remote.hits);
    },
    measured() {
      const row: BenchRow = {
        clientMsP50: round(percentile(clientMs, 50), 2),
        fetchMsP50: round(percentile(fetchMs, 50), 2),
        wireBytesPerSearch: searches === 0 ? null : Math.round((wire.bytes - wireAtStart) / searches),
      };
      clientMs = [];
      fetchMs = [];
      searches = 0;
      wireAtStart = wire.bytes;
      return row;
    },
  };
}

async function runOne(n: number, d: number, options: ApiBenchOptions, reporter: BenchReporter): Promise<void> {
  const k = Number(options.k);
  const clients = Number(options.clients);
  const requests = Number(options.requests);
  const warmup = Number(options.warmup);
  const concurrency = Number(options.concurrency);
  const sequential = Number(options.sequential);
  const queryCount = Number(options.queries);
  const checks = Number(options.check);
  const coldStarts = Number(options.coldStarts);
  if (!Number.isSafeInteger(coldStarts) || coldStarts < 1) throw new Error('--cold-starts must be a positive integer');
  const loadBefore = loadavg()[0];

  process.stderr.write(`api bench ${options.kind} n=${n} d=${d}: building the index...\n`);
  const wire = { bytes: 0 };
  const driver = options.kind === 'sealed' ? sealedDriver(n, d, options, wire) : seiDriver(n, d, options);

  const dataDir = await mkdtemp(join(tmpdir(), 'blindsight-bench-api-'));
  const timings = new ServerTimings(driver.route, driver.handlerMessage);
  let cloud: LocalCloud | undefined;
  const agents: Agent[] = [];
  try {
    cloud = await startLocalCloud({
      dataDir,
      functionConcurrency: concurrency,
      onLog: (account, line) => account === 'cs1' && timings.onLine(line),
    });
    const endpoint = cloud.cs1Url;

    // Owner and user, as in the README's flow.
    const key = await generateOwnerSigningKey();
    const ownerId = await ownerIdOf(key.publicJwk);
    const sign = (userId?: UserId) =>
      issueToken(key.privateJwk, { ownerId, role: userId ? 'user' : 'owner', userId, expiresInSeconds: 6 * 3600, audience: CS1_AUDIENCE });
    const noRetry = { attempts: 1 };
    await new Cs1Client({ endpoint, retry: noRetry }).registerOwner(key.publicJwk);
    const owner = new Cs1Client({ endpoint, token: await sign(), retry: noRetry, transferTimeoutMs: 30 * 60 * 1000 });
    await owner.putUser(ownerId, USER);
    const searchAgent = new Agent({ keepAlive: true, maxSockets: Math.max(clients, 1) });
    agents.push(searchAgent);
    const user = new Cs1Client({ endpoint, token: await sign(USER), retry: noRetry, fetch: keepAliveFetch(searchAgent, wire) });

    process.stderr.write('api bench: publishing...\n');
    const { uploadMs, publishMs, publishTimedOut } = await timedPublish(owner, ownerId, () => driver.publish(owner, ownerId));
    await driver.connect(user, ownerId);

    // Correctness sample: answers equal the in-memory search of the same index.
    let mismatches = 0;
    for (let q = 0; q < Math.min(checks, queryCount); q++) if (!(await driver.check(q))) mismatches++;
    // Warm-up: every query once, so the timed phases see a warm function and cached leaves.
    for (let q = 0; q < queryCount; q++) await driver.search(q);
    driver.measured();

    // Sequential latency.
    process.stderr.write('api bench: sequential searches...\n');
    timings.start();
    const sequentialSamples: Sample[] = [];
    for (let i = 0; i < sequential; i++) sequentialSamples.push(await driver.search(i));
    const sequentialServer = timings.stop();
    const sequentialMeasured = driver.measured();

    // Concurrent clients sharing one counter of requests.
    const concurrently = async (count: number): Promise<Sample[]> => {
      const samples: Sample[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (next < count) samples.push(await driver.search(next++));
        }),
      );
      return samples;
    };
    // Concurrent warm-up (not measured): CS1 starts an execution environment per concurrent
    // request, up to its limit, and each one loads the index and caches leaves on its own, as
    // Lambda's environments do; and every thread's JIT (gateway, environments, emulators, this
    // client) needs a few thousand requests to reach its steady state. The cold start is
    // measured separately below.
    process.stderr.write(`api bench: warm-up, ${warmup} searches by ${clients} concurrent clients...\n`);
    const warmupErrors = (await concurrently(warmup)).filter((sample) => !sample.ok).length;
    driver.measured();
    process.stderr.write(`api bench: ${requests} searches by ${clients} concurrent clients...\n`);
    timings.start();
    const cs1Pid = cloud.pidOf('cs1');
    const cpuBefore = { cs1: processCpuMs(cs1Pid), client: ownCpuMs() };
    const concurrentStart = performance.now();
    const concurrentSamples = await concurrently(requests);
    const concurrentSeconds = (performance.now() - concurrentStart) / 1000;
    const cs1CpuMs = cpuBefore.cs1 === undefined ? undefined : (processCpuMs(cs1Pid) ?? Number.NaN) - cpuBefore.cs1;
    const clientCpuMs = ownCpuMs() - cpuBefore.client;
    const concurrentServer = timings.stop();
    const concurrentMeasured = driver.measured();

    // Cold starts: CS1's account process restarted, then the first and second search (the
    // handler's own time of the first one from CS1's log).
    process.stderr.write(`api bench: ${coldStarts} cold start(s)...\n`);
    const cold: { restartMs: number[]; ms: number[]; handlerMs: number[]; warmMs: number[]; ok: boolean } = { restartMs: [], ms: [], handlerMs: [], warmMs: [], ok: true };
    for (let i = 0; i < coldStarts; i++) {
      const restartStart = performance.now();
      await cloud.stopAccount('cs1');
      await cloud.startAccount('cs1');
      cold.restartMs.push(performance.now() - restartStart);
      timings.start();
      const first = await driver.search(2 * i);
      if (first.ok) await timings.handlerLines(1);
      cold.handlerMs.push(...timings.stop().handler);
      const second = await driver.search(2 * i + 1);
      cold.ms.push(first.ms);
      cold.warmMs.push(second.ms);
      cold.ok &&= first.ok && second.ok;
    }
    const seq = latencyStats(sequentialSamples);
    const conc = latencyStats(concurrentSamples);
    const prefixed = (prefix: string, row: BenchRow): BenchRow =>
      Object.fromEntries(Object.entries(row).map(([name, value]) => [`${prefix}${name[0].toUpperCase()}${name.slice(1)}`, value]));
    reporter.add({
      engine: 'api',
      kind: driver.kind,
      n,
      d,
      k,
      ...driver.columns,
      indexMb: round(driver.indexBytes / 1e6, 1),
      buildMs: round(driver.buildMs, 0),
      uploadMs: round(uploadMs, 0),
      publishMs: round(publishMs, 0),
      publishTimedOut,
      sequential,
      searchMsP50: seq.p50,
      searchMsP99: seq.p99,
      serverMsP50: round(percentile(sequentialServer.gateway, 50), 1),
      handlerMsP50: round(percentile(sequentialServer.handler, 50), 1),
      ...sequentialMeasured,
      clients,
      concurrency,
      pointerTtlMs: processConfig().get('pointerTtlMs'),
      warmup,
      warmupErrors,
      requests,
      concurrentMsP50: conc.p50,
      concurrentMsP99: conc.p99,
      concurrentServerMsP50: round(percentile(concurrentServer.gateway, 50), 1),
      concurrentHandlerMsP50: round(percentile(concurrentServer.handler, 50), 1),
      ...prefixed('concurrent', concurrentMeasured),
      throughputRps: round(requests / concurrentSeconds, 1),
      // CPU per search in the throughput phase: CS1's account process (gateway, environments,
      // emulators) and this client.
      cs1CpuMsPerRequest: cs1CpuMs === undefined ? null : round(cs1CpuMs / requests, 2),
      clientCpuMsPerRequest: round(clientCpuMs / requests, 2),
      errors: seq.errors + conc.errors,
      mismatches,
      coldStarts,
      restartMs: round(percentile(cold.restartMs, 50), 0),
      coldStartMs: round(percentile(cold.ms, 50), 1),
      coldStartMsMax: round(Math.max(...cold.ms), 1),
      coldHandlerMs: round(percentile(cold.handlerMs, 50), 1),
      coldStartOk: cold.ok,
      warmAfterColdMs: round(percentile(cold.warmMs, 50), 1),
      cpus: availableParallelism(),
      loadAvgBefore: round(loadBefore, 2),
      loadAvgAfter: round(loadavg()[0], 2),
    });
  } finally {
    for (const agent of agents) agent.destroy();
    await cloud?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function register(program: Command): void {
  program
    .command('api')
    .description('End-to-end search (SEI or sealed) through the local cloud: latency, throughput with concurrent clients, cold start')
    .option('--n <list>', 'images in the index (comma list)', '4000')
    .option('--d <list>', 'feature dimensions (comma list)', '128')
    .option('--k <k>', 'results per trapdoor', '10')
    .option('--probes <probes>', 'leaves ranked per trapdoor', '4')
    .option('--clients <count>', 'concurrent clients in the throughput phase', '32')
    .option('--requests <count>', 'searches in the throughput phase', '2000')
    .option('--warmup <count>', 'concurrent searches before the throughput phase (not measured)', '5000')
    .option('--concurrency <count>', 'execution environments per CS1 function', String(DEFAULT_FUNCTION_CONCURRENCY))
    .option('--sequential <count>', 'searches in the sequential latency phase', '500')
    .option('--cold-starts <count>', 'cold starts measured (CS1 restarted before each; medians reported)', '1')
    .option('--queries <count>', 'distinct held-out queries (cycled)', '200')
    .option('--trapdoors <count>', 'trapdoors per request (K-anonymity: 1 real + decoys)', '1')
    .option('--kind <kind>', 'sei (CS1 ranks trapdoors) or sealed (the client ranks the leaves it asks for)', 'sei')
    .option('--delivery <how>', 'sealed: leaves in the answer (bytes) or presigned ranged GETs (urls)', 'bytes')
    .option('--max-leaf-size <size>', 'largest leaf before K-means splits it', '128')
    .option('--check <count>', 'answers compared with the in-memory search', '20')
    .option('--seed <seed>', 'seed of the synthetic data and of clustering', '1')
    .option('--json', 'one JSON object per configuration per line', false)
    .action(async (options: ApiBenchOptions) => {
      const reporter = new BenchReporter(options.json);
      for (const n of parseNumberList(options.n)) {
        for (const d of parseNumberList(options.d)) await runOne(n, d, options, reporter);
      }
      reporter.finish();
    });
}
