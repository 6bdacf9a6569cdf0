/**
 * Two-server test fixtures: a provider's encrypted index (seeded data, real HE), brute-force
 * answers, CS2's key store in a temporary directory, and CS2 behind real HTTP servers on
 * 127.0.0.1 that call the real decrypt handler (functions/cs2/decrypt.ts):
 * - startCs2HttpServer: like the local cloud's CS2 gateway (Bearer credential, 6 MB limit,
 *   Lambda-style error payloads with an HTTP status per error class);
 * - startLambdaApiServer: the Lambda Invoke REST API (POST /2015-03-31/functions/<name>/
 *   invocations), for the real LambdaClient pointed at it.
 * Both record every result CS2 returned, so tests can check what CS2 saw.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../../../lib/core/random';
import { isBlindsightError } from '../../../../lib/core/errors';
import { STATUS_OF_CODE } from '../../../../lib/api/errors';
import { createHeBackend } from '../../../../lib/he';
import type { HeBackendName, HeParametersFor } from '../../../../lib/he/types';
import type { VectorSet } from '../../../../lib/linalg/vectors';
import { FileSecretStore } from '../../../../lib/storage/file-secret-store';
import { allSquaredDistances } from '../../../../scripts/bench/baselines/plain-search';
import { twoServerIndexParts } from '../../../../lib/client/index-parts';
import { POLICY_MAX_K } from '../../../../lib/twoserver/policy';
import type { IdentificationPolicy } from '../../../../lib/twoserver/policy';
import { buildPlainIndex, encryptIndex, IdentificationClient } from '../../../../lib/twoserver/protocol';
import type { PlainIndex, ProviderOutput } from '../../../../lib/twoserver/protocol/provider';
import { syntheticTemplates } from '../../../../scripts/bench/synthetic/templates';
import { squaredDistanceAt } from '../../../../lib/linalg/vectors';
import { lambdaContext } from '../../../support/http-events';

export interface TwoServerFixture {
  readonly backend: HeBackendName;
  readonly templates: VectorSet;
  readonly ids: string[];
  readonly plain: PlainIndex;
  readonly output: ProviderOutput;
  readonly client: IdentificationClient;
  /** The upload parts of the two-server index kind. */
  readonly parts: Record<string, Uint8Array>;
  readonly keyId: string;
}

export interface FixtureOptions<N extends HeBackendName> {
  readonly backend: N;
  readonly params: HeParametersFor<N>;
  readonly n: number;
  readonly partitions: number;
  readonly eps: number;
  readonly seed: number;
  /** Default: generous limits (every k and threshold, 10,000 queries a minute). */
  readonly policy?: IdentificationPolicy;
  /** Default: one shard. */
  readonly maxShardTemplates?: number;
}

/** Limits that never get in the way of tests about something else. */
export const OPEN_POLICY: IdentificationPolicy = { maxK: POLICY_MAX_K, maxTauSquared: Number.MAX_SAFE_INTEGER, budget: { queries: 10_000, windowSeconds: 60 } };

export async function buildFixture<N extends HeBackendName>(options: FixtureOptions<N>): Promise<TwoServerFixture> {
  const { n, seed } = options;
  const templates = syntheticTemplates(n, options.params.d, { kind: 'clustered', seed, clusters: 6, spread: 0.2 });
  const ids = Array.from({ length: n }, (_, i) => `t-${String(i).padStart(4, '0')}`);
  const he = await createHeBackend(options.backend, options.params, { allowInsecurePaperScheme: true });
  try {
    const plain = buildPlainIndex(templates, { partitions: options.partitions, eps: options.eps, random: seededRandom(seed + 1) });
    const output = encryptIndex(he, templates, plain, { ids, policy: options.policy ?? OPEN_POLICY, maxShardTemplates: options.maxShardTemplates });
    const client = await IdentificationClient.load(output.publicMaterial);
    return {
      backend: options.backend,
      templates,
      ids,
      plain,
      output,
      client,
      parts: partsOf(output),
      keyId: he.descriptor.keyId,
    };
  } finally {
    he.dispose();
  }
}

export function partsOf(output: ProviderOutput): Record<string, Uint8Array> {
  return twoServerIndexParts(output);
}

export interface ExpectedMatch {
  templateId: string;
  dist2: number;
}

/** Brute force with the protocol's ordering: (dist2, id). */
export function bruteForce(fixture: TwoServerFixture, query: ArrayLike<number>): ExpectedMatch[] {
  return Array.from(allSquaredDistances(fixture.templates, query), (dist2, i) => ({ templateId: fixture.ids[i], dist2 })).sort(
    (a, b) => a.dist2 - b.dist2 || (a.templateId < b.templateId ? -1 : a.templateId > b.templateId ? 1 : 0),
  );
}

