/**
 * Template assertions for both stacks: storage, API, functions, the cross-account trust, least
 * privilege, and cdk-nag. The app is synthesized once (bundling skipped: the bundling test
 * covers esbuild).
 */
import { BINARY_MEDIA_TYPES } from '../../../lib/api/media-types';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cs1HandlerModules } from '../../../cdk/cs1-stack';
import { applyNagChecks } from '../../../cdk/nag';
import { CS1_AUTHORIZER, CS1_CLEANUP, CS1_IDENTIFY_WORKER, CS1_ROUTES, CS1_WORKERS, STAGE_THROTTLE } from '../../../lib/api/routes';
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

  it('keeps images in a private, encrypted, versioned bucket with access logs and no CORS by default', () => {
    const logsId = logicalIdOf(built.cs1, built.cs1.accessLogs);
    cs1.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'images/' },
        // No browser origin is allowed unless configured (corsOrigins).
        CorsConfiguration: Match.absent(),
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

describe('CS1 functions and REST API', () => {
  it('has one arm64 nodejs22.x function per handler module, the authorizer, the clean-up and the identify worker, traced with X-Ray', () => {
    const modules = [...cs1HandlerModules().keys()];
    expect(modules).toContain(CS1_AUTHORIZER.handler);
    expect(modules).toContain(CS1_CLEANUP.handler);
    expect(modules).toContain(CS1_IDENTIFY_WORKER.handler);
    expect(new Set(modules).size).toBe(new Set(CS1_ROUTES.map((r) => r.handler)).size + 3 + Object.keys(CS1_WORKERS).length);
    cs1.resourceCountIs('AWS::Lambda::Function', modules.length);
    const cleanupId = logicalIdOf(built.cs1, built.cs1.functions.get(CS1_CLEANUP.handler)!.function);
    const workerId = logicalIdOf(built.cs1, built.cs1.functions.get(CS1_IDENTIFY_WORKER.handler)!.function);
    const asyncWorkerIds = new Set(Object.values(CS1_WORKERS).map((w) => logicalIdOf(built.cs1, built.cs1.functions.get(w.handler)!.function)));
    for (const [id, fn] of Object.entries(cs1.findResources('AWS::Lambda::Function'))) {
      // API functions stop before API Gateway's 29 s; the clean-up and the publish worker may take Lambda's
      // 15 minutes; the identify worker ends within identify's own time.
      const timeout = id === cleanupId || asyncWorkerIds.has(id) ? 900 : id === workerId ? 20 : 28;
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: timeout, TracingConfig: { Mode: 'Active' } });
      expect(fn.Properties.Environment.Variables.BLINDSIGHT_CORS_ORIGINS).toBeUndefined();
      expect(fn.Properties.Environment.Variables).toMatchObject({
        BLINDSIGHT_TABLE: { Ref: logicalIdOf(built.cs1, built.cs1.table) },
        BLINDSIGHT_BUCKET: { Ref: logicalIdOf(built.cs1, built.cs1.images) },
        NODE_OPTIONS: '--enable-source-maps',
      });
    }
  });

  /** Every method of the REST API with its full path (from the resource tree). */
  function restMethods(): Array<{ key: string; properties: Record<string, unknown> }> {
    const resources = cs1.findResources('AWS::ApiGateway::Resource');
    const rootId = Object.keys(cs1.findResources('AWS::ApiGateway::RestApi'))[0];
    const pathOf = (ref: unknown): string => {
      if (typeof ref === 'object' && ref !== null && 'Fn::GetAtt' in ref && (ref as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] === rootId) return '';
      const id = (ref as { Ref: string }).Ref;
      const resource = resources[id];
      return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart as string}`;
    };
    return Object.values(cs1.findResources('AWS::ApiGateway::Method')).map((m) => ({
      key: `${m.Properties.HttpMethod as string} ${pathOf(m.Properties.ResourceId)}`,
      properties: m.Properties,
    }));
  }

  it('is a REST API (no HTTP API resources) with exactly the routes of the contract, each a Lambda proxy on its handler function', () => {
    cs1.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    // The binary media types the local gateway applies too (sealed leaves as raw bytes).
    cs1.hasResourceProperties('AWS::ApiGateway::RestApi', { BinaryMediaTypes: [...BINARY_MEDIA_TYPES] });
    expect(Object.values(cs1Json.Resources).filter((r) => r.Type.startsWith('AWS::ApiGatewayV2::'))).toEqual([]);
    const methods = restMethods();
    expect(methods.map((m) => m.key).sort()).toEqual(CS1_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    const [authorizerId] = Object.keys(cs1.findResources('AWS::ApiGateway::Authorizer'));
    for (const route of CS1_ROUTES) {
      const method = methods.find((m) => m.key === `${route.method} ${route.path}`)!.properties;
      const integration = method.Integration as { Type: string; IntegrationHttpMethod: string; Uri: unknown };
      expect(integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      const fnId = logicalIdOf(built.cs1, built.cs1.functions.get(route.handler)!.function);
      expect(JSON.stringify(integration.Uri)).toContain(`"${fnId}","Arn"`);
      if (route.auth === 'none') expect(method.AuthorizationType).toBe('NONE');
      else expect(method).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    }
  });

  it('authorizes with a Lambda REQUEST authorizer on the Authorization header, without caching by default', () => {
    cs1.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    cs1.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerUri: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [logicalIdOf(built.cs1, built.cs1.functions.get(CS1_AUTHORIZER.handler)!.function), 'Arn'] }])],
      }),
    });
    const cached = buildTestApp({ context: { authorizerCacheSeconds: '300' }, cloudFormationValidation: false });
    Template.fromStack(cached.cs1).hasResourceProperties('AWS::ApiGateway::Authorizer', { AuthorizerResultTtlInSeconds: 300 });
  });

  it('throttles the stage and owner registration tighter, traces, and writes JSON access logs without bodies or tokens', () => {
    const register = CS1_ROUTES.find((r) => r.auth === 'none')!;
    cs1.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: STAGE_THROTTLE.rateLimit, ThrottlingBurstLimit: STAGE_THROTTLE.burstLimit, LoggingLevel: 'ERROR', DataTraceEnabled: false }),
        Match.objectLike({ HttpMethod: 'POST', ResourcePath: '/~1v1~1owners', ThrottlingRateLimit: register.throttle!.rateLimit, ThrottlingBurstLimit: register.throttle!.burstLimit }),
      ]),
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context\\.requestId') },
    });
    expect(register.throttle!.rateLimit).toBeLessThan(STAGE_THROTTLE.rateLimit / 10);
    const stage = Object.values(cs1.findResources('AWS::ApiGateway::Stage'))[0];
    const format = (stage.Properties.AccessLogSetting as { Format: string }).Format;
    expect(JSON.parse(format)).toMatchObject({ resourcePath: '$context.resourcePath', status: '$context.status' });
    expect(format).not.toMatch(/requestBody|header\.Authorization/i);
  });

  it('answers an unknown route with 404 and a failed authorizer with 503, and has no CORS unless origins are configured', () => {
    const responses = Object.values(cs1.findResources('AWS::ApiGateway::GatewayResponse')).map((r) => r.Properties);
    expect(responses).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ResponseType: 'MISSING_AUTHENTICATION_TOKEN', StatusCode: '404' }),
        expect.objectContaining({ ResponseType: 'ACCESS_DENIED', StatusCode: '403' }),
        expect.objectContaining({ ResponseType: 'REQUEST_TOO_LARGE', StatusCode: '413' }),
        expect.objectContaining({ ResponseType: 'AUTHORIZER_FAILURE', StatusCode: '503' }),
        expect.objectContaining({ ResponseType: 'AUTHORIZER_CONFIGURATION_ERROR', StatusCode: '503' }),
      ]),
    );
    expect(JSON.stringify(cs1Json)).not.toMatch(/Access-Control-Allow-Origin/i);
    expect(restMethods().some((m) => m.key.startsWith('OPTIONS'))).toBe(false);
  });

  it('configures CORS for the given origins: preflights, the functions, gateway responses and the bucket', () => {
    const origin = 'https://app.example';
    const app = buildTestApp({ context: { corsOrigins: origin }, cloudFormationValidation: false });
    const template = Template.fromStack(app.cs1);
    const json = JSON.stringify(template.toJSON());
    const options = Object.values(template.findResources('AWS::ApiGateway::Method')).filter((m) => m.Properties.HttpMethod === 'OPTIONS');
    expect(options.length).toBeGreaterThan(0);
    for (const option of options) {
      expect(option.Properties.AuthorizationType).toBe('NONE');
      expect(JSON.stringify(option.Properties.Integration)).toContain(`'${origin}'`);
    }
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables.BLINDSIGHT_CORS_ORIGINS).toBe(origin);
    }
    expect(json).toContain(`"gatewayresponse.header.Access-Control-Allow-Origin":"'${origin}'"`);
    template.hasResourceProperties('AWS::S3::Bucket', { CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: [origin] })] } });
    const result = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app.cs1);
    expect(result.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('the scheduled clean-up', () => {
  it('runs the clean-up function on an EventBridge schedule, with no API route and no retries', () => {
    const fnId = logicalIdOf(built.cs1, built.cs1.functions.get(CS1_CLEANUP.handler)!.function);
    cs1.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${CS1_CLEANUP.everyMinutes / 60} hour)`,
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
    cs1.hasResourceProperties('AWS::Lambda::Permission', { FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] }, Principal: 'events.amazonaws.com' });
    expect(CS1_ROUTES.some((route) => route.handler === CS1_CLEANUP.handler)).toBe(false);
  });

  it('aborts multipart uploads nobody completed after a day', () => {
    cs1.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })]) },
    });
  });
});

