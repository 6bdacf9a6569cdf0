/**
 * Template assertions for both stacks: storage, API, functions, the cross-account trust, least
 * privilege, and cdk-nag. The app is synthesized once (bundling skipped: the bundling test
 * covers esbuild).
 */
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CS1_HANDLER_ACCESS } from '../../../cdk/cs1-access';
import { cs1HandlerModules } from '../../../cdk/cs1-stack';
import { applyNagChecks } from '../../../cdk/nag';
import { CS1_AUTHORIZER_HANDLER, CS1_ROUTES } from '../../../functions/routes';
import { CS1_ACCOUNT, CS2_ACCOUNT, REGION, actionsOf, buildTestApp, policyStatements } from './support';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;

let built: ReturnType<typeof buildTestApp>;
let cs1: Template;
let cs2: Template;
let cs1Json: { Resources: Resources };
let cs2Json: { Resources: Resources };

const IDENTIFY_ROLE_ARN = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${CS1_ACCOUNT}:role/blindsight-cs1-identify`]] };
const DECRYPT_ARN = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:lambda:${REGION}:${CS2_ACCOUNT}:function:blindsight-cs2-decrypt`]] };

const outdirs: string[] = [];
async function tempOutdir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cdk-stacks-'));
  outdirs.push(dir);
  return dir;
}

beforeAll(async () => {
  built = buildTestApp({ outdir: await tempOutdir() });
  cs1 = Template.fromStack(built.cs1);
  cs2 = Template.fromStack(built.cs2);
  cs1Json = cs1.toJSON() as { Resources: Resources };
  cs2Json = cs2.toJSON() as { Resources: Resources };
});

afterAll(async () => {
  await Promise.all(outdirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function logicalIdOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

describe('stacks and accounts', () => {
  it('binds each stack to its own account and the shared region', () => {
    expect(built.cs1.account).toBe(CS1_ACCOUNT);
    expect(built.cs2.account).toBe(CS2_ACCOUNT);
    expect(built.cs1.region).toBe(REGION);
    expect(built.cs2.region).toBe(REGION);
    expect(built.cs1.terminationProtection && built.cs2.terminationProtection).toBe(true);
  });

  it('synthesizes without error annotations', () => {
    for (const stack of [built.cs1, built.cs2]) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });

  it('has no cross-stack references', () => {
    expect(built.cs1.dependencies).toEqual([]);
    expect(built.cs2.dependencies).toEqual([]);
    for (const template of [cs1, cs2]) {
      expect(JSON.stringify(template.toJSON())).not.toContain('Fn::ImportValue');
      expect(Object.keys(template.findOutputs('*', { Export: Match.anyValue() }))).toEqual([]);
    }
  });
});

describe('CS1 storage', () => {
  it('stores index data in a pk/sk table with on-demand billing, PITR, encryption, retained', () => {
    cs1.resourceCountIs('AWS::DynamoDB::Table', 1);
    cs1.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });

  it('keeps images in a private, encrypted, versioned bucket with access logs and CORS for presigned URLs', () => {
    const logsId = logicalIdOf(built.cs1, built.cs1.accessLogs);
    cs1.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'images/' },
        CorsConfiguration: {
          CorsRules: [Match.objectLike({ AllowedMethods: ['GET', 'HEAD', 'PUT'], AllowedOrigins: ['*'], AllowedHeaders: ['*'] })],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
            Match.objectLike({ Status: 'Enabled', Prefix: 'transfer/', ExpirationInDays: 1 }),
          ]),
        },
      }),
    });
  });

  it('denies non-TLS access to both buckets', () => {
    const policies = cs1.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});

