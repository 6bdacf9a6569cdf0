/**
 * The local two-account cloud: CS1 and CS2 each in its own child process (own emulators, own
 * folder, own gateway), wired together only by CS2's URL and CS1's credential, as the two AWS
 * accounts are wired only by fixed ARNs and IAM.
 *
 *   const cloud = await startLocalCloud({ dataDir });   // ports default to free ones
 *   await fetch(`${cloud.cs1Url}/v1/owners`, ...);
 *   await cloud.stopAccount('cs2');                     // fault tests: CS2 down
 *   await cloud.startAccount('cs2');                    // back on the same port
 *   await cloud.stop();
 */
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AccountConfig, AccountMessage, Cs1Ready, Cs2Ready, LogLevel } from './account-protocol';
import { isAccountMessage } from './account-protocol';
import { MAX_TIMEOUT_SCALE, timeoutScale } from '../../lib/core/timeout-scale';
import { DEFAULT_PUBLISH_JOB_TIMINGS } from '../../lib/service/versions/publish-jobs';
import { credentialDigest, loadOrCreateCredential, writeTrustedDigest } from './cs1-credential';
import type { DataLayout } from './layout';
import { isProcessAlive, registerLocalCloud, registryDir } from './registry';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_FUNCTIONS_DIR,
  LOCAL_BUCKET,
  LOCAL_CS1_ACCOUNT_ID,
  LOCAL_CS2_ACCOUNT_ID,
  LOCAL_PAGE_ORIGINS,
  LOCAL_REGION,
  LOCAL_TABLE,
  REPO_ROOT,
  dataLayout,
} from './layout';

export type AccountName = 'cs1' | 'cs2';

export interface LocalCloudOptions {
  /** Default `<repo>/.local-cloud`. */
  readonly dataDir?: string;
  /** Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  /** Ports: 0 (the default) picks a free one. */
  readonly cs1Port?: number;
  readonly cs2Port?: number;
  readonly dynamodbPort?: number;
  readonly s3Port?: number;
  /** Handler modules (default `<repo>/functions`). */
  readonly functionsDir?: string;
  /** Receives each log line of an account; without it the accounts write to this process' stdout/stderr. */
  readonly onLog?: (account: AccountName, line: string) => void;
  /** An account process ended without being asked to (crash). */
  readonly onUnexpectedExit?: (account: AccountName, code: number | null, signal: NodeJS.Signals | null) => void;
  /** How long an account may take to start. Default 60 s times the timeout scale. */
  readonly startTimeoutMs?: number;
  /**
   * Multiplies every emulated AWS time limit (API Gateway's integration timeout, the functions'
   * timeouts, CS2's decrypt and fetch timeouts, CS1's timeout for calls to CS2) and the
   * account start and stop deadlines, for a machine much slower than Lambda (a loaded CI host).
   * Default: BLINDSIGHT_TIMEOUT_SCALE, else 1 (AWS's values).
   */
  readonly timeoutScale?: number;
  /**
   * The DynamoDB endpoint CS1's handlers use instead of the emulator's own: crash tests put a
   * proxy in between that can hold a chosen request, so a crash lands at an exact point of a
   * handler's work. Default: the emulator.
   */
  readonly handlerDynamodbEndpoint?: string;
  /**
   * Most execution environments per CS1 function, i.e. requests one function serves at the same
   * time (each environment handles one at a time, as in Lambda). Default DEFAULT_FUNCTION_CONCURRENCY.
   */
  readonly functionConcurrency?: number;
  /** Log level of the handlers of both accounts. Default: BLINDSIGHT_LOG_LEVEL, else INFO. */
  readonly logLevel?: LogLevel;
  /**
   * How long CS1's search function may reuse a current-version pointer (BLINDSIGHT_POINTER_TTL_MS;
   * 0: read on every search). Default: BLINDSIGHT_POINTER_TTL_MS, else the service's default.
   */
  readonly pointerTtlMs?: number;
  /**
   * How long a publish job's lease lasts from its worker's last renewal (BLINDSIGHT_PUBLISH_LEASE_MS):
   * a job whose worker died is reported failed that long after. Default: the service's 60 s,
   * times timeoutScale. Crash tests shorten it.
   */
  readonly publishLeaseMs?: number;
  /** Origins whose pages may call CS1's API (CORS). Default LOCAL_PAGE_ORIGINS. */
  readonly corsOrigins?: readonly string[];
  /**
   * Let CS1 publish two-server indexes of the `she` backend, the paper's scheme, which is broken
   * (BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME). Default: BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME, else off.
   */
  readonly allowInsecurePaperScheme?: boolean;
  /**
   * Registry the running cloud is listed in, so the CLI finds it without being told its data
   * folder (default: BLINDSIGHT_LOCAL_CLOUD_REGISTRY, else <repo>/.local-cloud/running).
   */
  readonly registryDir?: string;
}