/** The ids of expected matches, in order (what identify answers). */
export function idsOf(matches: readonly ExpectedMatch[]): string[] {
  return matches.map((m) => m.templateId);
}

/** Every true squared distance of a query: to all templates and all reference points. */
export function trueDistances(fixture: TwoServerFixture, query: ArrayLike<number>): Set<bigint> {
  const out = new Set<bigint>();
  for (const v of allSquaredDistances(fixture.templates, query)) out.add(BigInt(v));
  const refs = fixture.plain.idistance.referencePoints;
  const q = Float64Array.from(query);
  for (let i = 0; i < refs.n; i++) out.add(BigInt(squaredDistanceAt(refs.data, i * refs.d, q, 0, refs.d)));
  return out;
}

/** A query near template `i` (its coordinates moved by small seeded steps, clipped to maxAbs). */
export function probeNear(fixture: TwoServerFixture, i: number, seed: number, maxAbs = 999): number[] {
  const { d, data } = fixture.templates;
  const random = seededRandom(seed);
  return Array.from({ length: d }, (_, j) => Math.max(-maxAbs, Math.min(maxAbs, data[i * d + j] + Math.round((random.next() - 0.5) * 60))));
}

/** A CS2 key store in a temporary directory holding the fixture's secret. */
export async function cs2KeyDir(...fixtures: TwoServerFixture[]): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'blindsight-cs2-keys-'));
  const store = new FileSecretStore(dir);
  for (const fixture of fixtures) await store.put(fixture.keyId, fixture.output.secretMaterial);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------------
// CS2 behind HTTP

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DirectHandler = (event: any, context: any) => Promise<unknown>;


const MAX_EVENT_BYTES = 6 * 1024 * 1024;

export interface Cs2TestServer {
  readonly url: string;
  readonly port: number;
  /** Results CS2 returned, one list of values per successful call. */
  readonly decrypted: bigint[][];
  /** Events received (keys only: which transfer form). */
  readonly events: Array<{ keyId: unknown; inline: boolean; staged: boolean }>;
  /** Errors returned: errorType and message. */
  readonly errors: Array<{ status: number; errorType: string; errorMessage: string }>;
  /** Answers every request with this status instead (e.g. 502), or hangs when 'hang'. */
  fault?: number | 'hang';
  /** Stops listening (CS2 down); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function record(server: { decrypted: bigint[][]; errors: Cs2TestServer['errors'] }, result: unknown): void {
  const values = (result as { values?: unknown })?.values;
  if (Array.isArray(values)) server.decrypted.push(values.map((v) => BigInt(v as string)));
}

function invokeError(error: unknown): { status: number; body: { errorType: string; errorMessage: string; errorCode?: string } } {
  const errorType = error instanceof Error ? error.name : 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  if (isBlindsightError(error)) return { status: STATUS_OF_CODE[error.code], body: { errorType, errorMessage, errorCode: error.code } };
  return { status: 500, body: { errorType, errorMessage } };
}

async function listenOn(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A restartable HTTP server on 127.0.0.1 around a request listener. */
async function restartable(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; stop(): Promise<void>; start(): Promise<void> }> {
  let server = createServer(listener);
  const port = await listenOn(server, 0);
  let running = true;
  return {
    port,
    async stop() {
      if (!running) return;
      running = false;
      await closeServer(server);
    },
    async start() {
      if (running) return;
      server = createServer(listener);
      await listenOn(server, port);
      running = true;
    },
  };
}

/** CS2 as the local cloud exposes it: POST /v1/decrypt, Bearer credential, Lambda-style errors. */
export async function startCs2HttpServer(options: { credential: string; handler: DirectHandler }): Promise<Cs2TestServer> {
  const state = {
    decrypted: [] as bigint[][],
    events: [] as Cs2TestServer['events'],
    errors: [] as Cs2TestServer['errors'],
    fault: undefined as number | 'hang' | undefined,
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      if (state.fault === 'hang') return; // never answers
      if (req.method !== 'POST' || req.url !== '/v1/decrypt') return send(res, 404, { message: 'Not Found' });
      if (req.headers.authorization !== `Bearer ${options.credential}`) {
        req.resume();
        state.errors.push({ status: 403, errorType: 'AccessDeniedException', errorMessage: 'not CS1' });
        return send(
          res,
          403,
          { errorType: 'AccessDeniedException', errorMessage: 'CS2 accepts decryption requests only from CS1', errorCode: 'FORBIDDEN' },
          { 'x-amz-function-error': 'Unhandled' },
        );
      }
      const body = await readBody(req, MAX_EVENT_BYTES);
      if (body === undefined) return send(res, 413, { errorType: 'RequestTooLargeException', errorMessage: 'too large', errorCode: 'PAYLOAD_TOO_LARGE' }, { 'x-amz-function-error': 'Unhandled' });
      if (typeof state.fault === 'number') return send(res, state.fault, { message: 'fault injected' });
      const event = JSON.parse(body.toString('utf8')) as { keyId?: unknown; batch?: unknown; batchUrl?: unknown };
      state.events.push({ keyId: event.keyId, inline: event.batch !== undefined, staged: event.batchUrl !== undefined });
      try {
        const result = await options.handler(event, lambdaContext('blindsight-cs2-decrypt'));
        record(state, result);
        send(res, 200, result);
      } catch (error) {
        const { status, body: payload } = invokeError(error);
        state.errors.push({ status, errorType: payload.errorType, errorMessage: payload.errorMessage });
        send(res, status, payload, { 'x-amz-function-error': 'Unhandled' });
      }
    })();
  };
  const control = await restartable(listener);
  return {
    url: `http://127.0.0.1:${control.port}`,
    port: control.port,
    get decrypted() {
      return state.decrypted;
    },
    get events() {
      return state.events;
    },
    get errors() {
      return state.errors;
    },
    get fault() {
      return state.fault;
    },
    set fault(value) {
      state.fault = value;
    },
    stop: control.stop,
    start: control.start,
  };
}