describe('CS1 functions and HTTP API', () => {
  it('has one arm64 nodejs22.x function per handler module and the authorizer', () => {
    const modules = cs1HandlerModules();
    expect(modules).toContain(CS1_AUTHORIZER_HANDLER);
    expect(new Set(modules).size).toBe(new Set(CS1_ROUTES.map((r) => r.handler)).size + 1);
    cs1.resourceCountIs('AWS::Lambda::Function', modules.length);
    for (const fn of Object.values(cs1.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: 29 });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        BLINDSIGHT_TABLE: { Ref: logicalIdOf(built.cs1, built.cs1.table) },
        BLINDSIGHT_BUCKET: { Ref: logicalIdOf(built.cs1, built.cs1.images) },
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
  });

  it('has exactly the routes of the shared route table, each on its handler function', () => {
    const routes = Object.values(cs1.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(CS1_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    const integrations = cs1.findResources('AWS::ApiGatewayV2::Integration');
    const [authorizerId] = Object.keys(cs1.findResources('AWS::ApiGatewayV2::Authorizer'));
    for (const route of CS1_ROUTES) {
      const resource = routes.find((r) => r.Properties.RouteKey === `${route.method} ${route.path}`)!;
      const integrationId = (resource.Properties.Target as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1][1] as { Ref: string };
      const integration = integrations[integrationId.Ref];
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      const fnId = logicalIdOf(built.cs1, built.cs1.functions.get(route.handler)!.function);
      expect(integration.Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
      if (route.auth === 'none') expect(resource.Properties.AuthorizationType).toBe('NONE');
      else expect(resource.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    }
  });

  it('authorizes with a simple-response Lambda authorizer on the Authorization header, without caching', () => {
    cs1.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    cs1.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerUri: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [logicalIdOf(built.cs1, built.cs1.functions.get(CS1_AUTHORIZER_HANDLER)!.function), 'Arn'] }])],
      }),
    });
  });

  it('throttles the stage and writes JSON access logs without bodies or tokens', () => {
    cs1.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context\\.requestId') },
    });
    const stage = Object.values(cs1.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
    expect(JSON.parse(format)).toMatchObject({ routeKey: '$context.routeKey', status: '$context.status' });
    expect(format).not.toMatch(/requestBody|header\.Authorization/i);
  });
});

describe('cross-account trust', () => {
  it('gives the identify function the fixed role name, allowed to invoke only the fixed CS2 function ARN', () => {
    const identifyRoleId = logicalIdOf(built.cs1, built.cs1.functions.get('cs1/identify')!.role);
    cs1.hasResourceProperties('AWS::IAM::Role', { RoleName: 'blindsight-cs1-identify' });
    expect(cs1Json.Resources[identifyRoleId].Properties.RoleName).toBe('blindsight-cs1-identify');
    const invokes = policyStatements(cs1Json).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('lambda:')));
    expect(invokes).toHaveLength(1);
    expect(invokes[0].roles).toEqual([{ Ref: identifyRoleId }]);
    expect(invokes[0].statement).toEqual({ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: DECRYPT_ARN });
    expect(cs1Json.Resources[logicalIdOf(built.cs1, built.cs1.functions.get('cs1/identify')!.function)].Properties.Environment).toMatchObject({
      Variables: { BLINDSIGHT_CS2_MODE: 'lambda', BLINDSIGHT_CS2_FUNCTION_ARN: DECRYPT_ARN },
    });
  });

  it("lets only CS1's identify role (by ARN) invoke CS2's decrypt function", () => {
    cs2.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'blindsight-cs2-decrypt', Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    const permissions = Object.values(cs2.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(1);
    expect(permissions[0].Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [logicalIdOf(built.cs2, built.cs2.decrypt.function), 'Arn'] },
      Principal: IDENTIFY_ROLE_ARN,
    });
  });
});