/**
 * Environments per function: half the cores (at least one). A search runs two functions (the
 * authorizer, then the search), so that keeps every core busy under load; more environments
 * only compete for the same cores, and each one costs memory and its own JIT warm-up (its
 * modules are compiled and optimized separately, as in separate Lambda environments).
 */
export const DEFAULT_FUNCTION_CONCURRENCY = Math.max(1, Math.floor(availableParallelism() / 2));

/** Written to `<dataDir>/endpoints.json` while the cloud runs. */
export interface LocalCloudEndpoints {
  readonly pid: number;
  readonly startedAt: string;
  readonly dataDir: string;
  readonly region: string;
  readonly cs1: {
    readonly url: string;
    readonly accountId: string;
    readonly dynamodbEndpoint: string;
    readonly s3Endpoint: string;
    readonly table: string;
    readonly bucket: string;
  };
  readonly cs2: { readonly url: string; readonly accountId: string };
}

export interface LocalCloud {
  readonly cs1Url: string;
  readonly cs2Url: string;
  readonly dataDir: string;
  readonly endpoints: LocalCloudEndpoints;
  /** Whether an account's process is up. */
  isRunning(account: AccountName): boolean;
  /** The process id of a running account (benchmarks read its CPU time). */
  pidOf(account: AccountName): number | undefined;
  /** Stops one account (its port then refuses connections). */
  stopAccount(account: AccountName): Promise<void>;
  /** Starts a stopped account again on the same ports and data. */
  startAccount(account: AccountName): Promise<void>;
  /** Stops both accounts and removes endpoints.json. */
  stop(): Promise<void>;
}

const ACCOUNT_ENTRY: Record<AccountName, string> = {
  cs1: join(REPO_ROOT, 'scripts', 'local-cloud', 'cs1-account.ts'),
  cs2: join(REPO_ROOT, 'scripts', 'local-cloud', 'cs2-account.ts'),
};
const STOP_TIMEOUT_MS = 15_000;

interface AccountHandle {
  child: ChildProcess;
  expectedExit: boolean;
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL after this long. */
  stopTimeoutMs: number;
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const layout = dataLayout(options.dataDir ?? DEFAULT_DATA_DIR);
  const host = options.host ?? '127.0.0.1';
  const functionsDir = options.functionsDir ?? DEFAULT_FUNCTIONS_DIR;
  const scale = options.timeoutScale ?? timeoutScale();
  if (!Number.isFinite(scale) || scale < 1 || scale > MAX_TIMEOUT_SCALE) throw new Error(`timeoutScale must be a number from 1 to ${MAX_TIMEOUT_SCALE}`);
  const startTimeoutMs = options.startTimeoutMs ?? Math.round(60_000 * scale);
  const functionConcurrency = options.functionConcurrency ?? DEFAULT_FUNCTION_CONCURRENCY;
  if (!Number.isInteger(functionConcurrency) || functionConcurrency < 1) throw new Error('functionConcurrency must be a positive integer');
  const logLevel = options.logLevel;
  const pointerTtlMs = options.pointerTtlMs;
  if (pointerTtlMs !== undefined && (!Number.isInteger(pointerTtlMs) || pointerTtlMs < 0)) throw new Error('pointerTtlMs must be a non-negative integer');
  const publishLeaseMs = options.publishLeaseMs ?? Math.round(DEFAULT_PUBLISH_JOB_TIMINGS.leaseMs * scale);
  if (!Number.isInteger(publishLeaseMs) || publishLeaseMs < 1000) throw new Error('publishLeaseMs must be an integer of at least 1000');
  await refuseIfRunning(layout);
  await Promise.all([layout.cs1Dir, layout.cs2Dir, layout.dynamodbDir, layout.s3Dir].map((dir) => mkdir(dir, { recursive: true })));
  await mkdir(layout.keyDir, { recursive: true, mode: 0o700 });

