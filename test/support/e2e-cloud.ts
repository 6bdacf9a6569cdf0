/**
 * End-to-end fixtures: the real local cloud (two account processes, dynalite, s3rver, the
 * gateways and the real handlers) in a temporary data folder on free ports, one per test file,
 * and clients that reach it only the way a user or an operator would:
 * - owners and users through CS1's REST API (the typed client, or raw fetch for requests the
 *   client would never send);
 * - the operator's view of CS1's storage (the DynamoDB table and the S3 bucket, read with the
 *   real AWS SDK at the emulators' endpoints), to check that a refused request changed nothing.
 *
 *   let e2e: E2eCloud;
 *   beforeAll(async () => { e2e = await startE2eCloud('search'); });
 *   afterAll(() => e2e?.stop());
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cs1Client } from '../../lib/client/cs1-client';
import { ownerIdOf } from '../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../lib/auth/signing-key';
import { issueToken } from '../../lib/auth/tokens';
import type { OwnerSigningKey } from '../../lib/auth/types';
import { CS1_AUDIENCE } from '../../lib/service/accounts/token-authorizer';
import { newDocumentClient } from '../../lib/storage/dynamo-clients';
import { newS3Client } from '../../lib/storage/s3-client';
import { S3RVER_CREDENTIALS } from '../../scripts/local-cloud/storage/s3rver';
import { startLocalCloud } from '../../scripts/local-cloud/cloud';
import type { AccountName, LocalCloud, LocalCloudOptions } from '../../scripts/local-cloud/cloud';
import { startDynamoFaultProxy } from './dynamodb-fault-proxy';
import type { DynamoFaultProxy } from './dynamodb-fault-proxy';
import { waitFor } from './wait';
import { toUserId } from './ids';
import type { OwnerId } from '../../lib/core/ids';


export interface StorageSnapshot {
  /** Every table item, serialized (binary attributes as base64), sorted. */
  readonly items: string[];
  /** Every object: "key size etag", sorted. */
  readonly objects: string[];
}

export interface E2eCloud {
  readonly cloud: LocalCloud;
  /** CS1's API. */
  readonly url: string;
  readonly dataDir: string;
  /**
   * Kills an account's process at once (SIGKILL: no shutdown, whatever it is doing), like a
   * crashed host; startAccount brings it back on the same data.
   */
  killAccount(account: AccountName): Promise<void>;
  /** Every log line of both accounts so far, oldest first ("cs1 {...}"). */
  readonly logs: string[];
  /** The operator's SDK clients on CS1's emulators. */
  readonly dynamo: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly table: string;
  readonly bucket: string;
  /** Everything CS1 stores (table items and objects). */
  snapshot(): Promise<StorageSnapshot>;
  /** The proxy between CS1's handlers and DynamoDB, if the options asked for one. */
  readonly dynamodbFaults?: DynamoFaultProxy;
  /** A typed client on CS1 (no retries: tests see every answer as it is). */
  client(token?: string): Cs1Client;
  /** Parsed JSON log lines of one account from line `since` on (e.g. the gateway's request lines). */
  jsonLogs(account: AccountName, since?: number): Array<Record<string, unknown>>;
  /**
   * The first JSON line of `account` from line `since` on that `matches`, waiting for it as
   * long as it takes (log lines travel through a pipe and may arrive after the HTTP answer);
   * rejects only after waitFor's generous deadline.
   */
  waitForLog(account: AccountName, since: number, matches: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Settings of the cloud under test; by default the product's defaults. Tests that check that a
 * user's very next search sees a change set pointerTtlMs 0 (by default a search function may
 * reuse the current-version pointer for up to a second); tests that follow a request through
 * the handlers' DEBUG lines (e.g. the authorizer's "allowed") set logLevel DEBUG.
 */
export type E2eCloudOptions = Pick<LocalCloudOptions, 'pointerTtlMs' | 'logLevel' | 'publishLeaseMs'> & {
  /** Route CS1's handlers' DynamoDB requests through a fault proxy (E2eCloud.dynamodbFaults). */
  readonly dynamodbFaults?: boolean;
};

