/**
 * Every environment setting of the project, in one table: its variable, what it is for, its
 * default and its bounds. Code reads a setting through the reader (environment.ts) by its key
 * here, never by its variable name; docs/configuration.md lists this table (a test keeps the two
 * equal), and the CDK stacks and the local cloud pass settings in under these same names.
 */
import type { SettingSpec } from './types';

const KIB = 1024;
const MIB = 1024 * KIB;

export const SETTINGS = {
  // Storage (CS1 functions; AWS_REGION also CS2's).
  table: {
    name: 'BLINDSIGHT_TABLE',
    kind: 'text',
    group: 'storage',
    purpose: 'the DynamoDB table that holds owners, users and index versions',
    requiredWhen: 'CS1 functions',
  },
  bucket: {
    name: 'BLINDSIGHT_BUCKET',
    kind: 'text',
    group: 'storage',
    purpose: 'the S3 bucket that holds encrypted images and bulky index parts',
    requiredWhen: 'CS1 functions',
  },
  region: {
    name: 'AWS_REGION',
    kind: 'text',
    group: 'storage',
    purpose: 'the AWS region of the table, bucket and secrets, e.g. us-east-1',
    requiredWhen: 'functions that call AWS (Lambda sets it)',
  },
  s3ForcePathStyle: {
    name: 'BLINDSIGHT_S3_FORCE_PATH_STYLE',
    kind: 'flag',
    group: 'storage',
    default: false,
    purpose: 'path-style S3 URLs, for emulators (s3rver, LocalStack) that cannot serve virtual-hosted buckets',
  },

  logLevel: {
    name: 'BLINDSIGHT_LOG_LEVEL',
    kind: 'choice',
    group: 'logging',
    case: 'upper',
    choices: {
      TRACE: 'everything',
      DEBUG: 'per-step details',
      INFO: 'one line per request',
      WARN: 'problems that did not fail a request',
      ERROR: 'failed requests',
      CRITICAL: 'failures of the function itself',
      SILENT: 'nothing, for tests',
    },
    default: 'INFO',
    purpose: "the handlers' log level (Powertools Logger)",
  },

  // CS1: what a warm function keeps in memory.
  indexCacheMb: {
    name: 'BLINDSIGHT_INDEX_CACHE_MB',
    kind: 'number',
    group: 'cs1',
    default: 1024,
    min: 0,
    max: 10_240,
    unit: 'MiB',
    purpose: 'memory for cached SEI index leaves and directory shards per process (give the search function more memory than this)',
  },
  pointerTtlMs: {
    name: 'BLINDSIGHT_POINTER_TTL_MS',
    kind: 'integer',
    group: 'cs1',
    default: 1000,
    min: 0,
    // Past this, a publish would no longer be "promptly visible" to searches.
    max: 60_000,
    unit: 'ms',
    purpose: "how long a search function reuses an index's current-version pointer (0: read it on every request)",
  },
  twoServerCacheVersions: {
    name: 'BLINDSIGHT_TWO_SERVER_CACHE_VERSIONS',
    kind: 'integer',
    group: 'cs1',
    default: 4,
    min: 1,
    max: 64,
    unit: 'versions',
    purpose: 'two-server index versions (with their HE evaluators) kept loaded per process',
  },
  allowInsecurePaperScheme: {
    name: 'BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME',
    kind: 'flag',
    group: 'cs1',
    default: false,
    purpose: "publish two-server indexes of the `she` backend, the paper's scheme, which is broken (experiments only; refused with a 400 naming this setting otherwise)",
  },
  corsOrigins: {
    name: 'BLINDSIGHT_CORS_ORIGINS',
    kind: 'list',
    group: 'cs1',
    default: [],
    // `*` any origin; in an entry, `*` stands for characters other than "." (http://localhost:*).
    item: { pattern: /^(\*|[a-z][a-z0-9+.-]*:\/\/[^\s/,]+)$/, description: 'an origin (scheme://host[:port], a * for any port or label, or * alone for any origin)' },
    purpose: "origins whose web pages may call CS1's API (CORS); none by default",
  },

  // CS1 -> CS2: read on the first identification only.
  cs2Mode: {
    name: 'BLINDSIGHT_CS2_MODE',
    kind: 'choice',
    group: 'cs1-to-cs2',
    case: 'lower',
    choices: { http: 'local cloud', lambda: 'AWS' },
    purpose: 'how CS1 reaches CS2',
    requiredWhen: 'CS1 identifies',
  },
  cs2Url: {
    name: 'BLINDSIGHT_CS2_URL',
    kind: 'text',
    group: 'cs1-to-cs2',
    purpose: "CS2's base URL, e.g. http://127.0.0.1:4520",
    requiredWhen: 'BLINDSIGHT_CS2_MODE=http',
  },
  cs2Credential: {
    name: 'BLINDSIGHT_CS2_CREDENTIAL',
    kind: 'text',
    group: 'cs1-to-cs2',
    secret: true,
    purpose: 'the credential CS2 trusts, sent as a Bearer token',
    requiredWhen: 'BLINDSIGHT_CS2_MODE=http',
  },
  cs2FunctionArn: {
    name: 'BLINDSIGHT_CS2_FUNCTION_ARN',
    kind: 'text',
    group: 'cs1-to-cs2',
    purpose: "the ARN of CS2's decrypt function (in CS2's account)",
    requiredWhen: 'BLINDSIGHT_CS2_MODE=lambda',
  },
  identifyWorkerFunction: {
    name: 'BLINDSIGHT_IDENTIFY_WORKER_FUNCTION',
    kind: 'text',
    group: 'cs1',
    purpose: "name or ARN of the identify worker function: each stage's shards are evaluated by parallel invocations of it (unset: in the identify function's own process)",
  },
  publishWorkerFunction: {
    name: 'BLINDSIGHT_PUBLISH_WORKER_FUNCTION',
    kind: 'text',
    group: 'cs1',
    purpose: "name or ARN of the publish worker function, invoked asynchronously by the publish route (the CDK stack and the local cloud set it)",
  },
  publishLeaseMs: {
    name: 'BLINDSIGHT_PUBLISH_LEASE_MS',
    kind: 'integer',
    group: 'cs1',
    // DEFAULT_PUBLISH_JOB_TIMINGS.leaseMs (lib/service/versions/publish-jobs.ts).
    default: 60_000,
    min: 1_000,
    max: 3_600_000,
    unit: 'ms',
    purpose: "how long a publish job's lease lasts from its worker's last renewal",
  },
  publishFirstLeaseMs: {
    name: 'BLINDSIGHT_PUBLISH_FIRST_LEASE_MS',
    kind: 'integer',
    group: 'cs1',
    default: 120_000,
    min: 1_000,
    max: 21_600_000,
    unit: 'ms',
    purpose: 'the first lease of a publish job, until its worker has started (unset: 120,000 or twice the lease, whichever is longer)',
  },
  identifyWorkerTimeoutMs: {
    name: 'BLINDSIGHT_IDENTIFY_WORKER_TIMEOUT_MS',
    kind: 'integer',
    group: 'cs1',
    // The identify worker function runs at most 20 s (cdk/timeouts.ts).
    default: 20_000,
    min: 100,
    max: 900_000,
    unit: 'ms',
    purpose: 'timeout of one invocation of the identify worker function',
  },
  cs2TimeoutMs: {
    name: 'BLINDSIGHT_CS2_TIMEOUT_MS',
    kind: 'integer',
    group: 'cs1-to-cs2',
    // CS2's decrypt function runs at most 20 s (cdk/timeouts.ts), plus the network around it.
    default: 22_000,
    min: 100,
    max: 900_000,
    unit: 'ms',
    purpose: 'timeout of one call to CS2',
  },
  cs2InlineMaxBytes: {
    name: 'BLINDSIGHT_CS2_INLINE_MAX_BYTES',
    kind: 'integer',
    group: 'cs1-to-cs2',
    // Both are INLINE_BATCH_MAX_BYTES (lib/twoserver/transport/decrypt-event.ts; a test checks).
    default: 4 * MIB,
    min: 0,
    max: 4 * MIB,
    unit: 'bytes',
    purpose: 'largest batch sent to CS2 inside the request; larger ones are staged in S3',
  },
  cs2TransferUrlSeconds: {
    name: 'BLINDSIGHT_CS2_TRANSFER_URL_SECONDS',
    kind: 'integer',
    group: 'cs1-to-cs2',
    // CS2 fetches a staged batch at once, within its own timeout.
    default: 120,
    min: 1,
    max: 3600,
    unit: 's',
    purpose: 'lifetime of the presigned URLs of staged batches',
  },

  // CS2.
  cs2KeyDir: {
    name: 'BLINDSIGHT_CS2_KEY_DIR',
    aliases: ['BLINDSIGHT_SECRET_DIR'],
    kind: 'text',
    group: 'cs2',
    purpose: 'a local key directory (FileSecretStore) instead of Secrets Manager; set by the local cloud',
  },
  cs2SecretPrefix: {
    name: 'BLINDSIGHT_CS2_SECRET_PREFIX',
    aliases: ['BLINDSIGHT_SECRET_PREFIX'],
    kind: 'text',
    group: 'cs2',
    default: 'blindsight/cs2/',
    purpose: 'Secrets Manager name prefix: the key with id K is the secret <prefix>K',
  },
  secretKmsKeyId: {
    name: 'BLINDSIGHT_SECRET_KMS_KEY_ID',
    kind: 'text',
    group: 'cs2',
    purpose: "KMS key of secrets the store creates (default: the account's aws/secretsmanager key)",
  },
  cs2AllowLoopbackFetch: {
    name: 'BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH',
    kind: 'flag',
    group: 'cs2',
    default: false,
    purpose: 'let CS2 fetch staged batches from 127.0.0.1 / localhost (local cloud only)',
  },
  cs2FetchHosts: {
    name: 'BLINDSIGHT_CS2_FETCH_HOSTS',
    kind: 'list',
    group: 'cs2',
    default: ['.amazonaws.com', '.amazonaws.com.cn'],
    item: { pattern: /^\.?[a-z0-9-]+(\.[a-z0-9-]+)*$/, description: 'a host name' },
    purpose: 'hosts CS2 may fetch staged batches from (".suffix" or an exact host)',
  },
  cs2MaxBatchMb: {
    name: 'BLINDSIGHT_CS2_MAX_BATCH_MB',
    kind: 'integer',
    group: 'cs2',
    default: 256,
    min: 1,
    max: 4096,
    unit: 'MiB',
    purpose: 'largest staged batch CS2 fetches',
  },
  cs2FetchTimeoutMs: {
    name: 'BLINDSIGHT_CS2_FETCH_TIMEOUT_MS',
    kind: 'integer',
    group: 'cs2',
    default: 10_000,
    min: 100,
    max: 900_000,
    unit: 'ms',
    purpose: 'timeout of the GET of a staged batch',
  },
  cs2MaxKeys: {
    name: 'BLINDSIGHT_CS2_MAX_KEYS',
    kind: 'integer',
    group: 'cs2',
    default: 8,
    min: 1,
    max: 256,
    unit: 'keys',
    purpose: 'HE decryptors CS2 keeps loaded per process',
  },

  // Feature extraction and data (clients, benchmarks).
  tfBackend: {
    name: 'BLINDSIGHT_TF_BACKEND',
    kind: 'choice',
    group: 'features',
    case: 'lower',
    choices: { tensorflow: 'native TensorFlow (@tensorflow/tfjs-node)', wasm: 'WebAssembly', cpu: 'plain JavaScript' },
    purpose: 'forces one TensorFlow.js backend (default: the fastest that starts)',
  },
  fashionMnistDir: {
    name: 'FASHION_MNIST_DIR',
    kind: 'text',
    group: 'features',
    default: '/usr/share/datasets/fashion-mnist',
    purpose: "Fashion-MNIST's gzipped IDX files (Debian's dataset-fashion-mnist)",
  },

  // The client, the CLI and the local cloud.
  timeoutScale: {
    name: 'BLINDSIGHT_TIMEOUT_SCALE',
    kind: 'number',
    group: 'tools',
    default: 1,
    min: 1,
    max: 100,
    unit: 'times',
    purpose:
      "multiplies the client's request and transfer timeouts and the local cloud's emulated AWS limits on a slow machine (never a limit of real AWS; npm test sets 10)",
  },
  cliHome: {
    name: 'BLINDSIGHT_HOME',
    kind: 'text',
    group: 'tools',
    purpose: 'folder for keys and state (default ~/.blindsight; --home overrides)',
  },
  cliEndpoint: {
    name: 'BLINDSIGHT_ENDPOINT',
    kind: 'text',
    group: 'tools',
    purpose: "CS1's API URL (--endpoint overrides; default: the saved one, else the running local cloud)",
  },
  localCloudDataDir: {
    name: 'BLINDSIGHT_DATA_DIR',
    kind: 'text',
    group: 'tools',
    purpose: "the data folder of the local cloud the CLI should use (default: the running local cloud, found in the registry)",
  },
  hostileRequests: {
    name: 'BLINDSIGHT_HOSTILE_REQUESTS',
    kind: 'integer',
    group: 'tools',
    default: 3000,
    min: 1,
    max: 1_000_000,
    unit: 'requests',
    purpose: 'requests the hostile-request test (test/e2e/hostile-requests.test.ts) sends',
  },
  hostileSeed: {
    name: 'BLINDSIGHT_HOSTILE_SEED',
    kind: 'integer',
    group: 'tools',
    default: 9,
    min: 0,
    max: 2_147_483_647,
    unit: 'seed',
    purpose: 'seed of the hostile-request test (a failure report names it)',
  },
  localCloudRegistry: {
    name: 'BLINDSIGHT_LOCAL_CLOUD_REGISTRY',
    kind: 'text',
    group: 'tools',
    purpose: 'folder where running local clouds list themselves so the CLI finds them (default .local-cloud/running in the checkout)',
  },
  webScreenshots: {
    name: 'BLINDSIGHT_WEB_SCREENSHOTS',
    kind: 'text',
    group: 'tools',
    purpose: 'folder (e.g. docs) where the browser test (test/browser/web-page.test.ts) saves screenshots of the page; unset: none',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingsTable = typeof SETTINGS;
export type SettingKey = keyof SettingsTable;