  // The operator's step: CS1 gets a credential, CS2 learns (only) its digest.
  const credential = await loadOrCreateCredential(layout.credentialFile);
  await writeTrustedDigest(layout.trustedDigestFile, credentialDigest(credential));

  const handles: Partial<Record<AccountName, AccountHandle>> = {};
  const ports = { cs1: options.cs1Port ?? 0, cs2: options.cs2Port ?? 0, dynamodb: options.dynamodbPort ?? 0, s3: options.s3Port ?? 0 };

  const launch = async <R extends Cs1Ready | Cs2Ready>(config: AccountConfig): Promise<R> => {
    const account = config.account;
    const { handle, ready } = spawnAccount(config, options, startTimeoutMs, Math.round(STOP_TIMEOUT_MS * scale));
    handles[account] = handle;
    // A crashed account is no longer running; startAccount can bring it back.
    void handle.exited.then(() => {
      if (handles[account] === handle) delete handles[account];
    });
    try {
      return (await ready) as R;
    } catch (error) {
      handle.expectedExit = true;
      await stopChild(handle);
      delete handles[account];
      throw error;
    }
  };

  const cs2Config = (port: number): AccountConfig => ({
    account: 'cs2',
    host,
    port,
    accountId: LOCAL_CS2_ACCOUNT_ID,
    region: LOCAL_REGION,
    keyDir: layout.keyDir,
    trustedDigestFile: layout.trustedDigestFile,
    functionsDir,
    isolatedAwsConfigDir: join(layout.cs2Dir, 'aws'),
    timeoutScale: scale,
    ...(logLevel ? { logLevel } : {}),
  });
  const cs1Config = (cs2Url: string): AccountConfig => ({
    account: 'cs1',
    host,
    port: ports.cs1,
    dynamodbPort: ports.dynamodb,
    s3Port: ports.s3,
    accountId: LOCAL_CS1_ACCOUNT_ID,
    region: LOCAL_REGION,
    table: LOCAL_TABLE,
    bucket: LOCAL_BUCKET,
    dynamodbDir: layout.dynamodbDir,
    s3Dir: layout.s3Dir,
    credentialFile: layout.credentialFile,
    cs2Url,
    functionsDir,
    isolatedAwsConfigDir: join(layout.cs1Dir, 'aws'),
    functionConcurrency,
    timeoutScale: scale,
    ...(options.handlerDynamodbEndpoint !== undefined ? { handlerDynamodbEndpoint: options.handlerDynamodbEndpoint } : {}),
    corsOrigins: [...(options.corsOrigins ?? LOCAL_PAGE_ORIGINS)],
    ...(logLevel ? { logLevel } : {}),
    ...(pointerTtlMs !== undefined ? { pointerTtlMs } : {}),
    publishLeaseMs,
    ...(options.allowInsecurePaperScheme !== undefined ? { allowInsecurePaperScheme: options.allowInsecurePaperScheme } : {}),
  });

  const cs2 = await launch<Cs2Ready>(cs2Config(ports.cs2));
  // Restarts reuse the ports picked now, so URLs stay valid across stopAccount/startAccount.
  ports.cs2 = cs2.port;
  let cs1: Cs1Ready;
  try {
    cs1 = await launch<Cs1Ready>(cs1Config(cs2.url));
  } catch (error) {
    if (handles.cs2) await stopHandle(handles.cs2);
    throw error;
  }
  ports.cs1 = cs1.port;
  ports.dynamodb = portOf(cs1.dynamodbEndpoint);
  ports.s3 = portOf(cs1.s3Endpoint);

