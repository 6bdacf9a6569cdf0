/**
 * Deploys both stacks into two accounts of LocalStack's free edition with cdklocal, the way they
 * go into two AWS accounts, then runs the demo flow against them: LocalStack takes the account
 * from the access key id, so CS1's commands run with AWS_ACCESS_KEY_ID=<cs1 account> and CS2's
 * with <cs2 account>. CS1 is a REST API (API Gateway v1), which the free edition serves.
 * LocalStack needs Docker.
 *
 *   npm run deploy:localstack -- [--dry-run] [--cs1-account 000000000001] [--cs2-account 000000000002]
 *                                [--region us-east-1] [--endpoint http://localhost.localstack.cloud:4566]
 *                                [--skip-bootstrap] [--skip-demo]
 *
 * Order: bootstrap both accounts, deploy Cs1Stack (it creates the identify role), then Cs2Stack
 * (its resource policy names that role, which IAM expects to exist), then the demo flow (owner,
 * images, both indexes, the HE secret into CS2's Secrets Manager, a user, searches and an
 * identification) against the deployed API. --dry-run prints the commands without running
 * anything.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';

export interface LocalStackOptions {
  readonly cs1Account: string;
  readonly cs2Account: string;
  readonly region: string;
  /** LocalStack edge endpoint; omitted: cdklocal's default (http://localhost:4566). */
  readonly endpoint?: string;
  /** Must contain `.s3.` (cdklocal's rule); derived from `endpoint` when omitted. */
  readonly s3Endpoint?: string;
  readonly skipBootstrap?: boolean;
  readonly skipDemo?: boolean;
}

export interface PlanStep {
  readonly title: string;
  readonly account: string;
  readonly command: readonly string[];
  /** Variables set for this command only (on top of the caller's environment). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Stands for CS1's API URL in a step's command until the deployment's outputs exist:
 * `<endpoint>/restapis/<ApiId>/<ApiStage>/_user_request_`, LocalStack's path-style URL of a
 * REST API, which needs no DNS for `*.execute-api.localhost.localstack.cloud`.
 */
export const API_URL_PLACEHOLDER = '<cs1-api-url>';

/** The LocalStack URL of CS1's API from the outputs file of its deployment. */
export function apiUrlFromOutputs(outputs: Record<string, Record<string, string>>, endpoint: string): string {
  const stack = outputs['blindsight-cs1'] ?? Object.values(outputs)[0];
  if (!stack?.ApiId || !stack.ApiStage) throw new Error('the Cs1Stack outputs have no ApiId/ApiStage: was Cs1Stack deployed?');
  return `${endpoint.replace(/\/$/, '')}/restapis/${stack.ApiId}/${stack.ApiStage}/_user_request_`;
}

export const DEFAULT_LOCALSTACK_ENDPOINT = 'http://localhost:4566';

export function outputsFileOf(account: string): string {
  return `cdk.out/localstack-${account}-outputs.json`;
}

export const DEFAULT_LOCALSTACK_OPTIONS: LocalStackOptions = {
  cs1Account: '000000000001',
  cs2Account: '000000000002',
  region: 'us-east-1',
};

/** LocalStack accepts any secret; the access key id picks the account. */
const LOCALSTACK_SECRET = 'test';

/** `http://localhost.localstack.cloud:4566` -> `http://s3.localhost.localstack.cloud:4566`. */
export function s3EndpointFor(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.hostname.startsWith('s3.')) url.hostname = `s3.${url.hostname}`;
  return url.toString().replace(/\/$/, '');
}

function accountEnv(account: string, options: LocalStackOptions): Record<string, string> {
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: account,
    AWS_SECRET_ACCESS_KEY: LOCALSTACK_SECRET,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    // cdklocal strips AWS_* settings it is not told to keep.
    AWS_ENVAR_ALLOWLIST: 'AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_REGION,AWS_DEFAULT_REGION',
  };
  if (options.endpoint) {
    env.AWS_ENDPOINT_URL = options.endpoint;
    env.AWS_ENDPOINT_URL_S3 = options.s3Endpoint ?? s3EndpointFor(options.endpoint);
  }
  return env;
}

