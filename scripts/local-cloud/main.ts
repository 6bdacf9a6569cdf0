/**
 * `npm run local-cloud`: starts the local two-account cloud and keeps it running until Ctrl+C
 *
 *   npm run local-cloud -- [--data-dir DIR] [--cs1-port N] [--cs2-port N] [--dynamodb-port N]
 *                [--s3-port N] [--host H] [--concurrency N] [--log-level LEVEL]
 *                [--pointer-ttl-ms MS] [--cors-origins LIST]
 *                [--allow-insecure-paper-scheme] [--json]
 *
 * Port 0 picks a free port. Prints the endpoints (a human line, or with --json one JSON line)
 * and writes them to <data-dir>/endpoints.json for the CLI and tests.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseCorsOrigins } from '../../lib/api/cors';
import { SHE_WARNING } from '../../lib/he/backends';
import type { LogLevel } from './account-protocol';
import { LOG_LEVELS } from './account-protocol';
import type { LocalCloud } from './cloud';
import { DEFAULT_FUNCTION_CONCURRENCY, startLocalCloud } from './cloud';
import { DEFAULT_DATA_DIR, DEFAULT_PORTS, LOCAL_PAGE_ORIGINS } from './layout';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}

const program = new Command('local-cloud')
  .description('Run Blindsight locally: CS1 (API, DynamoDB, S3) and CS2 (decryption) as two isolated processes')
  .option('--data-dir <dir>', 'folder for all local data (kept across restarts)', DEFAULT_DATA_DIR)
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--cs1-port <port>', 'CS1 API port (0 = any free port)', port, DEFAULT_PORTS.cs1)
  .option('--cs2-port <port>', 'CS2 port', port, DEFAULT_PORTS.cs2)
  .option('--dynamodb-port <port>', "CS1's DynamoDB (dynalite) port", port, DEFAULT_PORTS.dynamodb)
  .option('--s3-port <port>', "CS1's S3 (s3rver) port; presigned URLs point here", port, DEFAULT_PORTS.s3)
  .option('--concurrency <n>', 'execution environments per CS1 function: requests one function serves at a time', positiveInteger, DEFAULT_FUNCTION_CONCURRENCY)
  .addOption(new Option('--log-level <level>', "the handlers' log level (default: BLINDSIGHT_LOG_LEVEL, else INFO)").choices(LOG_LEVELS))
  .option('--pointer-ttl-ms <ms>', "how long CS1's search may reuse an index's current-version pointer (0: read it on every search)", nonNegativeInteger)
  .option('--cors-origins <list>', `comma-separated origins whose pages may call CS1's API ('none' for none; default ${LOCAL_PAGE_ORIGINS.join(',')})`)
  .option('--allow-insecure-paper-scheme', "let CS1 publish two-server indexes of the 'she' backend, the paper's scheme, which is broken (experiments only)")
  .option('--json', 'print the endpoints as one JSON line instead of text')
  .showHelpAfterError();

program.parse(process.argv);
const opts = program.opts<{
  dataDir: string;
  host: string;
  cs1Port: number;
  cs2Port: number;
  dynamodbPort: number;
  s3Port: number;
  concurrency: number;
  logLevel?: LogLevel;
  pointerTtlMs?: number;
  corsOrigins?: string;
  allowInsecurePaperScheme?: boolean;
  json?: boolean;
}>();
const corsOrigins = opts.corsOrigins === undefined ? undefined : opts.corsOrigins.trim() === 'none' ? [] : parseCorsOrigins(opts.corsOrigins);

let cloud: LocalCloud | undefined;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await cloud?.stop();
  } finally {
    process.exit(code);
  }
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  cloud = await startLocalCloud({
    dataDir: opts.dataDir,
    host: opts.host,
    cs1Port: opts.cs1Port,
    cs2Port: opts.cs2Port,
    dynamodbPort: opts.dynamodbPort,
    s3Port: opts.s3Port,
    functionConcurrency: opts.concurrency,
    logLevel: opts.logLevel,
    pointerTtlMs: opts.pointerTtlMs,
    corsOrigins,
    ...(opts.allowInsecurePaperScheme === true ? { allowInsecurePaperScheme: true } : {}),
    onUnexpectedExit: (account, code, signal) => {
      process.stderr.write(`local cloud: ${account} stopped unexpectedly (${signal ?? `exit code ${code}`}); shutting down\n`);
      void shutdown(1);
    },
  });
} catch (error) {
  process.stderr.write(`local cloud: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

const { endpoints } = cloud;
if (opts.allowInsecurePaperScheme === true) {
  process.stderr.write(`warning: --allow-insecure-paper-scheme: CS1 publishes she indexes; ${SHE_WARNING}\n`);
}
if (opts.json) {
  process.stdout.write(`${JSON.stringify({ event: 'ready', ...endpoints })}\n`);
} else {
  process.stdout.write(
    [
      'Blindsight local cloud is running:',
      `  CS1 API   ${endpoints.cs1.url}   (DynamoDB ${endpoints.cs1.dynamodbEndpoint}, S3 ${endpoints.cs1.s3Endpoint})`,
      `  CS2       ${endpoints.cs2.url}   (accepts only CS1)`,
      `  data      ${endpoints.dataDir}`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
}