  const endpoints: LocalCloudEndpoints = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dataDir: layout.dataDir,
    region: LOCAL_REGION,
    cs1: {
      url: cs1.url,
      accountId: LOCAL_CS1_ACCOUNT_ID,
      dynamodbEndpoint: cs1.dynamodbEndpoint,
      s3Endpoint: cs1.s3Endpoint,
      table: LOCAL_TABLE,
      bucket: LOCAL_BUCKET,
    },
    cs2: { url: cs2.url, accountId: LOCAL_CS2_ACCOUNT_ID },
  };
  await writeFile(layout.endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
  const unregister = await registerLocalCloud(options.registryDir ?? registryDir(), endpoints);

  let stopped = false;
  return {
    cs1Url: cs1.url,
    cs2Url: cs2.url,
    dataDir: layout.dataDir,
    endpoints,
    isRunning: (account) => handles[account] !== undefined,
    pidOf: (account) => handles[account]?.child.pid,
    stopAccount: async (account) => {
      const handle = handles[account];
      if (!handle) return;
      delete handles[account];
      await stopHandle(handle);
    },
    startAccount: async (account) => {
      if (stopped) throw new Error('the local cloud was stopped; start a new one');
      if (handles[account]) return;
      await launch(account === 'cs1' ? cs1Config(cs2.url) : cs2Config(ports.cs2));
    },
    stop: async () => {
      stopped = true;
      const running = (['cs1', 'cs2'] as const).flatMap((account) => {
        const handle = handles[account];
        delete handles[account];
        return handle ? [stopHandle(handle)] : [];
      });
      await Promise.all(running);
      await rm(layout.endpointsFile, { force: true });
      await unregister();
    },
  };
}

/** Two clouds on one data directory would corrupt it (and LevelDB would refuse the second). */
async function refuseIfRunning(layout: DataLayout): Promise<void> {
  let existing: { pid?: unknown; cs1?: { url?: unknown } };
  try {
    existing = JSON.parse(await readFile(layout.endpointsFile, 'utf8')) as typeof existing;
  } catch {
    return;
  }
  if (typeof existing.pid === 'number' && isProcessAlive(existing.pid)) {
    throw new Error(
      `a local cloud is already running on ${layout.dataDir} (pid ${existing.pid}, CS1 at ${String(existing.cs1?.url)}): ` +
        'stop it first, or pass another --data-dir',
    );
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function spawnAccount(
  config: AccountConfig,
  options: LocalCloudOptions,
  startTimeoutMs: number,
  stopTimeoutMs: number,
): { handle: AccountHandle; ready: Promise<Cs1Ready | Cs2Ready> } {
  const account = config.account;
  const piped = options.onLog !== undefined;
  // The last lines an account wrote, to explain a failed start when its output is piped.
  const recent: string[] = [];
  const child = fork(ACCOUNT_ENTRY[account], [JSON.stringify(config)], {
    cwd: REPO_ROOT,
    // tsx runs the TypeScript entry and the handlers it imports, as `npm start` does.
    execArgv: ['--import', 'tsx'],
    stdio: piped ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  if (piped) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        recent.push(line);
        if (recent.length > 5) recent.shift();
        options.onLog?.(account, line);
      });
    }
  }
  const handle: AccountHandle = {
    child,
    expectedExit: false,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
    stopTimeoutMs,
  };
  child.once('exit', (code, signal) => {
    if (!handle.expectedExit) options.onUnexpectedExit?.(account, code, signal);
  });

  const ready = new Promise<Cs1Ready | Cs2Ready>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${account} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    const onMessage = (message: unknown) => {
      if (!isAccountMessage(message)) return;
      if (message.type === 'failed') fail(new Error(`${account} could not start: ${message.message}`));
      else if (message.account === account) done(message);
    };
    const onExit = (code: number | null) => {
      const detail = recent.length > 0 ? `; its last output:\n${recent.join('\n')}` : ' (see its output above)';
      fail(new Error(`${account} exited with code ${code} before it was ready${detail}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    const done = (message: Exclude<AccountMessage, { type: 'failed' }>) => {
      cleanup();
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
  return { handle, ready };
}

async function stopHandle(handle: AccountHandle): Promise<void> {
  handle.expectedExit = true;
  await stopChild(handle);
}

/** SIGTERM, then SIGKILL if the account has not stopped within the deadline. */
async function stopChild(handle: AccountHandle): Promise<void> {
  const { child } = handle;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), handle.stopTimeoutMs);
  await handle.exited;
  clearTimeout(timer);
}
