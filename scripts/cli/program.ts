/**
 * The `blindsight` command line: one program, two groups of commands.
 *
 *   blindsight owner init | index <folder> | publish | enroll <user> --request <file> |
 *                    add <image> | delete <image> | revoke <user> | status
 *   blindsight user  request-key | import <grant> | search <image> --out <dir> | identify <image>
 *
 * Global options (anywhere on the line): --home <dir> (default ~/.blindsight or
 * BLINDSIGHT_HOME), --endpoint <url>, --json. runCli runs one command line in-process and
 * returns the exit code, so tests and the demo use exactly what people type.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import type { HeBackendName } from '../../lib/he/types';
import type { CommandContext } from './context';
import { defaultHome } from './context';
import { describeError, EXIT_OK, EXIT_USAGE } from './errors';
import { createFeatureProvider, parseModelChoice } from './features';
import type { FeatureProvider } from './features';
import { formatBytes, formatSeconds, formatTable, streamReporter } from './io';
import type { CliIo } from './io';
import type * as InitModule from './owner/init';
import type * as IndexModule from './owner/index-folder';
import type * as PublishModule from './owner/publish';
import type * as StatusModule from './owner/status';
import type * as UpdateModule from './owner/update';
import type * as UsersModule from './owner/users';
import type * as KeysModule from './user/keys';
import type * as SearchModule from './user/search';
import type * as IdentifyModule from './user/identify';
import type { IndexResult } from './owner/index-folder';
import { describeSearchDefaults } from './owner/search-defaults';
import type { IndexTreeLayout } from '../../lib/sei/index-tree/types';
import type { InitResult } from './owner/init';
import type { PublishResult } from './owner/publish';
import type { StatusResult } from './owner/status';
import type { UpdateResult } from './owner/update';
import type { EnrollResult, RevokeResult } from './owner/users';
import type { IdentifyResult } from './user/identify';
import type { ImportResult, RequestKeyResult } from './user/keys';
import type { SearchResult } from './user/search';

// Commands load their modules (and with them TensorFlow.js, SEAL, the AWS SDK) only when they
// run: --help and usage errors stay fast.
const ownerInit: typeof InitModule.ownerInit = async (...a) => (await import('./owner/init')).ownerInit(...a);
const ownerIndex: typeof IndexModule.ownerIndex = async (...a) => (await import('./owner/index-folder')).ownerIndex(...a);
const ownerPublish: typeof PublishModule.ownerPublish = async (...a) => (await import('./owner/publish')).ownerPublish(...a);
const ownerStatus: typeof StatusModule.ownerStatus = async (...a) => (await import('./owner/status')).ownerStatus(...a);
const ownerAdd: typeof UpdateModule.ownerAdd = async (...a) => (await import('./owner/update')).ownerAdd(...a);
const ownerDelete: typeof UpdateModule.ownerDelete = async (...a) => (await import('./owner/update')).ownerDelete(...a);
const ownerEnroll: typeof UsersModule.ownerEnroll = async (...a) => (await import('./owner/users')).ownerEnroll(...a);
const ownerRevoke: typeof UsersModule.ownerRevoke = async (...a) => (await import('./owner/users')).ownerRevoke(...a);
const userRequestKey: typeof KeysModule.userRequestKey = async (...a) => (await import('./user/keys')).userRequestKey(...a);
const userImport: typeof KeysModule.userImport = async (...a) => (await import('./user/keys')).userImport(...a);
const userSearch: typeof SearchModule.userSearch = async (...a) => (await import('./user/search')).userSearch(...a);
const userIdentify: typeof IdentifyModule.userIdentify = async (...a) => (await import('./user/identify')).userIdentify(...a);

export interface RunOptions {
  /** Shared models (the demo and tests run many commands in one process). Default: loaded per run. */
  readonly features?: FeatureProvider;
  readonly now?: () => Date;
}

interface GlobalOptions {
  home?: string;
  endpoint?: string;
  json?: boolean;
}

