/**
 * What is deployed, checked offline. Both stacks are synthesized once with the real CDK CLI and
 * the real handlers (local esbuild, no Docker), as an operator does before `cdk deploy`; then:
 * - cfn-lint over both templates: no error;
 * - both templates deployed into a moto server as two accounts (assets uploaded to moto's S3
 *   first), and the cross-account trust checked on what moto holds;
 * - every Lambda asset run the way Lambda runs it, by Node 22 from an empty folder, each in one
 *   warm execution environment, with REST proxy events against local storage: it loads, answers
 *   a valid request and a bad one (4xx), and answers 503 once its storage becomes unreachable.
 * cfn-lint and moto_server are Python tools installed on the machine; a missing one fails the
 * test with its name. cfn-lint runs while moto deploys (both are independent of each other).
 */
import { GetFunctionCommand, GetPolicyCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { APIGatewayClient, GetMethodCommand, GetResourcesCommand, GetRestApisCommand } from '@aws-sdk/client-api-gateway';
import { GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cs1HandlerModules, constructIdOf } from '../../../cdk/cs1-stack';
import { CS1_IDENTIFY_ROLE_NAME, CS2_DECRYPT_FUNCTION_NAME } from '../../../cdk/names';
import { STATUS_OF_CODE } from '../../../lib/api/errors';
import { CS1_API, CS1_AUTHORIZER, CS1_ROUTES, CS1_WORKERS, routeKeyOf } from '../../../lib/api/routes';
import { createLambdaInvokeApi } from '../../../scripts/local-cloud/lambda-invoke-api';
import type { InvocationOutcome } from '../../../scripts/local-cloud/function-invoker';
import { listen } from '../../../scripts/local-cloud/http-server';
import { memoryLog } from '../../support/logs';
import type { Cs1RouteName } from '../../../lib/api/routes';
import { DecryptionError, DimensionMismatchError, InvalidInputError, MalformedDataError, NotFoundError } from '../../../lib/core/errors';
import { mapLimited } from '../../../lib/core/concurrency';
import { sealIndex, sealedPartSizes } from '../../../lib/sealed/build';
import { encryptIndexVector } from '../../../lib/sei/index-vector';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import { SecretsManagerStore } from '../../../lib/storage/secrets-manager-store';
import { SETTINGS } from '../../../lib/config/settings';
import { scaledTimeout } from '../../../lib/core/timeout-scale';
import { startCuttableProxy } from '../../support/cuttable-proxy';
import type { CuttableProxy } from '../../support/cuttable-proxy';
import { authorizerEvent, httpEvent } from '../../support/http-events';
import { node22Version, startBundle } from '../../support/lambda-bundle';
import type { BundleOutcome, WarmBundle } from '../../support/lambda-bundle';
import { startLocalAws } from '../../support/local-aws';
import type { LocalAws } from '../../support/local-aws';
import { startMoto } from '../../support/moto';
import type { Moto } from '../../support/moto';
import { deployStack, publishAssets } from '../../support/moto-deploy';
import { sealedWorld } from '../../support/sealed-fixture';
import type { SealedWorld } from '../../support/sealed-fixture';
import { row, seiWorld } from '../../support/sei-fixture';
import { readFunctionBundles, SEAL_ADAPTER } from '../../../scripts/bundle-report';
import { newOwner } from '../functions/support';
import type { Owner } from '../functions/support';
import { SHE_SMALL, buildFixture, cs2KeyDir, probeNear, startCs2HttpServer } from '../service/two-server/support';
import type { DirectHandler, TwoServerFixture } from '../service/two-server/support';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const run = promisify(execFile);

/** The HE roles a bundle holds: lib/he/{,bfv/,she/}<role>.ts. */
function heRoles(projectFiles: readonly string[]): string[] {
  const roles = new Set<string>();
  for (const file of projectFiles) {
    const match = /^lib\/he\/(?:bfv\/|she\/)?(provider|keygen|client|evaluator|decryptor)\.ts$/.exec(file);
    if (match !== null) roles.add(match[1]);
  }
  return [...roles].sort();
}

/** Functions that use HE, and the roles they play; every other function bundles none. */
const HE_ROLES_OF: Record<string, string[]> = {
  'cs1/identify': ['evaluator'],
  'cs1/identify-worker': ['evaluator'],
  'cs1/index-version-publish-worker': ['client', 'evaluator'],
  'cs2/decrypt': ['decryptor'],
};
const CS1_ACCOUNT = '111111111111';
const CS2_ACCOUNT = '222222222222';
/** The account moto puts requests in when they name none (the bundles' own SDK clients). */
const MOTO_DEFAULT_ACCOUNT = '123456789012';
const REGION = 'us-east-1';

let outdir: string;
let moto: Moto;
/** cfn-lint's findings, started as soon as the templates exist (it runs while moto deploys). */
let lint: Promise<Array<{ Level: string; Rule: { Id: string }; Message: string; Filename: string }>>;

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }>;
}

async function template(stack: string): Promise<Template> {
  return JSON.parse(await readFile(join(outdir, `${stack}.template.json`), 'utf8')) as Template;
}

