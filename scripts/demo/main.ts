/**
 * The one-command demo (`npm start`): starts the local two-account cloud, indexes the bundled
 * gallery (sealed and SEI indexes), publishes, enrolls a user, runs sealed searches, a
 * K-anonymous SEI search and an identification,
 * prints what happened, and keeps serving for your own `blindsight` commands until Ctrl+C.
 *
 *   npm start                          # demo, then serve on the default ports (CS1 :4510)
 *   npm start -- --exit                # CI: same flow, exit 0 only if every step succeeded
 *   npm start -- --gallery-size 60     # a smaller gallery (faster)
 *
 * Options: --exit, --gallery-size <n>, --he bfv|she (she needs
 * --insecure-paper-scheme), --k <n>, --data-dir <dir> (default: the
 * local cloud's .local-cloud when serving, a folder in the work folder with --exit),
 * --free-ports (default with --exit), --workdir <dir> (default: a new temporary folder),
 * --clean (with --exit: remove the work folder; by default it is kept, with the results it
 * names), --endpoint <url> and --cs2-env <list> (a deployed CS1 and CS2, e.g. LocalStack:
 * npm run deploy:localstack runs the demo this way). Relative paths are taken from the folder
 * npm was started in.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SHE_IS_INSECURE } from '../../lib/he/backends';
import { REPO_ROOT, DEFAULT_DATA_DIR } from '../local-cloud/layout';
import { formatSeconds } from '../../lib/client/units';
import { commandCwd } from '../user-cwd';
import { runDemo } from './demo';
import { GALLERY_DIR, galleryImages } from './gallery';
import type { DemoOutcome } from './demo';

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

const program = new Command('demo')
  .description('Blindsight in one command: local cloud, owner, user, encrypted search and identification')
  .option('--exit', 'run the flow once and exit: 0 if every step succeeded, 1 otherwise')
  .option('--gallery-size <n>', 'images of the bundled gallery to use (balanced over the 10 classes)', integer('--gallery-size', 20, 300))
  .addOption(new Option('--he <backend>', 'homomorphic encryption of the identification index').choices(['bfv', 'she']).default('bfv'))
  .option('--insecure-paper-scheme', "allow --he she, the paper's scheme, which is broken (experiments only)")
  .option('--k <n>', 'results per search', integer('--k', 1, 50), 8)
  .option('--data-dir <dir>', 'local cloud data folder')
  .option('--free-ports', 'pick free ports instead of the defaults (CS1 on 4510)')
  .option('--workdir <dir>', 'folder for the owner and user homes, the gallery copy and the results')
  .option('--clean', 'with --exit: remove the work folder (homes, results, cloud data) at the end')
  .option('--endpoint <url>', 'run against a deployed CS1 (LocalStack, AWS) instead of starting the local cloud; implies --exit')
  .option('--cs2-env <list>', "with --endpoint: comma-separated NAME=VALUE settings (credentials, region, endpoint) of CS2's account, for importing the HE secret into its Secrets Manager")
  .showHelpAfterError();

program.parse(process.argv);
const options = program.opts<{
  exit?: boolean;
  gallerySize?: number;
  he: 'bfv' | 'she';
  insecurePaperScheme?: boolean;
  k: number;
  dataDir?: string;
  freePorts?: boolean;
  workdir?: string;
  clean?: boolean;
  endpoint?: string;
  cs2Env?: string;
}>();
if (options.endpoint !== undefined) options.exit = true;

/** NAME=VALUE,NAME=VALUE -> the settings. */
function settingsOf(list: string | undefined): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const entry of (list ?? '').split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const at = entry.indexOf('=');
    if (at < 1) throw new InvalidArgumentError(`--cs2-env entry "${entry}" is not NAME=VALUE`);
    settings[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return settings;
}

