/**
 * Life cycle shared by the two account processes: parse the configuration argument, start,
 * report ready (or failed) to the main process, and stop cleanly on SIGTERM/SIGINT or when the
 * main process goes away (IPC channel closed), so no emulator outlives the local cloud.
 */
import { join } from 'node:path';
import type { AccountConfig, AccountMessage, Cs1Ready, Cs2Ready } from './account-protocol';
import { FOREIGN_AWS_ENV } from './account-protocol';

export interface RunningAccount {
  readonly ready: Cs1Ready | Cs2Ready;
  stop(): Promise<void>;
}

const STOP_DEADLINE_MS = 10_000;

export function readAccountConfig<T extends AccountConfig>(account: T['account']): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error(`the ${account} account process needs its configuration as JSON argument`);
  const config = JSON.parse(raw) as AccountConfig;
  if (config.account !== account) throw new Error(`configuration is for ${config.account}, not ${account}`);
  return config as T;
}

/**
 * Replaces every AWS setting inherited from the developer's shell: the handlers must talk to
 * this account's emulators with fake credentials, never to real AWS or a user profile.
 */
export function isolateAwsEnvironment(awsConfigDir: string, settings: Readonly<Record<string, string>>): void {
  for (const name of FOREIGN_AWS_ENV) delete process.env[name];
  process.env.AWS_CONFIG_FILE = join(awsConfigDir, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(awsConfigDir, 'credentials');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  Object.assign(process.env, settings);
}

function send(message: AccountMessage): void {
  if (process.send) process.send(message);
}

function writeLog(level: 'error' | 'info', account: string, msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, account, msg, ...fields })}\n`);
}

export function runAccount(account: string, start: () => Promise<RunningAccount>): void {
  let running: RunningAccount | undefined;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(code), STOP_DEADLINE_MS).unref();
    try {
      await running?.stop();
    } catch (error) {
      writeLog('error', account, 'error while stopping', { errorType: error instanceof Error ? error.name : 'Error' });
    }
    process.exit(code);
  };

  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
  process.on('disconnect', () => void shutdown(0));
  // A Lambda runtime would recycle the environment; here one bad promise must not take the
  // whole account down, but it is logged loudly.
  process.on('unhandledRejection', (reason) => {
    writeLog('error', account, 'unhandled promise rejection in a handler', {
      errorType: reason instanceof Error ? reason.name : typeof reason,
      errorMessage: reason instanceof Error ? reason.message : undefined,
    });
  });

  start().then(
    (started) => {
      running = started;
      if (stopping) void started.stop();
      else send(started.ready);
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      send({ type: 'failed', message });
      writeLog('error', account, `could not start: ${message}`);
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 100).unref();
    },
  );
}
