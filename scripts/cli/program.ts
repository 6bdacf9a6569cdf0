/**
 * The `blindsight` command line: one program, two groups of commands.
 *
 *   blindsight owner init | index <folder> | publish | enroll <user> --request <file> |
 *                    add <image> | delete <image> | revoke <user> | status
 *   blindsight user  request-key | import <grant> | search <image|folder>... | identify <image|folder>...
 *
 * Global options (anywhere on the line): --home <dir> (default ~/.blindsight or
 * BLINDSIGHT_HOME), --endpoint <url>, --json. runCli runs one command line in-process and
 * returns the exit code, so tests and the demo use exactly what people type.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolve } from 'node:path';
import type { HeBackendName } from '../../lib/he/types';
import { parseQueryBudget, POLICY_MAX_K } from '../../lib/twoserver/policy';
import type { CommandContext } from './context';
import { defaultHome } from './context';
import { ServiceUnreachableError } from '../../lib/client/errors';
import type { WorkflowListener } from '../../lib/client/events';
import { createFeatureModels, parseModelChoice } from '../../lib/client/node/feature-models';
import type { NodeFeatureModels } from '../../lib/client/node/feature-models';
import { formatBytes, formatSeconds } from '../../lib/client/units';
import { withOrigin } from './endpoint';
import { describeError, EXIT_OK, EXIT_USAGE, UsageError } from './errors';
import { formatTable, streamReporter } from './io';
import type { CliIo, ReporterOptions } from './io';
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
import { describeSearchDefaults } from '../../lib/client/search-defaults';
import type { IndexTreeLayout } from '../../lib/sei/index-tree/types';
import { SEARCH_INDEX_KINDS } from '../../lib/client/owner-state';
import type { SearchIndexKind } from '../../lib/client/owner-state';
import type { InitResult } from './owner/init';
import type { PublishResult } from './owner/publish';
import type { StatusResult } from './owner/status';
import type { UpdateResult } from './owner/update';
import type { EnrollResult, RevokeResult } from './owner/users';
import type { IdentifyResult } from './user/identify';
import type { ImportResult, RequestKeyResult } from './user/keys';
import type { SearchResult } from './user/search';
import { parseIndexName, parseUserId } from '../../lib/core/ids';

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
  /** Shared models (tests run many commands in one process). Default: loaded per run. */
  readonly models?: NodeFeatureModels;
  readonly now?: () => Date;
  /** Progress line pacing off a terminal (tests). */
  readonly progress?: Pick<ReporterOptions, 'lineIntervalMs' | 'clock'>;
}