/** The CS2 operator's step: import the HE secret into CS2's Secrets Manager (scripts/cs2-import-key.ts). */
function importIntoCs2(settings: Record<string, string>): (secretFile: string) => Promise<string> {
  return (secretFile) =>
    new Promise((settle, fail) => {
      const script = `${REPO_ROOT}/scripts/cs2-import-key.ts`;
      const child = spawn(process.execPath, ['--import', 'tsx', script, '--file', secretFile, '--secrets-manager'], {
        env: { ...process.env, ...settings },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', fail);
      child.on('exit', (code) => (code === 0 ? settle(output.trim()) : fail(new Error(`importing the CS2 secret failed (exit code ${code})`))));
    });
}
/** Where the user ran `npm start` (npm itself runs in the repository). */
const userCwd = commandCwd(process.env, process.cwd());
const fromUser = (path: string | undefined) => (path === undefined ? undefined : resolve(userCwd, path));

if (options.he === 'she' && options.insecurePaperScheme !== true) {
  program.error(`--he she needs --insecure-paper-scheme: ${SHE_IS_INSECURE}`, { exitCode: 2 });
}

const out = process.stdout;
let outcome: DemoOutcome | undefined;
let stopping = false;

async function shutdown(code: number, removeWorkdir: boolean): Promise<never> {
  if (!stopping) {
    stopping = true;
    try {
      outcome?.models.dispose();
      await outcome?.web?.stop();
      await outcome?.cloud?.stop();
      if (removeWorkdir && outcome) await rm(outcome.workdir, { recursive: true, force: true });
    } catch (error) {
      process.stderr.write(`demo: while stopping: ${error instanceof Error ? error.message : String(error)}\n`);
      code = code || 1;
    }
  }
  process.exit(code);
}

function stopOnSignal(): void {
  if (!stopping) out.write('\nStopping the local cloud...\n');
  void shutdown(0, false);
}

process.on('SIGINT', stopOnSignal);
process.on('SIGTERM', stopOnSignal);

function cliCommand(args: string): string {
  const cli = relative(userCwd, `${REPO_ROOT}/scripts/cli/main.ts`) || 'scripts/cli/main.ts';
  return `npx tsx ${cli} ${args}`;
}

try {
  outcome = await runDemo({
    gallerySize: options.gallerySize,
    he: options.he,
    insecurePaperScheme: options.insecurePaperScheme === true,
    k: options.k,
    // --exit must not collide with a cloud a developer runs: temporary data, free ports.
    dataDir: fromUser(options.dataDir) ?? (options.exit ? undefined : DEFAULT_DATA_DIR),
    freePorts: options.freePorts ?? options.exit === true,
    workdir: fromUser(options.workdir),
    ...(options.endpoint !== undefined ? { remote: { endpoint: options.endpoint, importCs2Secret: importIntoCs2(settingsOf(options.cs2Env)) } } : {}),
    webPage: !options.exit && options.endpoint === undefined,
    out,
  });
} catch (error) {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  await shutdown(1, false);
}

const result = outcome!;
const failed = result.steps.filter((s) => !s.ok);
if (failed.length > 0) {
  out.write(`\nDemo FAILED: ${failed.map((s) => s.name.split(':')[0]).join(', ')} (work folder ${result.workdir}, cloud log ${result.workdir}/cloud.log)\n`);
  await shutdown(1, false);
}

out.write(
  [
    '',
    `All ${result.steps.length} steps succeeded in ${formatSeconds(result.totalMs)}.`,
    ...(options.exit && options.clean
      ? [`  (work folder ${result.workdir} removed: --clean)`]
      : [`  decrypted search results: ${result.resultsDir}/<query>/`, `  owner home ${result.ownerHome}   user home ${result.userHome}`]),
    ...(options.exit && !options.clean ? [`  the work folder stays; remove it with: rm -rf ${result.workdir}`] : []),
    '',
  ].join('\n'),
);

if (options.exit) await shutdown(0, options.clean === true);

const sneaker = (await galleryImages()).find((image) => image.label === 'sneaker')!;
const example = relative(userCwd, `${GALLERY_DIR}/${sneaker.file}`);
out.write(
  [
    ...(result.web
      ? [`Web page: ${result.web.url}  (open it, import ${result.userHome}/user/grant.json with ${result.userHome}/user/user-secret.key, drop an image)`, '']
      : []),
    `The local cloud keeps serving (CS1 ${result.cloud!.cs1Url}). Try your own commands, e.g.:`,
    `  ${cliCommand(`user search ${example} --k 10 --out ${result.workdir}/my-results --home ${result.userHome}`)}`,
    `  ${cliCommand(`user search ${example} --kind sei --anonymity 4 --ids-only --home ${result.userHome}`)}`,
    `  ${cliCommand(`user search ${relative(userCwd, GALLERY_DIR)} --ids-only --k 3 --home ${result.userHome}`)}`,
    `  ${cliCommand(`user identify ${example} --k 3 --home ${result.userHome}`)}`,
    `  ${cliCommand(`owner status --home ${result.ownerHome}`)}`,
    'Press Ctrl+C to stop (the work folder stays).',
    '',
  ].join('\n'),
);