export function localStackPlan(options: LocalStackOptions = DEFAULT_LOCALSTACK_OPTIONS): PlanStep[] {
  for (const [name, value] of [['cs1Account', options.cs1Account], ['cs2Account', options.cs2Account]] as const) {
    if (!/^\d{12}$/.test(value)) throw new Error(`${name} must be 12 digits (LocalStack uses it as the access key id), got "${value}"`);
  }
  if (options.cs1Account === options.cs2Account) throw new Error('CS1 and CS2 need two different LocalStack accounts');
  const context = [
    '-c', `cs1Account=${options.cs1Account}`,
    '-c', `cs2Account=${options.cs2Account}`,
    '-c', `region=${options.region}`,
    // Lambdas in LocalStack reach S3 through an endpoint URL, where only path-style works.
    '-c', 's3ForcePathStyle=true',
  ];
  const cdklocal = (...args: string[]) => ['npx', 'cdklocal', ...args, ...context];
  const steps: PlanStep[] = [];
  if (!options.skipBootstrap) {
    for (const [label, account] of [['CS1', options.cs1Account], ['CS2', options.cs2Account]] as const) {
      steps.push({
        title: `bootstrap ${label}'s account ${account}`,
        account,
        command: cdklocal('bootstrap', `aws://${account}/${options.region}`),
        env: accountEnv(account, options),
      });
    }
  }
  steps.push({
    title: `deploy Cs1Stack into CS1's account ${options.cs1Account}`,
    account: options.cs1Account,
    command: cdklocal('deploy', 'Cs1Stack', '--require-approval', 'never', '--outputs-file', outputsFileOf(options.cs1Account)),
    env: accountEnv(options.cs1Account, options),
  });
  steps.push({
    title: `deploy Cs2Stack into CS2's account ${options.cs2Account}`,
    account: options.cs2Account,
    command: cdklocal('deploy', 'Cs2Stack', '--require-approval', 'never', '--outputs-file', outputsFileOf(options.cs2Account)),
    env: accountEnv(options.cs2Account, options),
  });
  if (!options.skipDemo) {
    // The demo runs as a client (no AWS settings of CS1's); it imports the HE secret the way
    // CS2's operator does, with CS2's account.
    const cs2 = accountEnv(options.cs2Account, options);
    const cs2Settings = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'].map((name) => `${name}=${cs2[name]}`);
    cs2Settings.push(`AWS_ENDPOINT_URL=${options.endpoint ?? DEFAULT_LOCALSTACK_ENDPOINT}`);
    steps.push({
      title: `run the demo flow against CS1's API (CS2's secret imported into account ${options.cs2Account})`,
      account: options.cs1Account,
      command: ['npx', 'tsx', 'scripts/demo/main.ts', '--exit', '--endpoint', API_URL_PLACEHOLDER, '--cs2-env', cs2Settings.join(',')],
      env: {},
    });
  }
  return steps;
}

/** A step as a copy-pastable shell line. */
export function formatStep(step: PlanStep): string {
  const quote = (value: string) => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);
  const env = Object.entries(step.env).map(([name, value]) => `${name}=${quote(value)}`);
  return [...env, ...step.command.map(quote)].join(' ');
}

async function checkLocalStack(endpoint: string): Promise<void> {
  const health = `${endpoint.replace(/\/$/, '')}/_localstack/health`;
  try {
    const response = await fetch(health, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  } catch (error) {
    throw new Error(
      `LocalStack is not reachable at ${endpoint} (${error instanceof Error ? error.message : String(error)}): ` +
        'start it first (`localstack start`, which needs Docker), or pass --endpoint',
    );
  }
}

async function resolveApiUrl(step: PlanStep, cwd: string, options: LocalStackOptions): Promise<PlanStep> {
  if (!step.command.includes(API_URL_PLACEHOLDER)) return step;
  const outputs = JSON.parse(await readFile(resolve(cwd, outputsFileOf(options.cs1Account)), 'utf8')) as Record<string, Record<string, string>>;
  const url = apiUrlFromOutputs(outputs, options.endpoint ?? DEFAULT_LOCALSTACK_ENDPOINT);
  return { ...step, command: step.command.map((part) => (part === API_URL_PLACEHOLDER ? url : part)) };
}

function runStep(step: PlanStep, cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const [command, ...args] = step.command;
    const child = spawn(command, args, { cwd, stdio: 'inherit', env: { ...process.env, ...step.env } });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${step.title} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('deploy-localstack')
    .description('Deploy Cs1Stack and Cs2Stack into two LocalStack accounts with cdklocal')
    .option('--cs1-account <id>', "CS1's LocalStack account (= access key id)", DEFAULT_LOCALSTACK_OPTIONS.cs1Account)
    .option('--cs2-account <id>', "CS2's LocalStack account (= access key id)", DEFAULT_LOCALSTACK_OPTIONS.cs2Account)
    .option('--region <region>', 'region of both stacks', DEFAULT_LOCALSTACK_OPTIONS.region)
    .option('--endpoint <url>', 'LocalStack endpoint (default: cdklocal default, http://localhost:4566)')
    .option('--s3-endpoint <url>', 'LocalStack S3 endpoint, must contain ".s3." (default: derived from --endpoint)')
    .option('--skip-bootstrap', 'the accounts are already bootstrapped')
    .option('--skip-demo', 'deploy only; do not run the demo flow')
    .option('--dry-run', 'print the commands instead of running them')
    .showHelpAfterError();
  program.parse(argv);
  const opts = program.opts<{
    cs1Account: string;
    cs2Account: string;
    region: string;
    endpoint?: string;
    s3Endpoint?: string;
    skipBootstrap?: boolean;
    skipDemo?: boolean;
    dryRun?: boolean;
  }>();
  const steps = localStackPlan(opts);
  if (opts.dryRun) {
    for (const step of steps) process.stdout.write(`# ${step.title}\n${formatStep(step)}\n`);
    return;
  }
  await checkLocalStack(opts.endpoint ?? DEFAULT_LOCALSTACK_ENDPOINT);
  const root = resolve(import.meta.dirname, '..');
  for (const [i, step] of steps.entries()) {
    process.stdout.write(`\n[${i + 1}/${steps.length}] ${step.title}\n`);
    await runStep(await resolveApiUrl(step, root, opts), root);
  }
  process.stdout.write(`\nDeployed${opts.skipDemo ? '' : ' and the demo flow passed'}. Outputs (API id, function ARN): cdk.out/localstack-*-outputs.json\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv).catch((error: unknown) => {
    process.stderr.write(`deploy-localstack: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