/** A number in (0, 1]. */
function fraction(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !(n > 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a number in (0, 1]`);
    return n;
  };
}

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

// ---------------------------------------------------------------------------------------------
// Human renderings of results (stdout; --json prints the result object instead).

function renderInit(r: InitResult): string {
  return `${r.created ? 'created' : 'existing'} owner ${r.ownerId} (d = ${r.d}) at ${r.endpoint}`;
}

function renderIndex(r: IndexResult): string {
  const lines = [
    `indexed ${r.images} images from ${r.folder} into "${r.indexName}" (${r.skipped.length} skipped; PCA ${r.pcaComponents} of d = ${r.d}; ${r.leafCount} leaves, depth ${r.depth})`,
    `search defaults: ${describeSearchDefaults(r.search)}`,
  ];
  if (r.twoServer) lines.push(`identification index "${r.twoServer.indexName}": ${r.twoServer.templates} templates (${r.twoServer.embedding}, ${r.twoServer.backend})`);
  return lines.join('\n');
}

function renderPublish(r: PublishResult): string {
  const lines = [
    `published index "${r.sei.indexName}" version ${r.sei.version} with ${r.images.uploaded} images (${formatBytes(r.images.bytes)}) to ${r.endpoint} in ${formatSeconds(r.ms)}`,
  ];
  if (r.twoServer) {
    lines.push(`published identification index "${r.twoServer.indexName}" version ${r.twoServer.version}`);
    lines.push(r.twoServer.cs2.imported ? `CS2 holds key ${r.twoServer.keyId}` : `CS2's operator must run: ${r.twoServer.cs2.command}`);
  }
  return lines.join('\n');
}

function renderUpdate(r: UpdateResult): string {
  return `image ${r.imageId}: index version ${r.version} holds ${r.imageCount} images${r.rebuildAdvice.advisable ? ' (a rebuild is advisable)' : ''}`;
}

function renderSearch(r: SearchResult): string {
  if (r.results.length === 0) return 'no results';
  return formatTable(
    ['rank', 'image id', 'score', 'decrypted file'],
    r.results.map((row) => [row.rank, row.imageId, row.score.toFixed(5), row.file]),
  );
}

function renderIdentify(r: IdentifyResult): string {
  if (r.matches.length === 0) return 'no match';
  return formatTable(
    ['template id', 'dist^2 (x10^6)', 'distance'],
    r.matches.map((m) => [m.templateId, m.dist2, m.distance.toFixed(4)]),
  );
}