async function cfnLint(): Promise<Array<{ Level: string; Rule: { Id: string }; Message: string; Filename: string }>> {
  let stdout: string;
  try {
    ({ stdout } = await run('cfn-lint', ['--format', 'json', 'Cs1Stack.template.json', 'Cs2Stack.template.json'], { cwd: outdir, maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string };
    if (failure.code === 'ENOENT') throw new Error('cfn-lint is not installed (the Python package cfn-lint 1.x): pip install "cfn-lint==1.51.0"');
    // Non-zero exit codes flag findings (2 errors, 4 warnings, 8 informational): read them.
    if (typeof failure.stdout !== 'string' || failure.stdout === '') throw error;
    stdout = failure.stdout;
  }
  return JSON.parse(stdout) as Array<{ Level: string; Rule: { Id: string }; Message: string; Filename: string }>;
}

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'cdk-synth-'));
  const context = ['-c', `cs1Account=${CS1_ACCOUNT}`, '-c', `cs2Account=${CS2_ACCOUNT}`, '-c', `region=${REGION}`];
  const [, started] = await Promise.all([
    run(process.execPath, ['node_modules/aws-cdk/bin/cdk', 'synth', '--quiet', '--no-notices', '--output', outdir, ...context], {
      cwd: process.cwd(),
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true' },
    }),
    startMoto(REGION),
  ]);
  moto = started;
  lint = cfnLint();
  // Awaited by its test; a rejection before then is not an unhandled one.
  lint.catch(() => {});
});