export async function startE2eCloud(name: string, options: E2eCloudOptions = {}): Promise<E2eCloud> {
  const { dynamodbFaults: withProxy, ...cloudOptions } = options;
  const dataDir = await mkdtemp(join(tmpdir(), `blindsight-e2e-${name}-`));
  const logs: string[] = [];
  const dynamodbFaults = withProxy ? await startDynamoFaultProxy() : undefined;
  let cloud: LocalCloud;
  try {
    cloud = await startLocalCloud({
      ...cloudOptions,
      dataDir,
      onLog: (account, line) => logs.push(`${account} ${line}`),
      ...(dynamodbFaults ? { handlerDynamodbEndpoint: dynamodbFaults.url } : {}),
    });
  } catch (error) {
    await dynamodbFaults?.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  if (dynamodbFaults) dynamodbFaults.target = cloud.endpoints.cs1.dynamodbEndpoint;
  const { cs1 } = cloud.endpoints;
  const credentials = { accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey };
  const documents = newDocumentClient({ region: cloud.endpoints.region, endpoint: cs1.dynamodbEndpoint, credentials });
  const s3 = newS3Client({ region: cloud.endpoints.region, endpoint: cs1.s3Endpoint, forcePathStyle: true, credentials });
  // A plain client too: raw scans show items exactly as stored.
  const dynamo = new DynamoDBClient({ region: cloud.endpoints.region, endpoint: cs1.dynamodbEndpoint, credentials });

  const snapshot = async (): Promise<StorageSnapshot> => {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(new ScanCommand({ TableName: cs1.table, ExclusiveStartKey: start as never, ConsistentRead: true }));
      // A publish job's record is the job's own report (a refused publish records why), not data that serves.
      for (const item of (page.Items ?? []).filter((i) => !String(i.sk?.S ?? '').startsWith('PUBLISH#'))) {
        items.push(JSON.stringify(item, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value)));
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    const objects: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: cs1.bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) objects.push(`${object.Key} ${object.Size} ${object.ETag}`);
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return { items: items.sort(), objects: objects.sort() };
  };

  const jsonLogs = (account: AccountName, since = 0): Array<Record<string, unknown>> =>
    logs.slice(since).flatMap((line) => {
      if (!line.startsWith(`${account} {`)) return [];
      try {
        return [JSON.parse(line.slice(account.length + 1)) as Record<string, unknown>];
      } catch {
        return [];
      }
    });

  return {
    cloud,
    url: cloud.cs1Url,
    dataDir,
    logs,
    dynamo,
    documents,
    s3,
    table: cs1.table,
    bucket: cs1.bucket,
    snapshot,
    dynamodbFaults,
    client: (token) => new Cs1Client({ endpoint: cloud.cs1Url, token, retry: { attempts: 1 } }),
    killAccount: async (account) => {
      const pid = await accountPid(account, dataDir);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !cloud.isRunning(account), `${account} (pid ${pid}) to end after SIGKILL`);
    },
    jsonLogs,
    waitForLog: (account, since, matches) => waitFor(() => jsonLogs(account, since).find(matches), `a matching log line of ${account}`),
    stop: async () => {
      documents.destroy();
      dynamo.destroy();
      s3.destroy();
      try {
        await cloud.stop();
      } finally {
        await dynamodbFaults?.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The pid of this cloud's account process: the local cloud passes each account its folders on
 * the command line, and the data folder is this test's own temporary one (Linux /proc).
 */
async function accountPid(account: AccountName, dataDir: string): Promise<number> {
  const entry = `${account}-account.ts`;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(entry) && cmdline.includes(dataDir)) return Number(name);
  }
  throw new Error(`no ${account} account process of the local cloud in ${dataDir}`);
}

// ---------------------------------------------------------------------------------------------
// Owners, users and tokens

export interface E2eOwner {
  readonly key: OwnerSigningKey;
  readonly ownerId: OwnerId;
  /** A client with a fresh owner token. */
  readonly client: Cs1Client;
  readonly ownerToken: string;
  /** Signs a token (owner role without userId, user role with it). */
  token(options?: { userId?: string; expiresInSeconds?: number; now?: Date }): Promise<string>;
  /** Adds (or re-activates) a user through CS1 and returns a client with its token. */
  addUser(userId: string): Promise<{ token: string; client: Cs1Client }>;
}

/** A new owner: a fresh Ed25519 key, registered with CS1 over HTTP. */
export async function registerOwner(e2e: E2eCloud): Promise<E2eOwner> {
  const key = await generateOwnerSigningKey();
  const ownerId = await ownerIdOf(key.publicJwk);
  const registered = await e2e.client().registerOwner(key.publicJwk);
  if (registered.ownerId !== ownerId) throw new Error(`CS1 registered owner ${registered.ownerId}, expected ${ownerId}`);
  const token = (options: { userId?: string; expiresInSeconds?: number; now?: Date } = {}) =>
    issueToken(key.privateJwk, {
      ownerId,
      role: options.userId === undefined ? 'owner' : 'user',
      userId: options.userId,
      expiresInSeconds: options.expiresInSeconds ?? 3600,
      audience: CS1_AUDIENCE,
      now: options.now,
    });
  const ownerToken = await token();
  const client = e2e.client(ownerToken);
  return {
    key,
    ownerId,
    client,
    ownerToken,
    token,
    addUser: async (userId) => {
      await client.putUser(ownerId, toUserId(userId));
      const userToken = await token({ userId });
      return { token: userToken, client: e2e.client(userToken) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP (requests the typed client would never send)

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: unknown;
}

export interface RawRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly token?: string;
  readonly headers?: Record<string, string>;
  /** Sent as is; objects are JSON-encoded with Content-Type application/json. */
  readonly body?: string | Uint8Array | object;
}

export async function rawRequest(baseUrl: string, path: string, request: RawRequest = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  let body: string | Uint8Array | undefined;
  if (typeof request.body === 'string' || request.body instanceof Uint8Array) {
    body = request.body;
  } else if (request.body !== undefined) {
    body = JSON.stringify(request.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method: request.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body: body as BodyInit | undefined,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The `error.message` of CS1's JSON error body, or API Gateway's own `message`. */
export function errorMessageOf(response: RawResponse): string | undefined {
  const body = response.json as { error?: { message?: unknown }; message?: unknown; errorMessage?: unknown } | undefined;
  const message = body?.error?.message ?? body?.message ?? body?.errorMessage;
  return typeof message === 'string' ? message : undefined;
}

/** The path of an owner's index. */
export function indexPath(ownerId: string, indexName: string): string {
  return `/v1/owners/${ownerId}/indexes/${indexName}`;
}