/** The Lambda Invoke REST API around a handler (what the SDK's InvokeCommand talks to). */
export async function startLambdaApiServer(options: { functionName: string; handler: DirectHandler }): Promise<Cs2TestServer & { invocations: string[] }> {
  const state = {
    decrypted: [] as bigint[][],
    events: [] as Cs2TestServer['events'],
    errors: [] as Cs2TestServer['errors'],
    fault: undefined as number | 'hang' | undefined,
    invocations: [] as string[],
  };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      if (state.fault === 'hang') return;
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split('?')[0] ?? '');
      if (req.method !== 'POST' || match === null) return send(res, 404, { message: 'UnknownOperationException' });
      const name = decodeURIComponent(match[1]);
      state.invocations.push(name);
      if (!name.endsWith(`:function:${options.functionName}`) && name !== options.functionName) {
        return send(res, 404, { Type: 'User', message: `Function not found: ${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
      }
      if (typeof req.headers.authorization !== 'string' || !req.headers.authorization.startsWith('AWS4-HMAC-SHA256')) {
        return send(res, 403, { message: 'missing SigV4 signature' }, { 'x-amzn-errortype': 'AccessDeniedException' });
      }
      const body = await readBody(req, MAX_EVENT_BYTES);
      if (body === undefined) return send(res, 413, { message: 'Request must be smaller than 6291456 bytes' }, { 'x-amzn-errortype': 'RequestTooLargeException' });
      if (typeof state.fault === 'number') return send(res, state.fault, { message: 'Service unavailable' }, { 'x-amzn-errortype': 'ServiceException' });
      const event = JSON.parse(body.toString('utf8')) as { keyId?: unknown; batch?: unknown; batchUrl?: unknown };
      state.events.push({ keyId: event.keyId, inline: event.batch !== undefined, staged: event.batchUrl !== undefined });
      try {
        const result = await options.handler(event, lambdaContext(options.functionName));
        record(state, result);
        send(res, 200, result, { 'x-amz-executed-version': '$LATEST' });
      } catch (error) {
        const { body: payload } = invokeError(error);
        state.errors.push({ status: 200, errorType: payload.errorType, errorMessage: payload.errorMessage });
        // Lambda reports function errors with 200 and X-Amz-Function-Error.
        send(res, 200, { errorType: payload.errorType, errorMessage: payload.errorMessage, trace: [] }, { 'x-amz-function-error': 'Unhandled' });
      }
    })();
  };
  const control = await restartable(listener);
  return {
    url: `http://127.0.0.1:${control.port}`,
    port: control.port,
    get decrypted() {
      return state.decrypted;
    },
    get events() {
      return state.events;
    },
    get errors() {
      return state.errors;
    },
    get invocations() {
      return state.invocations;
    },
    get fault() {
      return state.fault;
    },
    set fault(value) {
      state.fault = value;
    },
    stop: control.stop,
    start: control.start,
  };
}

export const SHE_SMALL = { d: 16, maxAbs: 999, aBits: 16, bBits: 48, k0: 384, k1: 12, k2: 56 } as const;