afterAll(async () => {
  await moto?.stop();
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe('cdk synth (CLI)', () => {
  it('synthesizes Cs1Stack and Cs2Stack with every real handler bundled', async () => {
    const files = await readdir(outdir);
    expect(files.filter((f) => f.endsWith('.template.json')).sort()).toEqual(['Cs1Stack.template.json', 'Cs2Stack.template.json']);
    const functions = Object.values((await template('Cs1Stack')).Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(cs1HandlerModules().size);
    expect(files.filter((f) => f.startsWith('asset.')).length).toBeGreaterThanOrEqual(cs1HandlerModules().size + 1);
  });

  it('bundles each function as one ESM file with its source map, and nothing else', async () => {
    for (const stack of ['Cs1Stack', 'Cs2Stack']) {
      for (const resource of Object.values((await template(stack)).Resources)) {
        if (resource.Type !== 'AWS::Lambda::Function') continue;
        const files = await readdir(join(outdir, resource.Metadata!['aws:asset:path']));
        expect(files.sort(), resource.Metadata!['aws:cdk:path']).toEqual(['index.mjs', 'index.mjs.map']);
      }
    }
  });

  it('bundles in each function only the HE roles it plays (read from the source maps): node-seal only where a bfv key is used', async () => {
    const bundles = await readFunctionBundles(outdir, { gzip: false });
    expect(bundles.map((b) => b.handler).sort()).toEqual([...cs1HandlerModules().keys(), 'cs2/decrypt'].sort());
    for (const bundle of bundles) {
      const roles = HE_ROLES_OF[bundle.handler] ?? [];
      expect({ handler: bundle.handler, roles: heRoles(bundle.projectFiles) }).toEqual({ handler: bundle.handler, roles });
      expect({ handler: bundle.handler, nodeSeal: bundle.projectFiles.includes(SEAL_ADAPTER) }).toEqual({ handler: bundle.handler, nodeSeal: roles.length > 0 });
      expect({ handler: bundle.handler, nodeSeal: bundle.packages.includes('node-seal') }).toEqual({ handler: bundle.handler, nodeSeal: roles.length > 0 });
    }
  });

  it('bundles no S3 client and no index code in the authorizer and the account routes (they run on the table alone)', async () => {
    const bundles = new Map((await readFunctionBundles(outdir, { gzip: false })).map((b) => [b.handler, b]));
    const contents = (handler: string) => {
      const bundle = bundles.get(handler)!;
      return { handler, s3: bundle.packages.includes('@aws-sdk/client-s3'), indexCode: bundle.projectFiles.filter((f) => /^lib\/(sei\/index-tree|sealed|service\/(sei|sealed))\//.test(f)) };
    };
    for (const handler of [CS1_AUTHORIZER.handler, CS1_API.registerOwner.handler, CS1_API.putUser.handler, CS1_API.revokeUser.handler]) {
      expect(contents(handler)).toEqual({ handler, s3: false, indexCode: [] });
    }
    // What the check reads: the search function has both.
    expect(contents(CS1_API.search.handler)).toMatchObject({ s3: true, indexCode: expect.arrayContaining(['lib/service/sei/sei-search.ts']) });
  });
});

describe('cfn-lint', () => {
  it('finds no error in either template', async () => {
    const findings = await lint;
    const levels = findings.reduce<Record<string, number>>((count, f) => ({ ...count, [f.Level]: (count[f.Level] ?? 0) + 1 }), {});
    console.info(`cfn-lint: ${JSON.stringify(levels)} (${[...new Set(findings.map((f) => f.Rule.Id))].join(', ') || 'no findings'})`);
    expect(findings.filter((f) => f.Level === 'Error').map((f) => `${f.Filename} ${f.Rule.Id}: ${f.Message}`)).toEqual([]);
  });
});

describe('two-account deploy into moto', () => {
  it('creates both stacks in their own accounts from assets in S3', async () => {
    for (const [stack, account] of [['Cs1Stack', CS1_ACCOUNT], ['Cs2Stack', CS2_ACCOUNT]] as const) {
      expect(await publishAssets(moto, outdir, stack, account)).toBeGreaterThan(0);
      const { stack: created, failures } = await deployStack(moto, outdir, stack, account);
      expect(failures, stack).toEqual([]);
      expect(created.StackStatus, `${stack}: ${created.StackStatusReason}`).toBe('CREATE_COMPLETE');
    }
  });

  it("lets exactly CS1's identify role invoke exactly CS2's decrypt function", async () => {
    const cs1Iam = moto.client(IAMClient, CS1_ACCOUNT);
    const cs2Lambda = moto.client(LambdaClient, CS2_ACCOUNT);
    try {
      const role = (await cs1Iam.send(new GetRoleCommand({ RoleName: CS1_IDENTIFY_ROLE_NAME }))).Role!;
      expect(role.Arn).toBe(`arn:aws:iam::${CS1_ACCOUNT}:role/${CS1_IDENTIFY_ROLE_NAME}`);
      const decrypt = (await cs2Lambda.send(new GetFunctionCommand({ FunctionName: CS2_DECRYPT_FUNCTION_NAME }))).Configuration!;
      expect(decrypt.FunctionArn).toBe(`arn:aws:lambda:${REGION}:${CS2_ACCOUNT}:function:${CS2_DECRYPT_FUNCTION_NAME}`);

      // CS2's resource policy names CS1's role, and only it.
      const policy = JSON.parse((await cs2Lambda.send(new GetPolicyCommand({ FunctionName: CS2_DECRYPT_FUNCTION_NAME }))).Policy!) as {
        Statement: Array<{ Effect: string; Principal: string | { AWS?: string }; Action: string }>;
      };
      // AWS shows {"AWS": <role ARN>}; moto keeps a role ARN principal as the plain string.
      const principalOf = (principal: string | { AWS?: string }) => (typeof principal === 'string' ? principal : principal.AWS);
      expect(policy.Statement.map((s) => ({ effect: s.Effect, principal: principalOf(s.Principal), action: s.Action }))).toEqual([
        { effect: 'Allow', principal: role.Arn, action: 'lambda:InvokeFunction' },
      ]);

      // In CS1, the identify role may invoke CS2's decrypt function and nothing else, and the
      // publish route's role the publish worker and nothing else; no other role may invoke any.
      const cs1Lambda = moto.client(LambdaClient, CS1_ACCOUNT);
      const worker = (await cs1Lambda.send(new ListFunctionsCommand({}))).Functions!.filter((fn) => fn.FunctionName!.includes('IndexVersionPublishWorker'));
      cs1Lambda.destroy();
      expect(worker).toHaveLength(1);
      const invokers: string[] = [];
      for (const each of (await cs1Iam.send(new ListRolesCommand({}))).Roles ?? []) {
        for (const name of (await cs1Iam.send(new ListRolePoliciesCommand({ RoleName: each.RoleName! }))).PolicyNames ?? []) {
          const document = (await cs1Iam.send(new GetRolePolicyCommand({ RoleName: each.RoleName!, PolicyName: name }))).PolicyDocument!;
          const parsed = JSON.parse(document.startsWith('%7B') ? decodeURIComponent(document) : document) as { Statement: Array<{ Action: string | string[]; Resource: string | string[] }> };
          for (const statement of parsed.Statement) {
            const actions = [statement.Action].flat();
            if (actions.some((action) => action.startsWith('lambda:'))) invokers.push(`${each.RoleName} ${actions.join(',')} ${[statement.Resource].flat().join(',')}`);
          }
        }
      }
      // ...CS2's decrypt function and CS1's own identify worker; the publish route's role its publish
      // worker. Sorted: the identify role's (account 1... before 2...), then moto's generated
      // "moto-Cs1Stack-IndexVersionPublishRole...".
      expect(invokers.sort()).toEqual([
        expect.stringMatching(new RegExp(`^${CS1_IDENTIFY_ROLE_NAME} lambda:InvokeFunction arn:aws:lambda:${REGION}:${CS1_ACCOUNT}:function:[^,:]*IdentifyWorker[^,:]*$`)),
        `${CS1_IDENTIFY_ROLE_NAME} lambda:InvokeFunction ${decrypt.FunctionArn}`,
        expect.stringMatching(new RegExp(`-IndexVersionPublishRole[^ ]* lambda:InvokeFunction ${worker[0].FunctionArn}$`)),
      ]);
    } finally {
      cs1Iam.destroy();
      cs2Lambda.destroy();
    }
  });

  it('puts every route of the contract on the REST API, the authorized ones behind the authorizer', async () => {
    const api = moto.client(APIGatewayClient, CS1_ACCOUNT);
    try {
      const apis = (await api.send(new GetRestApisCommand({}))).items ?? [];
      expect(apis.map((a) => a.name)).toEqual(['blindsight-cs1']);
      const resources = (await api.send(new GetResourcesCommand({ restApiId: apis[0].id!, limit: 500 }))).items ?? [];
      const seen: string[] = [];
      for (const route of CS1_ROUTES) {
        const resource = resources.find((r) => r.path === route.path);
        expect(resource, route.path).toBeDefined();
        const method = await api.send(new GetMethodCommand({ restApiId: apis[0].id!, resourceId: resource!.id!, httpMethod: route.method }));
        // moto keeps the authorization type of a method (not its authorizer id, which the
        // template test checks): CUSTOM is the Lambda authorizer.
        expect(method.authorizationType, routeKeyOf(route)).toBe(route.auth === 'none' ? 'NONE' : 'CUSTOM');
        expect(method.methodIntegration?.type, routeKeyOf(route)).toBe('AWS_PROXY');
        seen.push(routeKeyOf(route));
      }
      expect(seen).toHaveLength(CS1_ROUTES.length);
    } finally {
      api.destroy();
    }
  });
});

describe('Lambda bundles on Node 22', () => {
  let nodeVersion: string;
  let aws: LocalAws;
  let owner: Owner;
  let fixture: TwoServerFixture;
  let keys: { dir: string; remove(): Promise<void> };
  let cs2: Awaited<ReturnType<typeof startCs2HttpServer>>;
  /** Between the functions and their storage: cut to make storage unreachable. */
  let proxies: { dynamodb: CuttableProxy; s3: CuttableProxy; secrets: CuttableProxy };
  /** Handler module -> its asset folder in cdk.out. */
  const assets = new Map<string, string>();
  /** Handler module -> its one warm execution environment. */
  const bundles = new Map<string, WarmBundle>();
  const sei = seiWorld(120, 6, 5, { maxLeafSize: 16 });
  let sealed: SealedWorld;
  const CREDENTIAL = 'bundle-test-credential';
  const versions: Record<string, string> = {};
  /** Lambda's Invoke API for the publish route's asynchronous invocations: runs them on the worker's bundle. */
  /** The asynchronous invocations started so far (each resolves once its job has ended). */
  const asyncRuns: Array<Promise<unknown>> = [];
  let invokeServer: Awaited<ReturnType<typeof listen>>;
  const WORKER = CS1_WORKERS.publishWorker.handler;
  const WORKER_NAME = 'blindsight-cs1-index-version-publish-worker';
  const asyncOutcomes: BundleOutcome[] = [];

  /** The environment the CDK stack gives a CS1 function, pointed at local storage through the proxies. */
  const cs1Env = (): Record<string, string> => ({
    ...aws.env,
    AWS_ENDPOINT_URL_DYNAMODB: proxies.dynamodb.url,
    AWS_ENDPOINT_URL_S3: proxies.s3.url,
    AWS_CONFIG_FILE: join(tmpdir(), 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'no-aws-credentials'),
    BLINDSIGHT_LOG_LEVEL: 'SILENT',
    BLINDSIGHT_CS2_MODE: 'http',
    BLINDSIGHT_CS2_URL: cs2.url,
    BLINDSIGHT_CS2_CREDENTIAL: CREDENTIAL,
    // CS1's call to CS2 waits as much longer as this loaded machine makes CS2 (as the local cloud does).
    BLINDSIGHT_CS2_TIMEOUT_MS: String(scaledTimeout(SETTINGS.cs2TimeoutMs.default)),
    // The two-server fixture is a (small, fast) she index: publishing it needs the operator's opt-in.
    BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: 'true',
    // The publish route starts its worker through Lambda's Invoke API, as in AWS.
    AWS_ENDPOINT_URL_LAMBDA: invokeServer.url,
    [CS1_WORKERS.publishWorker.functionEnv]: WORKER_NAME,
  });

  /** CS2's function as in AWS: its keys in Secrets Manager (moto's, through a proxy). */
  const cs2Env = (): Record<string, string> => ({
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: join(tmpdir(), 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'no-aws-credentials'),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: proxies.secrets.url,
    BLINDSIGHT_CS2_SECRET_PREFIX: SETTINGS.cs2SecretPrefix.default,
    BLINDSIGHT_LOG_LEVEL: 'SILENT',
  });

  beforeAll(async () => {
    nodeVersion = await node22Version();
    const ids = new Map([...cs1HandlerModules().keys()].map((handler) => [constructIdOf(handler), handler]));
    ids.set('Decrypt', 'cs2/decrypt');
    for (const stack of ['Cs1Stack', 'Cs2Stack']) {
      for (const resource of Object.values((await template(stack)).Resources)) {
        if (resource.Type !== 'AWS::Lambda::Function') continue;
        const id = resource.Metadata?.['aws:cdk:path']?.split('/')[1];
        const handler = id === undefined ? undefined : ids.get(id);
        if (handler === undefined) throw new Error(`no handler module for function ${resource.Metadata?.['aws:cdk:path']}`);
        assets.set(handler, join(outdir, resource.Metadata!['aws:asset:path']));
      }
    }
    aws = await startLocalAws();
    owner = await newOwner();
    fixture = await buildFixture({ backend: 'she', params: SHE_SMALL, n: 40, partitions: 3, eps: 2, seed: 71 });
    // CS1's identify bundle calls a CS2 over HTTP that runs the decrypt handler from source.
    keys = await cs2KeyDir(fixture);
    process.env.BLINDSIGHT_CS2_KEY_DIR = keys.dir;
    const decrypt = (await import('../../../functions/cs2/decrypt')).handler as unknown as DirectHandler;
    cs2 = await startCs2HttpServer({ credential: CREDENTIAL, handler: decrypt });
    // CS2's decrypt bundle reads the same key from Secrets Manager.
    const secretsClient = moto.client(SecretsManagerClient, MOTO_DEFAULT_ACCOUNT);
    try {
      await new SecretsManagerStore({ client: secretsClient }).put(fixture.keyId, fixture.output.secretMaterial);
    } finally {
      secretsClient.destroy();
    }
    const invokeApi = createLambdaInvokeApi({
      account: 'cs1',
      accountId: CS1_ACCOUNT,
      region: REGION,
      functions: {},
      asyncFunctions: { [WORKER_NAME]: { handler: WORKER, timeoutMs: CS1_WORKERS.publishWorker.timeoutMs } },
      timeoutMs: CS1_WORKERS.publishWorker.timeoutMs,
      runtime: (call) => {
        const run = bundles
          .get(call.handler)!
          .invoke(call.event)
          .then((outcome): InvocationOutcome => {
            asyncOutcomes.push(outcome);
            return outcome.ok ? { kind: 'result', value: outcome.result } : { kind: 'error', error: undefined, errorType: outcome.errorType, errorMessage: outcome.errorMessage };
          });
        asyncRuns.push(run);
        return run;
      },
      log: memoryLog(),
    });
    invokeServer = await listen(invokeApi, '127.0.0.1', 0);
    proxies = {
      dynamodb: await startCuttableProxy(aws.env.AWS_ENDPOINT_URL_DYNAMODB),
      s3: await startCuttableProxy(aws.env.AWS_ENDPOINT_URL_S3),
      secrets: await startCuttableProxy(moto.endpoint),
    };
    // One execution environment per function, started two at a time (the machine has two cores).
    await mapLimited([...assets], 2, async ([handler, asset]) => {
      bundles.set(handler, await startBundle(asset, `blindsight-${handler.replace('/', '-')}`, handler.startsWith('cs2/') ? cs2Env() : cs1Env()));
    });
  });

  afterAll(async () => {
    await Promise.all([...bundles.values()].map((bundle) => bundle.stop()));
    await Promise.all(Object.values(proxies ?? {}).map((proxy) => proxy.close()));
    await invokeServer?.close();
    await cs2?.stop();
    await aws?.stop();
    fixture?.client.dispose();
    await keys?.remove();
  });

  const event = (name: Cs1RouteName, pathParameters: Record<string, string>, body?: unknown, caller: Owner = owner) =>
    httpEvent(routeKeyOf(CS1_API[name]), { pathParameters, body, ...(CS1_API[name].auth === 'none' ? {} : { caller: caller.caller }) });

  const at = (extra: Record<string, string> = {}) => ({ ownerId: owner.ownerId, ...extra });

  /** Runs events through a function's warm environment, one after the other. */
  async function invoke(handler: string, events: unknown[]): Promise<BundleOutcome[]> {
    const bundle = bundles.get(handler);
    if (bundle === undefined) throw new Error(`no bundle for ${handler}`);
    const outcomes: BundleOutcome[] = [];
    for (const each of events) outcomes.push(await bundle.invoke(each));
    return outcomes;
  }

  function response(outcome: BundleOutcome): { statusCode: number; body: Record<string, unknown> } {
    if (!outcome.ok) throw new Error(`the handler threw ${outcome.errorType}: ${outcome.errorMessage}`);
    const result = outcome.result as { statusCode: number; body: string };
    return { statusCode: result.statusCode, body: JSON.parse(result.body) as Record<string, unknown> };
  }

  /** The typed errors a refused direct invocation may throw, by class name. */
  const REFUSALS = new Map(
    [new InvalidInputError(''), new MalformedDataError('', ''), new DimensionMismatchError('', 0, 0), new DecryptionError(''), new NotFoundError('')].map((e) => [e.name, e.code]),
  );

  /** The status a typed error thrown by a directly invoked function stands for. */
  function statusOfThrown(outcome: BundleOutcome): number {
    if (outcome.ok) throw new Error(`expected a thrown error, got ${JSON.stringify(outcome.result).slice(0, 200)}`);
    const code = REFUSALS.get(outcome.errorType);
    if (code === undefined) throw new Error(`${outcome.errorType} is not a typed error (its class name did not survive bundling?): ${outcome.errorMessage}`);
    return STATUS_OF_CODE[code];
  }

  async function putAll(uploads: Record<string, { url: string; headers: Record<string, string> }>, parts: Record<string, Uint8Array>): Promise<void> {
    for (const [name, upload] of Object.entries(uploads)) {
      const headers = { ...upload.headers };
      delete headers['content-length'];
      const put = await fetch(upload.url, { method: 'PUT', headers, body: parts[name] as Uint8Array<ArrayBuffer> });
      expect(put.status, name).toBe(200);
    }
  }

  it('runs every bundle on Node 22, from an empty folder', () => {
    expect(nodeVersion).toMatch(/^v22\./);
    expect(new Set(bundles.keys())).toEqual(new Set(assets.keys()));
    for (const [handler, bundle] of bundles) expect(bundle.nodeVersion, handler).toBe(nodeVersion);
  });

  it('every bundle answers a valid request and a bad one (4xx)', async () => {
    const statuses: string[] = [];
    const check = async (handler: string, events: unknown[], expected: number[]) => {
      const answers = (await invoke(handler, events)).map(response);
      expect(answers.map((a) => a.statusCode), `${handler}: ${JSON.stringify(answers.map((a) => a.body)).slice(0, 500)}`).toEqual(expected);
      statuses.push(`${handler} ${expected.join('/')}`);
      return answers;
    };

    await check('cs1/register-owner', [event('registerOwner', {}, { publicKeyJwk: owner.key.publicJwk }), event('registerOwner', {}, {})], [201, 400]);
    await check('cs1/user-put', [event('putUser', at({ userId: 'uma' })), event('putUser', at({ userId: '..' }))], [200, 400]);
    await check('cs1/user-revoke', [event('revokeUser', at({ userId: 'uma' })), event('revokeUser', at({ userId: 'nobody' }))], [200, 404]);

    const image = new Uint8Array(64).fill(7);
    const [uploads] = await check(
      'cs1/image-uploads',
      [event('imageUploads', at(), { images: [{ imageId: 'photo-1', byteLength: image.length }] }), event('imageUploads', at(), { images: [] })],
      [200, 400],
    );
    const upload = (uploads.body.uploads as Array<{ url: string; headers: Record<string, string> }>)[0];
    await putAll({ 'photo-1': upload }, { 'photo-1': image });
    await check('cs1/image-downloads', [event('imageDownloads', at(), { imageIds: ['photo-1'] }), event('imageDownloads', at(), { imageIds: [3] })], [200, 400]);

    const seiParts = seiUploadParts(sei.tree);
    sealed = await sealedWorld(200, 6, 7, { leafSize: 16, realLeaves: 1, leavesPerQuery: 3 });
    const [seiVersion, twoServerVersion, sealedVersion] = await check(
      'cs1/index-version-create',
      [
        event('createIndexVersion', at({ indexName: 'photos' }), { kind: 'sei', parts: seiParts.sizes }),
        event('createIndexVersion', at({ indexName: 'faces' }), { kind: 'two-server', parts: Object.fromEntries(Object.entries(fixture.parts).map(([n, b]) => [n, b.length])) }),
        event('createIndexVersion', at({ indexName: 'vault' }), { kind: 'sealed', parts: sealedPartSizes(sealed.build, sealed.key.keyId) }),
        event('createIndexVersion', at({ indexName: 'photos' }), { kind: 'faiss', parts: seiParts.sizes }),
      ],
      [201, 201, 201, 400],
    );
    await putAll(seiVersion.body.uploads as never, seiParts.parts);
    await putAll(twoServerVersion.body.uploads as never, fixture.parts);
    versions.photos = seiVersion.body.version as string;
    versions.faces = twoServerVersion.body.version as string;
    versions.vault = sealedVersion.body.version as string;
    await putAll(sealedVersion.body.uploads as never, await sealIndex(sealed.build, sealed.key, { ownerId: toOwnerId(owner.ownerId), indexName: toIndexName('vault'), version: toVersionId(versions.vault) }));
    await check(
      'cs1/index-version-publish',
      [
        event('publishIndexVersion', at({ indexName: 'photos', version: versions.photos }), { expectedCurrent: null }),
        event('publishIndexVersion', at({ indexName: 'faces', version: versions.faces }), { expectedCurrent: null }),
        event('publishIndexVersion', at({ indexName: 'vault', version: versions.vault }), { expectedCurrent: null }),
        event('publishIndexVersion', at({ indexName: 'photos', version: versions.photos }), { expectedCurrent: 5 }),
      ],
      [202, 202, 202, 400],
    );
    // The three jobs run in the worker's bundle, started by Lambda Event invocations.
    await Promise.all(asyncRuns);
    expect(asyncOutcomes).toHaveLength(3);
    for (const outcome of asyncOutcomes) expect(outcome).toMatchObject({ ok: true, result: { status: 'succeeded' } });
    const [badJob] = await invoke(WORKER, [{ ownerId: owner.ownerId, indexName: 'photos', version: versions.photos, jobId: 'not-hex' }]);
    expect(statusOfThrown(badJob)).toBe(400);
    statuses.push(`${WORKER} succeeded x3/${(badJob as { errorType: string }).errorType}`);
    const [status] = await check(
      'cs1/index-version-publish-status',
      [
        event('publishStatus', at({ indexName: 'vault', version: versions.vault })),
        event('publishStatus', at({ indexName: 'vault', version: '20990101T000000000Z-000000000000' })),
      ],
      [200, 404],
    );
    expect(status.body).toMatchObject({ status: 'succeeded', result: { version: versions.vault } });
    await check('cs1/index-get', [event('getIndex', at({ indexName: 'photos' })), event('getIndex', at({ indexName: '..' }))], [200, 400]);

    const trapdoor = Array.from(sei.generator.trapdoor(row(sei.vectors, 0)));
    const [found] = await check(
      'cs1/search',
      [event('search', at({ indexName: 'photos' }), { trapdoors: [trapdoor], k: 3 }), event('search', at({ indexName: 'photos' }), { trapdoors: [trapdoor], k: 0 })],
      [200, 400],
    );
    expect((found.body.results as Array<{ hits: Array<{ imageId: string }> }>)[0].hits[0].imageId).toBe(sei.ids[0]);

    const [leaves] = await check(
      'cs1/sealed-leaves',
      [
        event('sealedLeaves', at({ indexName: 'vault' }), { version: versions.vault, leaves: [0, 1, 2] }),
        event('sealedLeaves', at({ indexName: 'vault' }), { version: versions.vault, leaves: [0, 1] }),
      ],
      [200, 400],
    );
    expect(Buffer.from(leaves.body.data as string, 'base64').length).toBe(3 * (leaves.body.leafBytes as number));

    const feature = Float64Array.from(row(sei.vectors, 7), (v) => v + 1e-3);
    const addBody = { imageId: 'added-1', vector: Array.from(encryptIndexVector(sei.owner, feature)), placementTrapdoor: Array.from(sei.generator.trapdoor(feature)) };
    await check('cs1/index-image-add', [event('addImage', at({ indexName: 'photos' }), addBody), event('addImage', at({ indexName: 'photos' }), { imageId: 'x' })], [201, 400]);
    await check(
      'cs1/index-image-delete',
      [event('deleteImage', at({ indexName: 'photos', imageId: 'added-1' })), event('deleteImage', at({ indexName: 'photos', imageId: 'never-added' }))],
      [200, 404],
    );
    // The removal of a deleted image's envelope is recorded (the clean-up removes it later); an unknown image is a 404.
    await check(
      'cs1/image-removals',
      [event('imageRemovals', at(), { imageIds: ['photo-1'], absentFrom: { photos: versions.photos } }), event('imageRemovals', at(), { imageIds: ['never-uploaded'], absentFrom: {} })],
      [200, 404],
    );

    const query = Buffer.from(fixture.client.encryptRequest(probeNear(fixture, 3, 9))).toString('base64');
    const [identified] = await check(
      'cs1/identify',
      [event('identify', at({ indexName: 'faces' }), { query, k: 3 }), event('identify', at({ indexName: 'faces' }), { query, k: 0 })],
      [200, 400],
    );
    expect((identified.body.templateIds as unknown[]).length).toBe(3);

    const allowed = await invoke('cs1/authorizer', [
      authorizerEvent(routeKeyOf(CS1_API.search), `Bearer ${await owner.token()}`, at({ indexName: 'photos' })),
      authorizerEvent(routeKeyOf(CS1_API.search), 'Bearer not-a-token', at({ indexName: 'photos' })),
    ]);
    const effects = allowed.map((o) => (o.ok ? (o.result as { policyDocument: { Statement: Array<{ Effect: string }> } }).policyDocument.Statement[0].Effect : o.errorType));
    // Deny: API Gateway answers 403.
    expect(effects).toEqual(['Allow', 'Deny']);
    statuses.push('cs1/authorizer Allow/Deny(403)');

    // The scheduled clean-up: a scheduled event runs it (nothing is old enough to go), anything else is refused.
    const cleaned = await invoke('cs1/cleanup', [SCHEDULED_EVENT, { 'detail-type': 'Object Created', source: 'aws.s3' }]);
    expect(cleaned[0]).toMatchObject({ ok: true, result: { versionsRemoved: 0, failures: 0 } });
    expect((cleaned[0] as { result: { indexes: number } }).result.indexes).toBeGreaterThanOrEqual(3);
    expect(statusOfThrown(cleaned[1])).toBe(400);
    statuses.push('cs1/cleanup report/400');

    // The identify worker, invoked directly by identify: one shard's candidates, or a typed refusal.
    const worked = await invoke('cs1/identify-worker', [
      { ownerId: owner.ownerId, indexName: 'faces', version: versions.faces, shard: 0, records: [0], query, blinding: 'per-value' },
      { ownerId: owner.ownerId, indexName: 'faces', version: versions.faces, shard: 0, records: [], query, blinding: 'per-value' },
    ]);
    expect(worked[0]).toMatchObject({ ok: true, result: { shard: 0, valueSlot: expect.any(String), recordReads: expect.any(Number) } });
    expect(statusOfThrown(worked[1])).toBe(400);
    statuses.push(`cs1/identify-worker batch/${(worked[1] as { errorType: string }).errorType}`);

    const batch = await cs2BatchFor(fixture);
    const decrypted = await invoke('cs2/decrypt', [{ keyId: fixture.keyId, batch }, { keyId: 'nope', batch }]);
    expect(decrypted[0]).toMatchObject({ ok: true, result: { values: expect.any(Array) } });
    // Direct invocation: a typed error (minified, its class name kept), which CS1 reports as a
    // refused request.
    expect(statusOfThrown(decrypted[1])).toBeGreaterThanOrEqual(400);
    expect(statusOfThrown(decrypted[1])).toBeLessThan(500);
    statuses.push(`cs2/decrypt values/${(decrypted[1] as { errorType: string }).errorType}`);

    expect(new Set(statuses.map((s) => s.split(' ')[0]))).toEqual(new Set(assets.keys()));
    console.info(`Lambda bundles run by Node ${nodeVersion}: ${statuses.join('; ')}`);
  });

  it('every bundle answers 503 (UnavailableError from the authorizer and CS2) once its storage is unreachable', async () => {
    for (const proxy of Object.values(proxies)) proxy.cut();
    // Names no environment has read yet, so no warm cache can answer for storage.
    const stranger = await newOwner();
    const unseen = at({ indexName: 'unseen', userId: 'ulla', version: versions.photos ?? 'v1', imageId: 'photo-9' });
    const outcomes = await mapLimited([...bundles.keys()], 2, async (handler): Promise<[string, BundleOutcome]> => {
      if (handler === 'cs2/decrypt') {
        const [outcome] = await invoke(handler, [{ keyId: '0123456789abcdef', batch: 'AAAA' }]);
        return [handler, outcome];
      }
      if (handler === 'cs1/cleanup') {
        const [outcome] = await invoke(handler, [SCHEDULED_EVENT]);
        return [handler, outcome];
      }
      if (handler === 'cs1/identify-worker') {
        const [outcome] = await invoke(handler, [{ ownerId: stranger.ownerId, indexName: 'unseen', version: versions.faces ?? 'v1', shard: 0, records: [0], query: 'AAAA', blinding: 'per-value' }]);
        return [handler, outcome];
      }
      if (handler === WORKER) {
        const [outcome] = await invoke(handler, [{ ownerId: stranger.ownerId, indexName: 'photos', version: versions.photos ?? 'v1', jobId: '0'.repeat(32) }]);
        return [handler, outcome];
      }
      if (handler === 'cs1/authorizer') {
        const [outcome] = await invoke(handler, [authorizerEvent(routeKeyOf(CS1_API.search), `Bearer ${await stranger.token()}`, { ownerId: stranger.ownerId, indexName: 'photos' })]);
        return [handler, outcome];
      }
      const name = (Object.keys(CS1_API) as Cs1RouteName[]).find((key) => CS1_API[key].handler === handler)!;
      const body = 'body' in CS1_API[name] ? validBodyOf(name, stranger) : undefined;
      const [outcome] = await invoke(handler, [event(name, unseen, body)]);
      return [handler, outcome];
    });
    for (const [handler, outcome] of outcomes) {
      if (handler === 'cs1/authorizer' || handler === 'cs2/decrypt' || handler === 'cs1/cleanup' || handler === 'cs1/identify-worker' || handler === WORKER) {
        expect(outcome, handler).toMatchObject({ ok: false, errorType: 'UnavailableError' });
        continue;
      }
      // Issuing upload URLs, too, touches storage: an upload cancels a pending removal of the image.
      const answer = response(outcome);
      expect(answer.statusCode, `${handler}: ${JSON.stringify(answer.body)}`).toBe(503);
      expect(answer.body).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    }
    expect(outcomes).toHaveLength(assets.size);
  });

  /** A body each route accepts (storage is down, so what it names need not exist). */
  function validBodyOf(name: Cs1RouteName, stranger: Owner): unknown {
    const trapdoor = Array.from(sei.generator.trapdoor(row(sei.vectors, 0)));
    switch (name) {
      case 'registerOwner':
        return { publicKeyJwk: stranger.key.publicJwk };
      case 'imageUploads':
        return { images: [{ imageId: 'photo-2', byteLength: 10 }] };
      case 'imageDownloads':
        return { imageIds: ['photo-9'] };
      case 'imageRemovals':
        return { imageIds: ['photo-9'], absentFrom: {} };
      case 'createIndexVersion':
        return { kind: 'sei', parts: seiUploadParts(sei.tree).sizes };
      case 'publishIndexVersion':
        return { expectedCurrent: null };
      case 'addImage':
        return { imageId: 'x', vector: trapdoor, placementTrapdoor: trapdoor };
      case 'search':
        return { trapdoors: [trapdoor], k: 3 };
      case 'sealedLeaves':
        return { version: versions.vault ?? versions.photos, leaves: [0, 1, 2] };
      case 'identify':
        return { query: Buffer.from(fixture.client.encryptRequest(probeNear(fixture, 3, 9))).toString('base64'), k: 3 };
      default:
        return undefined;
    }
  }
});

/** What EventBridge sends the clean-up on its schedule. */
const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-12-02T14:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/blindsight-cleanup'],
  detail: {},
};

/** A blinded batch for CS2, made as CS1 makes it. */
async function cs2BatchFor(fixture: TwoServerFixture): Promise<string> {
  const { loadHeEvaluator } = await import('../../../lib/he');
  const evaluator = await loadHeEvaluator(fixture.output.evaluationMaterial);
  const query = evaluator.openQuery(fixture.client.encryptRequest(Array.from(fixture.templates.data.slice(0, fixture.templates.d))));
  const out = evaluator.distanceBatch(query, { records: [fixture.output.shards[0]], slots: [0, 1, 2, 3], blinding: { a: 7n, b: 99n } });
  query.dispose();
  evaluator.dispose();
  return Buffer.from(out.bytes).toString('base64');
}