/** Per-run state: the listener of the command that runs (shared models report to it). */
interface RunState {
  json: boolean;
  models?: NodeFeatureModels;
  listener: WorkflowListener;
  context?: CommandContext;
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

/** "sealed,sei" -> ['sealed', 'sei'] (each checked). */
function kindList(value: string): SearchIndexKind[] {
  const kinds = value.split(',').map((kind) => kind.trim());
  for (const kind of kinds) {
    if (!(SEARCH_INDEX_KINDS as readonly string[]).includes(kind)) throw new InvalidArgumentError(`--kind: "${kind}" is not one of ${SEARCH_INDEX_KINDS.join(', ')}`);
  }
  if (new Set(kinds).size !== kinds.length) throw new InvalidArgumentError('--kind names a kind twice');
  return kinds as SearchIndexKind[];
}

function renderIndex(r: IndexResult): string {
  const lines = [`indexed ${r.images} images from ${r.folder} (${r.skipped.length} skipped; PCA ${r.pcaComponents} of d = ${r.d})`];
  if (r.sealed) {
    lines.push(
      `sealed index "${r.sealed.indexName}": ${r.sealed.leafCount} leaves; each query reads ${r.sealed.realLeaves} of ${r.sealed.leavesPerQuery} (recall@10 ${r.sealed.recallEstimate.toFixed(3)} on the owner's sample)`,
    );
  }
  if (r.sei) {
    lines.push(`SEI index "${r.sei.indexName}": ${r.sei.leafCount} leaves, depth ${r.sei.depth}`);
    lines.push(`search defaults: ${describeSearchDefaults(r.sei.search)}`);
  }
  if (r.twoServer) lines.push(`identification index "${r.twoServer.indexName}": ${r.twoServer.templates} templates (${r.twoServer.embedding}, ${r.twoServer.backend})`);
  return lines.join('\n');
}

function renderPublish(r: PublishResult): string {
  const lines = [`uploaded ${r.images.uploaded} images (${formatBytes(r.images.bytes)}) to ${r.endpoint} in ${formatSeconds(r.ms)}`];
  if (r.sealed) lines.push(`published sealed index "${r.sealed.indexName}" version ${r.sealed.version}`);
  if (r.sei) lines.push(`published SEI index "${r.sei.indexName}" version ${r.sei.version}`);
  if (r.twoServer) {
    lines.push(`published identification index "${r.twoServer.indexName}" version ${r.twoServer.version}`);
    lines.push(r.twoServer.cs2.imported ? `CS2 holds key ${r.twoServer.keyId}` : `CS2's operator must run: ${r.twoServer.cs2.command}`);
  }
  return lines.join('\n');
}

function renderUpdate(r: UpdateResult): string {
  const lines = [`image ${r.imageId}: index version ${r.version} holds ${r.imageCount} images${r.rebuildAdvice.advisable ? ' (a rebuild is advisable)' : ''}`];
  const followed = r.identification;
  if (followed) lines.push(`identification index "${followed.indexName}": version ${followed.version} holds ${followed.templates} templates (${followed.shardsUploaded} of ${followed.shards} shards uploaded)`);
  const stale = r.staleIdentification;
  if (stale) lines.push(`identification index "${stale.indexName}" misses ${stale.added.length} added and still returns ${stale.deleted.length} deleted images until you re-index`);
  if (r.envelopeRemoval) lines.push('its encrypted image is removed from storage once no index version still served or retained lists it');
  return lines.join('\n');
}

function renderSearch(r: SearchResult): string {
  // Both are smaller-is-nearer: a sealed search ranks squared distances itself, SEI's scores are CS1's.
  const score = r.kind === 'sealed' ? 'distance^2' : 'score';
  const blocks = r.queries.map((q) => {
    const table =
      q.results.length === 0
        ? 'no results'
        : r.idsOnly
          ? formatTable(['rank', 'image id', score], q.results.map((row) => [row.rank, row.imageId, row.score.toFixed(5)]))
          : formatTable(['rank', 'image id', score, 'decrypted file'], q.results.map((row) => [row.rank, row.imageId, row.score.toFixed(5), row.file ?? '']));
    return r.queries.length === 1 ? table : `query ${q.query}\n${table}`;
  });
  if (r.skipped.length > 0) blocks.push(`skipped: ${r.skipped.map((s) => `${s.file} (${s.reason})`).join(', ')}`);
  if (r.queries.length > 1) blocks.push(`${r.queries.length} queries in ${formatSeconds(r.ms.total)} (${formatSeconds(r.ms.perQuery)} per query)`);
  return blocks.join('\n\n');
}

function renderIdentify(r: IdentifyResult): string {
  const blocks = r.queries.map((q) => {
    const table =
      q.matches.length === 0
        ? 'no match'
        : formatTable(['rank', 'template id'], q.matches.map((id, i) => [i + 1, id]));
    return r.queries.length === 1 ? table : `query ${q.query}\n${table}`;
  });
  if (r.skipped.length > 0) blocks.push(`skipped: ${r.skipped.map((s) => `${s.file} (${s.reason})`).join(', ')}`);
  return blocks.join('\n\n');
}

/** The status for people (stdout). */
function renderStatusLines(status: StatusResult): string {
  const lines = [`owner ${status.ownerId}`, `  home      ${status.home}`, `  CS1       ${status.endpoint}`, `  dimension ${status.d}`];
  if (status.build) {
    const b = status.build;
    lines.push(`last build ${b.builtAt}: ${b.images} images from ${b.folder} (${b.skipped} skipped), model ${b.model}, PCA ${b.pcaComponents}${b.published ? '' : '; not published yet ("owner publish")'}`);
    if (b.staleIdentification) {
      lines.push(
        `identification index "${b.twoServerIndex}" is out of step: misses added ${b.staleIdentification.added.join(', ') || '-'}; still returns deleted ${b.staleIdentification.deleted.join(', ') || '-'} (re-index with --two-server and publish)`,
      );
    }
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

export function buildProgram(io: CliIo, options: RunOptions, state: RunState): Command {
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
        '  owner:  blindsight owner enroll alice --request key-request.json   # writes alice.grant.json',
        '  user:   blindsight user import alice.grant.json',
        '  user:   blindsight user search query.jpg --k 10 [--out results] [--anonymity 4]',
        '  user:   blindsight user search queries/ --ids-only --json       # many queries, one model load',
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
    state.listener = streamReporter(io.stderr, { progressBars: !state.json, ...options.progress });
    state.models ??= options.models ?? createFeatureModels(() => state.listener);
    const context: CommandContext = {
      home: globals.home !== undefined ? resolve(io.cwd, globals.home) : defaultHome(io.env),
      endpointFlag: globals.endpoint,
      env: io.env,
      cwd: io.cwd,
      listener: (event) => state.listener(event),
      models: state.models,
      now: options.now ?? (() => new Date()),
    };
    state.context = context;
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
    .option('--index <name>', 'name of the (first) search index; another kind is named <name>-<kind>', 'main')
    .addOption(
      new Option('--kind <kinds>', 'search index kinds, comma-separated: sealed (private: the cloud never sees a query or a score), sei (the SEI paper\'s: the cloud ranks encrypted vectors)')
        .argParser(kindList)
        .default(['sealed'], 'sealed'),
    )
    .option('--recursive', 'include sub-folders')
    .option('--model <id>', 'feature model (mobilenet_v2_mid, mobilenet_v2, inception_v3, faceapi_mobilenet_v1)', 'mobilenet_v2_mid')
    .option('--two-server', 'also build the two-server identification index')
    .option('--identify-index <name>', 'name of the identification index (default <index>-identify)')
    .addOption(new Option('--he <backend>', 'homomorphic encryption for --two-server').choices(['bfv', 'she']).default('bfv'))
    .option('--insecure-paper-scheme', "allow --he she, the paper's scheme, which is broken (experiments on synthetic data only)")
    .option('--face', 'identification embeddings from the face model (one face per image) instead of CNN features')
    .option('--target-recall <r>', 'recall@10 the search defaults must reach (sealed: real leaves per query; SEI: probes; measured on held-out images)', fraction('--target-recall'), 0.95)
    .addOption(new Option('--layout <layout>', "SEI index tree layout (paper: the SEI paper's tree and search)").choices(['balanced', 'paper']).default('balanced'))
    .option('--max-k <k>', 'identification: the largest k a user may ask for (default 10)', integer('--max-k', 1, POLICY_MAX_K))
    .option('--max-tau-squared <n>', 'identification: the largest squared distance a range query may use (default: 360000 faces, 250000 CNN)', integer('--max-tau-squared', 0, Number.MAX_SAFE_INTEGER))
    .option('--identify-budget <n/window>', 'identification: queries per user per window, e.g. 100/1h (default 100/1h)');
  index.action(
    run(
      index,
      (c) => {
        const o = index.opts<{
          index: string;
          kind: SearchIndexKind[];
          recursive?: boolean;
          model: string;
          twoServer?: boolean;
          identifyIndex?: string;
          he: string;
          insecurePaperScheme?: boolean;
          face?: boolean;
          targetRecall: number;
          layout: IndexTreeLayout;
          maxK?: number;
          maxTauSquared?: number;
          identifyBudget?: string;
        }>();
        return ownerIndex(c, {
          folder: index.args[0],
          indexName: parseIndexName(o.index),
          kinds: o.kind,
          recursive: o.recursive,
          model: parseModelChoice(o.model),
          twoServer: o.twoServer === true || o.face === true,
          twoServerIndexName: o.identifyIndex === undefined ? undefined : parseIndexName(o.identifyIndex),
          he: o.he as HeBackendName,
          insecurePaperScheme: o.insecurePaperScheme,
          face: o.face,
          targetRecall: o.targetRecall,
          layout: o.layout,
          maxK: o.maxK,
          maxTauSquared: o.maxTauSquared,
          identifyBudget: o.identifyBudget === undefined ? undefined : parseQueryBudget(o.identifyBudget),
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
        return ownerEnroll(c, { userId: parseUserId(enroll.args[0]), request: o.request, out: o.out, tokenDays: o.tokenDays });
      },
      (r: EnrollResult) => `grant for "${r.userId}" written to ${r.grant} (token valid until ${r.tokenExpiresAt})`,
    ),
  );

  const seiOnlyHelp = 'with an identification index: update the search indexes (sealed, SEI) only (identification follows by default) and record what identification misses until the next re-index';
  const add = owner
    .command('add')
    .description('add one image to the published indexes (search and identification; no rebuild)')
    .argument('<image>', 'image file')
    .option('--sei-only', seiOnlyHelp);
  add.action(run(add, (c) => ownerAdd(c, add.args[0], { seiOnly: add.opts().seiOnly === true }), renderUpdate));

  const del = owner
    .command('delete')
    .description('delete one image from the published indexes (search and identification)')
    .argument('<image>', 'image id, or the file as indexed (see "owner status --images")')
    .option('--sei-only', seiOnlyHelp);
  del.action(run(del, (c) => ownerDelete(c, del.args[0], { seiOnly: del.opts().seiOnly === true }), renderUpdate));

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
    .description('search the encrypted index with one image or many (files or folders; the model loads once); results are decrypted into --out')
    .argument('<images...>', 'query images, or folders of them')
    .option('--out <dir>', 'folder for the decrypted results (default ./blindsight-results; one sub-folder per query)')
    .option('--ids-only', 'print the result ids only: nothing is downloaded or decrypted')
    .addOption(new Option('--kind <kind>', "which of the grant's indexes (default: the sealed one when the grant has one)").choices([...SEARCH_INDEX_KINDS]))
    .option('--k <n>', 'number of results per query', integer('--k', 1, 100), 10)
    .option('--anonymity <K>', 'SEI: hide each query among K-1 decoy queries (a sealed query is always hidden among decoy leaves)', integer('--anonymity', 1, 16), 1)
    .option('--probes <n>', "leaves ranked (sealed: real leaves read per query; SEI: at least); default: the index's calibrated value; more: better recall, slower", integer('--probes', 1, 1024))
    .option('--decoys <folder>', "SEI: draw decoys from features of your own images instead of the grant's pool")
    .option('--recursive', 'include the sub-folders of query folders')
    .addHelpText('after', '\nExamples:\n  blindsight user search photo.jpg --out results\n  blindsight user search queries/ --k 5 --ids-only --json');
  search.action(
    run(
      search,
      (c) => {
        const o = search.opts<{ out?: string; idsOnly?: boolean; kind?: SearchIndexKind; k: number; anonymity: number; probes?: number; decoys?: string; recursive?: boolean }>();
        if (o.idsOnly && o.out !== undefined) throw new UsageError('give either --ids-only or --out, not both');
        return userSearch(c, { images: search.args, out: o.out, idsOnly: o.idsOnly, kind: o.kind, k: o.k, anonymity: o.anonymity, probes: o.probes, decoys: o.decoys, recursive: o.recursive });
      },
      renderSearch,
    ),
  );

  const identify = user
    .command('identify')
    .description('two-server identification of one image or many: the encrypted embedding goes to CS1, which asks CS2; prints matching template ids')
    .argument('<images...>', 'query images, or folders of them')
    .addOption(new Option('--tau-squared <n>', 'range query: every template within this squared distance (x10^6 units)').argParser(integer('--tau-squared', 0, Number.MAX_SAFE_INTEGER)).conflicts('k'))
    .addOption(new Option('--k <n>', 'the n nearest templates').argParser(integer('--k', 1, 50)).conflicts('tauSquared'))
    .option('--face', 'the query is a face (required for face indexes, which use it anyway)')
    .option('--recursive', 'include the sub-folders of query folders');
  identify.action(
    run(
      identify,
      (c) => {
        const o = identify.opts<{ tauSquared?: number; k?: number; face?: boolean; recursive?: boolean }>();
        return userIdentify(c, { images: identify.args, tauSquared: o.tauSquared, k: o.k, face: o.face, recursive: o.recursive });
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
  const state: RunState = { json: argv.includes('--json'), listener: () => {} };
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
    // "cannot reach <url>" says where the URL came from.
    const endpoint = state.context?.endpoint;
    const message = error instanceof ServiceUnreachableError && endpoint !== undefined ? withOrigin(described.message, endpoint) : described.message;
    io.stderr.write(`blindsight: error: ${message}\n`);
    if (state.json) io.stdout.write(`${JSON.stringify({ ok: false, error: { code: described.code, message } })}\n`);
    return described.exitCode;
  } finally {
    if (options.models === undefined) state.models?.dispose();
  }
}