describe('production settings', () => {
  it('alarms on 5xx rate, throttles, durations near the timeout and DynamoDB throttles, notifying the optional topic', () => {
    const alarms = Object.values(cs1.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const metrics = alarms.map((a) => `${a.Namespace as string}/${a.MetricName as string}`);
    expect(metrics).toEqual(expect.arrayContaining(['AWS/ApiGateway/5XXError', 'AWS/Lambda/Throttles', 'AWS/Lambda/Duration', 'AWS/DynamoDB/ReadThrottleEvents', 'AWS/DynamoDB/WriteThrottleEvents']));
    const functions = cs1HandlerModules().size;
    expect(metrics.filter((m) => m === 'AWS/Lambda/Throttles')).toHaveLength(functions);
    const durations = alarms.filter((a) => a.MetricName === 'Duration').map((a) => a.Threshold as number);
    const long = 1 + Object.keys(CS1_WORKERS).length;
    expect(durations.sort((a, b) => a - b)).toEqual([20_000 * 0.9, ...Array.from({ length: functions - 1 - long }, () => 28_000 * 0.9), ...Array.from({ length: long }, () => 900_000 * 0.9)]);
    expect(alarms.every((a) => a.AlarmActions === undefined)).toBe(true);
    const cs2Alarms = Object.values(cs2.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.MetricName);
    expect(cs2Alarms.sort()).toEqual(['Duration', 'Throttles']);

    const topic = `arn:aws:sns:${REGION}:${CS1_ACCOUNT}:ops`;
    const notified = buildTestApp({ context: { alarmTopicArn: topic }, cloudFormationValidation: false });
    for (const stack of [notified.cs1, notified.cs2]) {
      for (const alarm of Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))) {
        expect(alarm.Properties.AlarmActions).toEqual([topic]);
      }
    }
  });

  it("reserves concurrency for CS2's decrypt function", () => {
    cs2.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'blindsight-cs2-decrypt', ReservedConcurrentExecutions: 10, TracingConfig: { Mode: 'Active' } });
    const none = buildTestApp({ context: { cs2ReservedConcurrency: 'none' }, cloudFormationValidation: false });
    expect(Template.fromStack(none.cs2).toJSON().Resources).not.toMatchObject({ ReservedConcurrentExecutions: expect.anything() });
    expect(JSON.stringify(Template.fromStack(none.cs2).toJSON())).not.toContain('ReservedConcurrentExecutions');
  });
});