describe('CS2 secrets', () => {
  it('encrypts secrets with a customer-managed, rotating, retained KMS key', () => {
    cs2.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ EnableKeyRotation: true }) });
    cs2.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/blindsight-cs2' });
  });

  it('lets the decrypt role read only blindsight/cs2/* secrets and decrypt only through Secrets Manager', () => {
    const roleId = logicalIdOf(built.cs2, built.cs2.decrypt.role);
    const statements = policyStatements(cs2Json).filter((s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: roleId }]));
    const byAction = Object.fromEntries(statements.map(({ statement }) => [actionsOf(statement).join(','), statement]));
    expect(Object.keys(byAction).sort()).toEqual(['kms:Decrypt', 'logs:CreateLogStream,logs:PutLogEvents', 'secretsmanager:GetSecretValue']);
    expect(byAction['secretsmanager:GetSecretValue'].Resource).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:secretsmanager:${REGION}:${CS2_ACCOUNT}:secret:blindsight/cs2/*`]],
    });
    expect(byAction['kms:Decrypt']).toMatchObject({
      Resource: { 'Fn::GetAtt': [logicalIdOf(built.cs2, built.cs2.key), 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
    });
    cs2.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ BLINDSIGHT_CS2_SECRET_PREFIX: 'blindsight/cs2/' }) } });
  });
});

describe('least privilege', () => {
  const SERVICE_WIDE = /^[a-z0-9-]+:\*$/;

  it('uses no "*" or service-wide actions and no "*" resources in any identity policy', () => {
    for (const json of [cs1Json, cs2Json]) {
      for (const { policy, statement } of policyStatements(json)) {
        for (const action of actionsOf(statement)) {
          expect(action, policy).not.toBe('*');
          expect(action, policy).not.toMatch(SERVICE_WIDE);
          expect(action, policy).not.toContain('*');
        }
        expect(statement.Resource, policy).not.toBe('*');
        expect(JSON.stringify(statement.Resource), policy).not.toMatch(/^"\*"$|\["\*"\]/);
      }
    }
  });

  it("scopes each role's logging to its own log group (no AWS managed policies)", () => {
    for (const json of [cs1Json, cs2Json]) {
      for (const role of Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Role')) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
      for (const { statement } of policyStatements(json).filter(({ statement }) => actionsOf(statement)[0].startsWith('logs:'))) {
        expect(statement.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Logs/), 'Arn'] });
      }
    }
  });

  it('grants each CS1 function exactly the table and object access of its row in cdk/cs1-access.ts', () => {
    const modules = cs1HandlerModules();
    expect(Object.keys(CS1_HANDLER_ACCESS).sort()).toEqual([...modules].sort());
    for (const handler of modules) {
      const access = CS1_HANDLER_ACCESS[handler];
      const roleId = logicalIdOf(built.cs1, built.cs1.functions.get(handler)!.role);
      const actions = policyStatements(cs1Json)
        .filter((s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: roleId }]))
        .flatMap(({ statement }) => actionsOf(statement));
      const s3Actions = actions.filter((a) => a.startsWith('s3:')).sort();
      const expected = access.objects.flatMap(
        (o) => ({ get: ['s3:GetObject'], put: ['s3:PutObject'], delete: ['s3:DeleteObject'], stage: ['s3:PutObject', 's3:DeleteObject'] })[o],
      );
      if (access.objects.includes('get')) expected.push('s3:ListBucket');
      expect(s3Actions, handler).toEqual(expected.sort());
      const writes = actions.filter((a) => ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'].includes(a));
      expect(writes.length > 0, handler).toBe(access.table === 'readwrite');
      expect(actions.includes('dynamodb:GetItem'), handler).toBe(true);
    }
  });

  it('lets identify write and delete only staged batches under transfer/', () => {
    const roleId = logicalIdOf(built.cs1, built.cs1.functions.get('cs1/identify')!.role);
    const writes = policyStatements(cs1Json)
      .filter((s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: roleId }]))
      .map(({ statement }) => statement)
      .filter((statement) => actionsOf(statement).some((a) => a === 's3:PutObject' || a === 's3:DeleteObject'));
    expect(writes.length).toBe(1);
    expect(JSON.stringify(writes[0].Resource)).toContain('/transfer/*');
  });
});

describe('cdk-nag (AWS Solutions)', () => {
  it('reports no unacknowledged finding, errors or warnings, in either stack', () => {
    for (const stack of [built.cs1, built.cs2]) {
      const result = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
      expect(result.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    }
  });

  it('acknowledges only expected rules, each with a reason', () => {
    const acknowledged = new Map<string, string>();
    for (const construct of built.app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) acknowledged.set(id.replace(/^annotation::/i, ''), String(reason));
      }
    }
    const rules = [...new Set([...acknowledged.keys()].map((id) => id.replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual(['AwsSolutions-APIG4', 'AwsSolutions-IAM5', 'AwsSolutions-L1']);
    for (const reason of acknowledged.values()) expect(reason.length).toBeGreaterThan(40);
  });

  it('is registered on the app by buildBlindsightApp, and fails synth on an unacknowledged finding', async () => {
    expect(() => built.app.synth()).not.toThrow();
    const addPlugins = vi.spyOn(Validations.prototype, 'addPlugins');
    try {
      buildTestApp({ outdir: await tempOutdir() });
      expect(addPlugins.mock.calls.flat().some((plugin) => plugin instanceof AwsSolutionsChecks)).toBe(true);
    } finally {
      addPlugins.mockRestore();
    }
    const app = new App({ outdir: await tempOutdir(), builtinCloudFormationValidation: false });
    new s3.Bucket(new Stack(app, 'Small'), 'UnloggedBucket');
    applyNagChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*Small\/UnloggedBucket/);
  });

  it('does flag a non-compliant resource (control)', () => {
    const bucket = new s3.Bucket(built.cs2, 'ControlBucket');
    try {
      const result = new AwsSolutionsChecks(undefined).validateScope(bucket);
      expect(result.violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
    } finally {
      built.cs2.node.tryRemoveChild('ControlBucket');
    }
  });
});