/** The status for people (stdout). */
function renderStatusLines(status: StatusResult): string {
  const lines = [`owner ${status.ownerId}`, `  home      ${status.home}`, `  CS1       ${status.endpoint}`, `  dimension ${status.d}`];
  if (status.build) {
    const b = status.build;
    lines.push(`last build ${b.builtAt}: ${b.images} images from ${b.folder} (${b.skipped} skipped), model ${b.model}, PCA ${b.pcaComponents}`);
  } else {
    lines.push('nothing indexed yet');
  }
  for (const [name, entry] of Object.entries(status.served)) {
    lines.push('error' in entry ? `index "${name}": ${entry.error}` : `index "${name}": ${entry.kind} version ${entry.version}, published ${entry.publishedAt}`);
  }
  const ids = Object.keys(status.users);
  lines.push(ids.length === 0 ? 'no users enrolled' : `users: ${ids.map((id) => `${id} (${status.users[id].status})`).join(', ')}`);
  if (status.images) lines.push('', formatTable(['image id', 'file'], status.images.map((image) => [image.imageId, image.relative || image.file])));
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

export function buildProgram(io: CliIo, options: RunOptions, state: { features?: FeatureProvider; json: boolean }): Command {
  const program = new Command('blindsight')
    .description('Search encrypted images: the owner indexes and publishes, enrolled users search and identify.')
    .option('--home <dir>', 'folder for keys and state (default ~/.blindsight, or BLINDSIGHT_HOME)')
    .option('--endpoint <url>', "CS1's API URL (local cloud, LocalStack or API Gateway; default: BLINDSIGHT_ENDPOINT, the saved one, or the running local cloud)")
    .option('--json', 'print one JSON object on stdout instead of text')
    .addHelpText(
      'after',
      [
        '',
        'The GenKey exchange and a first search:',
        '  owner:  blindsight owner init',
        '  owner:  blindsight owner index ~/photos --two-server && blindsight owner publish',
        '  user:   blindsight user request-key                  # send key-request.json to the owner',
        '  owner:  blindsight owner enroll alice --request key-request.json',
        '  user:   blindsight user import alice.grant.json',
        '  user:   blindsight user search query.jpg --k 10 --out results [--anonymity 4]',
        '  user:   blindsight user identify query.jpg --k 3',
      ].join('\n'),
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`blindsight: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    });

  /** Runs an action with its context and prints its result. */
  const run = <R>(command: Command, action: (context: CommandContext) => Promise<R>, render: (result: R) => string) => async () => {
    const globals = command.optsWithGlobals<GlobalOptions>();
    state.json = globals.json === true;
    const reporter = streamReporter(io.stderr, { progressBars: !state.json });
    state.features ??= options.features ?? createFeatureProvider(reporter);
    const context: CommandContext = {
      home: globals.home !== undefined ? resolve(io.cwd, globals.home) : defaultHome(io.env),
      endpointFlag: globals.endpoint,
      env: io.env,
      cwd: io.cwd,
      reporter,
      features: state.features,
      now: options.now ?? (() => new Date()),
    };
    const result = await action(context);
    io.stdout.write(state.json ? `${JSON.stringify({ ok: true, ...result })}\n` : `${render(result)}\n`);
  };

  // --- owner --------------------------------------------------------------------------------
  const owner = program.command('owner').description("the image owner's commands: keys, index, publish, users");

  const init = owner
    .command('init')
    .description('create the owner keys (signing key, SEI owner secret, image key) and register with CS1')
    .option('--dimension <d>', 'SEI feature dimension after PCA', integer('--dimension', 2, 4096), 128);
  init.action(run(init, (c) => ownerInit(c, { dimension: init.opts().dimension }), renderInit));

  const index = owner
    .command('index')
    .description('extract features, fit PCA, build the encrypted index tree and encrypt the images of a folder (locally)')
    .argument('<folder>', 'folder of JPEG, PNG or WebP images')
    .option('--index <name>', 'name of the SEI index', 'main')
    .option('--recursive', 'include sub-folders')
    .option('--model <id>', 'feature model (mobilenet_v2_mid, mobilenet_v2, inception_v3, faceapi_mobilenet_v1)', 'mobilenet_v2_mid')
    .option('--two-server', 'also build the two-server identification index')
    .option('--identify-index <name>', 'name of the identification index (default <index>-identify)')
    .addOption(new Option('--he <backend>', 'homomorphic encryption for --two-server').choices(['bfv', 'she']).default('bfv'))
    .option('--insecure-paper-scheme', "allow --he she, the paper's scheme, which is broken (experiments on synthetic data only)")
    .option('--face', 'identification embeddings from the face model (one face per image) instead of CNN features')
    .option('--target-recall <r>', 'recall@10 the stored search defaults must reach (measured on held-out images)', fraction('--target-recall'), 0.95)
    .addOption(new Option('--layout <layout>', "index tree layout (paper: the SEI paper's tree and search)").choices(['balanced', 'paper']).default('balanced'));
  index.action(
    run(
      index,
      (c) => {
        const o = index.opts<{
          index: string;
          recursive?: boolean;
          model: string;
          twoServer?: boolean;
          identifyIndex?: string;
          he: string;
          insecurePaperScheme?: boolean;
          face?: boolean;
          targetRecall: number;
          layout: IndexTreeLayout;
        }>();
        return ownerIndex(c, {
          folder: index.args[0],
          indexName: o.index,
          recursive: o.recursive,
          model: parseModelChoice(o.model),
          twoServer: o.twoServer === true || o.face === true,
          twoServerIndexName: o.identifyIndex,
          he: o.he as HeBackendName,
          insecurePaperScheme: o.insecurePaperScheme,
          face: o.face,
          targetRecall: o.targetRecall,
          layout: o.layout,
        });
      },
      renderIndex,
    ),
  );

  const publish = owner
    .command('publish')
    .description('upload the encrypted images and index parts and publish them atomically (two-server: hand CS2 its key)')
    .option('--cs2-key-dir <dir>', "the local CS2's key folder (default: found from the running local cloud)");
  publish.action(run(publish, (c) => ownerPublish(c, { cs2KeyDir: publish.opts().cs2KeyDir }), renderPublish));

  const enroll = owner
    .command('enroll')
    .description("register a user at CS1 and write its grant (user key Abar/U, image key, PCA, token) from the user's key request")
    .argument('<userId>', 'the user id (letters, digits, . _ - @)')
    .requiredOption('--request <file>', 'the key request from "blindsight user request-key"')
    .option('--out <file>', 'where to write the grant (default <home>/owner/grants/<userId>.grant.json)')
    .option('--token-days <days>', "lifetime of the user's token", integer('--token-days', 1, 30), 30);
  enroll.action(
    run(
      enroll,
      (c) => {
        const o = enroll.opts<{ request: string; out?: string; tokenDays: number }>();
        return ownerEnroll(c, { userId: enroll.args[0], request: o.request, out: o.out, tokenDays: o.tokenDays });
      },
      (r: EnrollResult) => `grant for "${r.userId}" written to ${r.grant} (token valid until ${r.tokenExpiresAt})`,
    ),
  );

  const add = owner.command('add').description('add one image to the published index (no rebuild)').argument('<image>', 'image file');
  add.action(run(add, (c) => ownerAdd(c, add.args[0]), renderUpdate));

  const del = owner
    .command('delete')
    .description('delete one image from the published index')
    .argument('<image>', 'image id, or the file as indexed (see "owner status --images")');
  del.action(run(del, (c) => ownerDelete(c, del.args[0]), renderUpdate));

  const revoke = owner.command('revoke').description("revoke a user: CS1 refuses its token from the next request on").argument('<userId>');
  revoke.action(run(revoke, (c) => ownerRevoke(c, revoke.args[0]), (r: RevokeResult) => `user "${r.userId}" revoked at ${r.revokedAt}`));

  const status = owner.command('status').description('local keys and build, what CS1 serves, enrolled users').option('--images', 'list image ids and files');
  status.action(run(status, (c) => ownerStatus(c, { images: status.opts().images === true }), (r: StatusResult) => renderStatusLines(r)));

  // --- user ---------------------------------------------------------------------------------
  const user = program.command('user').description("an enrolled user's commands: key request, grant import, search, identify");

  const requestKey = user
    .command('request-key')
    .description("draw your secret W and write the key request for the owner's enroll step")
    .option('--dimension <d>', "the owner's index dimension", integer('--dimension', 2, 4096), 128)
    .option('--out <file>', 'where to write the request (default <home>/user/key-request.json)')
    .option('--renew', 'draw a new W even if one exists (grants for the old one stop working)');
  requestKey.action(
    run(
      requestKey,
      (c) => userRequestKey(c, { dimension: requestKey.opts().dimension, out: requestKey.opts().out, renew: requestKey.opts().renew === true }),
      (r: RequestKeyResult) => `key request written to ${r.request}`,
    ),
  );

  const importGrant = user.command('import').description("import the owner's grant").argument('<grant>', 'grant file from "owner enroll"');
  importGrant.action(
    run(
      importGrant,
      (c) => userImport(c, importGrant.args[0]),
      (r: ImportResult) => `ready to search index "${r.index}" of owner ${r.ownerId} as "${r.userId}" (token valid until ${r.tokenExpiresAt})`,
    ),
  );

  const search = user
    .command('search')
    .description('search the encrypted index with an image; the results are decrypted into --out')
    .argument('<image>', 'query image')
    .requiredOption('--out <dir>', 'folder for the decrypted result images')
    .option('--k <n>', 'number of results', integer('--k', 1, 100), 10)
    .option('--anonymity <K>', 'K-anonymity: hide the query among K-1 decoy queries', integer('--anonymity', 1, 16), 1)
    .option('--probes <n>', "leaves ranked at least (default: the index's calibrated value; more: better recall, slower)", integer('--probes', 1, 64))
    .option('--decoys <folder>', 'draw decoys from features of your own images instead of the grant\'s pool');
  search.action(
    run(
      search,
      (c) => {
        const o = search.opts<{ out: string; k: number; anonymity: number; probes?: number; decoys?: string }>();
        return userSearch(c, { image: search.args[0], out: o.out, k: o.k, anonymity: o.anonymity, probes: o.probes, decoys: o.decoys });
      },
      renderSearch,
    ),
  );

  const identify = user
    .command('identify')
    .description('two-server identification: the encrypted embedding goes to CS1, which asks CS2; prints matching template ids')
    .argument('<image>', 'query image')
    .addOption(new Option('--tau-squared <n>', 'range query: every template within this squared distance (x10^6 units)').argParser(integer('--tau-squared', 0, Number.MAX_SAFE_INTEGER)).conflicts('k'))
    .addOption(new Option('--k <n>', 'the n nearest templates').argParser(integer('--k', 1, 50)).conflicts('tauSquared'))
    .option('--face', 'the query is a face (required for face indexes, which use it anyway)');
  identify.action(
    run(
      identify,
      (c) => {
        const o = identify.opts<{ tauSquared?: number; k?: number; face?: boolean }>();
        return userIdentify(c, { image: identify.args[0], tauSquared: o.tauSquared, k: o.k, face: o.face });
      },
      renderIdentify,
    ),
  );

  // Sub-commands inherit exitOverride, the output configuration and suggestions from `program`.
  return program;
}

/** Commander's own "errors" that are not failures. */
const COMMANDER_SUCCESS = new Set(['commander.helpDisplayed', 'commander.version']);

/** Runs one command line (argv without "node script") and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliIo, options: RunOptions = {}): Promise<number> {
  const state: { features?: FeatureProvider; json: boolean } = { json: argv.includes('--json') };
  const program = buildProgram(io, options, state);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      if (COMMANDER_SUCCESS.has(error.code)) return EXIT_OK;
      if (state.json) io.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'USAGE', message: error.message.replace(/^error: /, '') } })}\n`);
      return EXIT_USAGE;
    }
    const described = describeError(error);
    io.stderr.write(`blindsight: error: ${described.message}\n`);
    if (state.json) io.stdout.write(`${JSON.stringify({ ok: false, error: { code: described.code, message: described.message } })}\n`);
    return described.exitCode;
  } finally {
    if (options.features === undefined) state.features?.dispose();
  }
}