describe('cross-account trust', () => {
  it('gives the identify function the fixed role name, allowed to invoke only the fixed CS2 function ARN', () => {
    const identifyRoleId = logicalIdOf(built.cs1, built.cs1.functions.get('cs1/identify')!.role);
    cs1.hasResourceProperties('AWS::IAM::Role', { RoleName: 'blindsight-cs1-identify' });
    expect(cs1Json.Resources[identifyRoleId].Properties.RoleName).toBe('blindsight-cs1-identify');
    const invokes = policyStatements(cs1Json).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('lambda:')));
    const cs2Invokes = invokes.filter(({ statement }) => JSON.stringify(statement.Resource) === JSON.stringify(DECRYPT_ARN));
    expect(cs2Invokes).toHaveLength(1);
    expect(cs2Invokes[0].roles).toEqual([{ Ref: identifyRoleId }]);
    expect(cs2Invokes[0].statement).toEqual({ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: DECRYPT_ARN });
    expect(cs1Json.Resources[logicalIdOf(built.cs1, built.cs1.functions.get('cs1/identify')!.function)].Properties.Environment).toMatchObject({
      Variables: { BLINDSIGHT_CS2_MODE: 'lambda', BLINDSIGHT_CS2_FUNCTION_ARN: DECRYPT_ARN },
    });
  });

  it('lets only the identify role invoke the identify worker, which invokes nothing and has no route', () => {
    const identifyRoleId = logicalIdOf(built.cs1, built.cs1.functions.get('cs1/identify')!.role);
    const worker = built.cs1.functions.get('cs1/identify-worker')!;
    const workerId = logicalIdOf(built.cs1, worker.function);
    const invokes = policyStatements(cs1Json).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('lambda:')));
    const workerInvokes = invokes.filter(({ statement }) => JSON.stringify(statement.Resource).includes(workerId));
    expect(workerInvokes).toHaveLength(1);
    expect(workerInvokes[0].roles).toEqual([{ Ref: identifyRoleId }]);
    expect(workerInvokes[0].statement).toEqual({ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [workerId, 'Arn'] } });
    // Nothing else may invoke anything.
    const publishWorkerId = logicalIdOf(built.cs1, built.cs1.functions.get(CS1_WORKERS.publishWorker.handler)!.function);
    expect(
      invokes.filter((each) => !workerInvokes.includes(each) && JSON.stringify(each.statement.Resource) !== JSON.stringify(DECRYPT_ARN) && !JSON.stringify(each.statement.Resource).includes(publishWorkerId)),
    ).toEqual([]);
    const identifyProperties = cs1Json.Resources[logicalIdOf(built.cs1, built.cs1.functions.get('cs1/identify')!.function)].Properties as { Environment: { Variables: Record<string, unknown> } };
    expect(identifyProperties.Environment.Variables.BLINDSIGHT_IDENTIFY_WORKER_FUNCTION).toEqual({ Ref: workerId });
    const workerProperties = (cs1Json.Resources[workerId] as unknown as { Properties: unknown }).Properties as { Environment: { Variables: Record<string, unknown> }; Timeout: number };
    expect(workerProperties.Environment.Variables.BLINDSIGHT_CS2_MODE).toBeUndefined();
    expect(workerProperties.Timeout).toBe(20);
    expect(JSON.stringify(cs1.findResources('AWS::ApiGateway::Method'))).not.toContain(workerId);
  });

  it('lets only the publish route start the publish worker, by its ARN, asynchronously without retries', () => {
    const worker = built.cs1.functions.get(CS1_WORKERS.publishWorker.handler)!;
    const publish = built.cs1.functions.get('cs1/index-version-publish')!;
    const workerId = logicalIdOf(built.cs1, worker.function);
    const invokes = policyStatements(cs1Json).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('lambda:')));
    const toWorker = invokes.filter(({ statement }) => JSON.stringify(statement.Resource).includes(workerId));
    expect(toWorker).toHaveLength(1);
    expect(toWorker[0].roles).toEqual([{ Ref: logicalIdOf(built.cs1, publish.role) }]);
    expect(toWorker[0].statement).toEqual({ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [workerId, 'Arn'] } });
    // Every lambda: statement names one function, never a wildcard.
    for (const { statement } of invokes) expect(JSON.stringify(statement.Resource)).not.toContain('*');
    expect(cs1Json.Resources[logicalIdOf(built.cs1, publish.function)].Properties.Environment).toMatchObject({
      Variables: { BLINDSIGHT_PUBLISH_WORKER_FUNCTION: { 'Fn::GetAtt': [workerId, 'Arn'] } },
    });
    cs1.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: workerId }, MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 120 });
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
    expect(Object.keys(byAction).sort()).toEqual(['kms:Decrypt', 'logs:CreateLogStream,logs:PutLogEvents', 'secretsmanager:GetSecretValue', 'xray:PutTraceSegments,xray:PutTelemetryRecords']);
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

  it('uses no "*" or service-wide actions and no "*" resources in any identity policy (but X-Ray\'s)', () => {
    for (const json of [cs1Json, cs2Json]) {
      for (const { policy, statement } of policyStatements(json)) {
        // X-Ray's two actions have no resource-level permissions.
        if (actionsOf(statement).every((action) => action.startsWith('xray:'))) {
          expect(actionsOf(statement).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
          continue;
        }
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

  it("scopes each role's logging to its own log group (no AWS managed policies but API Gateway's logging role)", () => {
    for (const json of [cs1Json, cs2Json]) {
      for (const role of Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Role')) {
        const principal = JSON.stringify((role.Properties.AssumeRolePolicyDocument as { Statement: unknown[] }).Statement);
        if (principal.includes('apigateway.amazonaws.com')) {
          expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toContain('AmazonAPIGatewayPushToCloudWatchLogs');
          continue;
        }
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
      for (const { statement } of policyStatements(json).filter(({ statement }) => actionsOf(statement)[0].startsWith('logs:'))) {
        expect(statement.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Logs/), 'Arn'] });
      }
    }
  });

  it('grants each CS1 function exactly the table access and object actions of its route in the contract, narrowed to its areas', () => {
    const modules = cs1HandlerModules();
    const bucketId = logicalIdOf(built.cs1, built.cs1.images);
    for (const [handler, { access }] of modules) {
      const roleId = logicalIdOf(built.cs1, built.cs1.functions.get(handler)!.role);
      const statements = policyStatements(cs1Json)
        .filter((s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: roleId }]))
        .map(({ statement }) => statement);
      const actions = statements.flatMap((statement) => actionsOf(statement));
      const objectGrants = statements
        .filter((statement) => actionsOf(statement).some((a) => a.startsWith('s3:') && a !== 's3:ListBucket'))
        .map((statement) => `${JSON.stringify(statement.Resource).match(/\/([^"]*)"\]\]\}$/)?.[1]} ${actionsOf(statement).sort().join(',')}`)
        .sort();
      const S3: Record<string, string> = { get: 's3:GetObject', put: 's3:PutObject', delete: 's3:DeleteObject' };
      const PREFIX: Record<string, string> = { images: 'owners/*/images/*', indexes: 'owners/*/indexes/*', removals: 'owners/*/image-removals/*', transfer: 'transfer/*' };
      const expected = Object.entries(access.objects ?? {})
        .map(([area, list]) => `${PREFIX[area]} ${list.map((a) => S3[a]).sort().join(',')}`)
        .sort();
      expect(objectGrants, handler).toEqual(expected);
      for (const statement of statements.filter((st) => actionsOf(st).some((a) => a.startsWith('s3:') && a !== 's3:ListBucket'))) {
        expect(JSON.stringify(statement.Resource), handler).toContain(`"${bucketId}","Arn"`);
      }
      const reads = Object.values(access.objects ?? {}).some((list) => list.includes('get'));
      expect(actions.includes('s3:ListBucket'), handler).toBe(reads);
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
    expect(rules).toEqual(['AwsSolutions-APIG2', 'AwsSolutions-APIG3', 'AwsSolutions-APIG4', 'AwsSolutions-COG4', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-L1']);
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
