/**
 * CS1's account: encrypted images in S3, index versions and the user registry in DynamoDB, the
 * REST API (routes, limits and access from the contract in lib/api/routes.ts) with a Lambda
 * REQUEST authorizer, one function per handler module, CloudWatch alarms, and the identify role
 * that alone may invoke CS2's decrypt function, named by its fixed ARN in CS2's account.
 */
import { Aws, CfnOutput, Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { BINARY_MEDIA_TYPES } from '../lib/api/media-types';
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS, CORS_ORIGINS_ENV, STORAGE_CORS_RULE } from '../lib/api/cors';
import { CS1_AUTHORIZER, CS1_CLEANUP, CS1_IDENTIFY_WORKER, CS1_ROUTES, CS1_WORKERS, STAGE_THROTTLE } from '../lib/api/routes';
import type { Cs1WorkerName, ObjectAction, ObjectArea, RouteDefinition, StorageAccess } from '../lib/api/routes';
import { DEFAULT_PUBLISH_JOB_TIMINGS } from '../lib/service/versions/publish-jobs';
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from '../lib/storage/dynamo-keys';
import { StackAlarms } from './alarms';
import { BlindsightFunction } from './blindsight-function';
import type { DeploymentConfig } from './config';
import { CS1_IDENTIFY_ROLE_NAME, cs2DecryptFunctionArn } from './names';
import { RUNTIME_REASON, XRAY_REASON, acknowledge } from './nag';
import { API_FUNCTION_TIMEOUT_MS, CLEANUP_FUNCTION_TIMEOUT_MS, IDENTIFY_WORKER_TIMEOUT_MS } from './timeouts';
import { WebSite } from './web-site';

export interface Cs1StackProps extends StackProps {
  readonly config: DeploymentConfig;
  /** Handler modules (default: the repository's functions/). */
  readonly functionsDir?: string;
}

/** Key prefix of short-lived objects, expired by a lifecycle rule after a day. */
export const TRANSIENT_PREFIX = 'transfer/';

/** The API's one stage: its name is the first path segment of the API URL. */
export const API_STAGE_NAME = 'prod';

/** Key prefixes of the bucket's areas (lib/storage/object-keys.ts), for narrowed grants. */
export const OBJECT_AREA_PREFIXES: Readonly<Record<ObjectArea, string>> = {
  images: 'owners/*/images/*',
  indexes: 'owners/*/indexes/*',
  removals: 'owners/*/image-removals/*',
  transfer: `${TRANSIENT_PREFIX}*`,
};

const S3_ACTION: Readonly<Record<ObjectAction, string>> = { get: 's3:GetObject', put: 's3:PutObject', delete: 's3:DeleteObject' };
const MEMORY_MB: Readonly<Record<StorageAccess['compute'], number>> = {
  small: 512,
  // One full vCPU, for the CPU-bound search, publish and update paths.
  vcpu: 1769,
};

/** A CS1 function: what it may touch, its description, and its timeout. */
export interface Cs1Module {
  readonly access: StorageAccess;
  readonly description: string;
  readonly timeoutMs: number;
  /** Set for the functions that routes start asynchronously (CS1_WORKERS). */
  readonly worker?: Cs1WorkerName;
}

/**
 * All handler modules: the workers first (the routes that start them need their ARNs), the
 * authorizer, the scheduled clean-up, the identify worker (invoked by identify, no route), and one per route, each once, with what each may touch.
 */
export function cs1HandlerModules(routes: readonly RouteDefinition[] = CS1_ROUTES): Map<string, Cs1Module> {
  const modules = new Map<string, Cs1Module>();
  for (const [name, worker] of Object.entries(CS1_WORKERS) as Array<[Cs1WorkerName, (typeof CS1_WORKERS)[Cs1WorkerName]]>) {
    modules.set(worker.handler, { access: worker.access, description: worker.summary, timeoutMs: worker.timeoutMs, worker: name });
  }
  modules.set(CS1_AUTHORIZER.handler, { access: CS1_AUTHORIZER.access, description: CS1_AUTHORIZER.summary, timeoutMs: API_FUNCTION_TIMEOUT_MS });
  modules.set(CS1_CLEANUP.handler, { access: CS1_CLEANUP.access, description: CS1_CLEANUP.summary, timeoutMs: CLEANUP_FUNCTION_TIMEOUT_MS });
  modules.set(CS1_IDENTIFY_WORKER.handler, { access: CS1_IDENTIFY_WORKER.access, description: CS1_IDENTIFY_WORKER.summary, timeoutMs: IDENTIFY_WORKER_TIMEOUT_MS });
  for (const route of routes) {
    if (modules.has(route.handler)) throw new Error(`handler ${route.handler} serves two routes: each route has its own module`);
    modules.set(route.handler, { access: route.access, description: `${route.method} ${route.path}: ${route.summary}`, timeoutMs: API_FUNCTION_TIMEOUT_MS });
  }
  return modules;
}

/** `cs1/image-uploads` -> `ImageUploads` (construct ids). */
export function constructIdOf(handler: string): string {
  const name = handler.split('/').at(-1) ?? handler;
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}

export class Cs1Stack extends Stack {
  readonly table: dynamodb.Table;
  readonly images: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly api: apigw.RestApi;
  readonly authorizer: apigw.RequestAuthorizer;
  readonly functions: ReadonlyMap<string, BlindsightFunction>;
  readonly alarms: StackAlarms;
  /** The user web page (CloudFront), when the webSite context names a build. */
  readonly webSite?: WebSite;
  /** Origins CS1's API and image bucket allow: the configured ones and the web page's. */
  readonly corsOrigins: readonly string[];

  constructor(scope: Construct, id: string, props: Cs1StackProps) {
    const { config } = props;
    super(scope, id, {
      stackName: 'blindsight-cs1',
      description: 'Blindsight CS1: encrypted image storage, index versions and search (REST API + Lambda)',
      terminationProtection: true,
      ...props,
      env: { account: config.cs1Account, region: config.region },
    });

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // Server access log delivery only supports SSE-S3 on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The web page, when deployed here, is one more origin CS1's API and image bucket allow.
    if (config.webSite !== undefined) {
      this.webSite = new WebSite(this, 'WebSite', {
        distDir: config.webSite,
        // Built from the API's id, not its URL: the URL names the deployment, which depends on the CORS that names this page.
        apiOrigin: Lazy.string({ produce: () => `https://${this.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}` }),
        // Presigned URLs are virtual-hosted (<bucket>.s3.<region>...); naming the bucket itself would make a cycle (its CORS names this page).
        storageOrigins: [`https://*.s3.${this.region}.${this.urlSuffix}`],
      });
      new CfnOutput(this, 'WebUrl', { value: `${this.webSite.origin}/`, description: 'The web page for users (give them this URL with their grant)' });
    }
    const corsOrigins = [...config.corsOrigins, ...(this.webSite ? [this.webSite.origin] : [])];
    this.corsOrigins = corsOrigins;

    this.images = new s3.Bucket(this, 'Images', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'images/',
      // Pages of the allowed origins upload and download encrypted images with presigned URLs.
      cors:
        corsOrigins.length === 0
          ? undefined
          : [
              {
                allowedMethods: STORAGE_CORS_RULE.allowedMethods.map((method) => s3.HttpMethods[method]),
                allowedOrigins: corsOrigins,
                allowedHeaders: [...STORAGE_CORS_RULE.allowedHeaders],
                exposedHeaders: [...STORAGE_CORS_RULE.exposedHeaders],
                maxAge: STORAGE_CORS_RULE.maxAgeSeconds,
              },
            ],
      lifecycleRules: [
        // Versioning guards against overwrites; old versions need not live forever.
        // Multipart uploads nobody completed (an owner's client that died) are aborted after a day.
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Short-lived objects (batches staged for CS2) that a crashed request did not delete.
        { id: 'expire-transient', prefix: TRANSIENT_PREFIX, expiration: Duration.days(1), noncurrentVersionExpiration: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const decryptArn = cs2DecryptFunctionArn(config.cs2Account, config.region, Aws.PARTITION);
    const functions = new Map<string, BlindsightFunction>();
    const modules = cs1HandlerModules();
    if ([...modules.values()].filter(({ access }) => access.invokeCs2).length !== 1) {
      throw new Error('exactly one CS1 handler may invoke CS2: the one that runs as the fixed identify role');
    }
    this.alarms = new StackAlarms(this, 'Alarms', config.alarmTopicArn);
    const workerArnOf = (name: Cs1WorkerName): string => {
      const arn = workerArns.get(name);
      if (arn === undefined) throw new Error(`worker ${name} must be created before the functions that invoke it`);
      return arn;
    };
    const workerArns = new Map<Cs1WorkerName, string>();
    for (const [handler, { access, description, timeoutMs, worker }] of modules) {
      const id = constructIdOf(handler);
      const timeout = Duration.millis(timeoutMs);
      const invokes = access.invokes ?? [];
      const fn = new BlindsightFunction(this, id, {
        handler,
        functionsDir: props.functionsDir,
        description: `Blindsight CS1: ${description}`.slice(0, 256),
        roleName: access.invokeCs2 ? CS1_IDENTIFY_ROLE_NAME : undefined,
        memorySize: MEMORY_MB[access.compute],
        timeout,
        environment: {
          BLINDSIGHT_TABLE: this.table.tableName,
          BLINDSIGHT_BUCKET: this.images.bucketName,
          BLINDSIGHT_LOG_LEVEL: 'INFO',
          ...(this.corsOrigins.length > 0 ? { [CORS_ORIGINS_ENV]: this.corsOrigins.join(',') } : {}),
          ...(config.s3ForcePathStyle ? { BLINDSIGHT_S3_FORCE_PATH_STYLE: 'true' } : {}),
          ...(access.invokeCs2 ? { BLINDSIGHT_CS2_MODE: 'lambda', BLINDSIGHT_CS2_FUNCTION_ARN: decryptArn } : {}),
          ...Object.fromEntries(invokes.map((name) => [CS1_WORKERS[name].functionEnv, workerArnOf(name)])),
          ...(invokes.includes('publishWorker') || worker === 'publishWorker' ? { BLINDSIGHT_PUBLISH_LEASE_MS: String(DEFAULT_PUBLISH_JOB_TIMINGS.leaseMs) } : {}),
        },
      });
      if (worker !== undefined) {
        // The route answers as soon as the job is queued; a failed job is the job's outcome
        // (recorded in its status), so Lambda must not run it again. An event older than the
        // job's first lease would find the job reported failed already.
        fn.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.millis(DEFAULT_PUBLISH_JOB_TIMINGS.firstLeaseMs) });
        workerArns.set(worker, fn.function.functionArn);
      }
      for (const name of invokes) {
        // Exactly the workers this function starts, by ARN.
        fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [workerArnOf(name)] }));
      }
      if (access.table === 'read') this.table.grantReadData(fn.role);
      else this.table.grantReadWriteData(fn.role);
      this.grantObjects(fn, access);
      if (access.invokeCs2) {
        fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [decryptArn] }));
      }
      acknowledge(fn, 'L1', RUNTIME_REASON);
      acknowledge(fn.role, 'IAM5', XRAY_REASON, 'Resource::*');
      this.alarms.watchFunction(id, fn.function, timeout);
      functions.set(handler, fn);
    }
    // The clean-up runs on a schedule, never through the API; one run at a time is enough.
    const cleanup = functions.get(CS1_CLEANUP.handler)!;
    new events.Rule(this, 'CleanupSchedule', {
      description: 'Blindsight CS1: remove index versions no search can reach any more',
      schedule: events.Schedule.rate(Duration.minutes(CS1_CLEANUP.everyMinutes)),
      targets: [new targets.LambdaFunction(cleanup.function, { retryAttempts: 0 })],
    });
    this.functions = functions;
    // Identify has the shards holding a query's candidates evaluated in parallel, one worker
    // invocation per shard; only its role may invoke the worker.
    const identify = [...modules].find(([, { access }]) => access.invokeCs2)![0];
    const worker = functions.get(CS1_IDENTIFY_WORKER.handler)!;
    functions.get(identify)!.function.addEnvironment('BLINDSIGHT_IDENTIFY_WORKER_FUNCTION', worker.function.functionName);
    // The function's own ARN only: no versions or aliases (grantInvoke would add <arn>:*).
    functions.get(identify)!.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [worker.function.functionArn] }));
    this.alarms.watchTable(this.table);

    this.api = this.restApi();
    this.authorizer = new apigw.RequestAuthorizer(this, 'TokenAuthorizer', {
      authorizerName: 'blindsight-token',
      handler: functions.get(CS1_AUTHORIZER.handler)!.function,
      identitySources: [apigw.IdentitySource.header(CS1_AUTHORIZER.header)],
      // Default 0: a revoked user's token is refused on its very next request. Caching saves an
      // authorizer call per request for up to this long, and for as long honours a revoked token.
      resultsCacheTtl: Duration.seconds(config.authorizerCacheSeconds),
    });
    const integrations = new Map<string, apigw.LambdaIntegration>();
    for (const route of CS1_ROUTES) {
      let integration = integrations.get(route.handler);
      if (!integration) {
        // Proxy: the function sees the whole request and shapes the whole response. No test
        // invocations from the console (they would need a second permission per method).
        integration = new apigw.LambdaIntegration(functions.get(route.handler)!.function, { proxy: true, allowTestInvoke: false });
        integrations.set(route.handler, integration);
      }
      const method = this.api.root.resourceForPath(route.path).addMethod(route.method, integration, {
        ...(route.auth === 'none' ? { authorizationType: apigw.AuthorizationType.NONE } : { authorizer: this.authorizer }),
        operationName: constructIdOf(route.handler),
      });
      if (route.auth === 'none') {
        acknowledge(
          method,
          'APIG4',
          'Owner registration is open by design: the owner id is the fingerprint of the public key being registered, and the handler checks a signature made with that key.',
        );
      }
      acknowledge(
        method,
        'COG4',
        'Callers authenticate with Ed25519 tokens that owners sign themselves (no user pool): the Lambda REQUEST authorizer verifies them.',
      );
    }
    this.alarms.watchRestApi(this.api);

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the CS1 API (ends with the stage)' });
    new CfnOutput(this, 'ApiId', { value: this.api.restApiId, description: 'REST API id (LocalStack serves the API under /restapis/<id>/<stage>/_user_request_)' });
    new CfnOutput(this, 'ApiStage', { value: API_STAGE_NAME });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'BucketName', { value: this.images.bucketName });
    new CfnOutput(this, 'IdentifyRoleArn', { value: functions.get('cs1/identify')?.role.roleArn ?? '-', description: 'Named in CS2\'s resource policy' });
  }

  /**
   * The REST API and its stage: throttled as a whole and per route, access logs as JSON lines,
   * execution logs for errors only (never bodies), X-Ray, CORS for the allowed origins, and
   * API Gateway's own answers in the API's terms.
   */
  private restApi(): apigw.RestApi {
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const methodOptions: Record<string, apigw.MethodDeploymentOptions> = {};
    for (const route of CS1_ROUTES) {
      if (route.throttle) {
        methodOptions[`${route.path}/${route.method}`] = { throttlingRateLimit: route.throttle.rateLimit, throttlingBurstLimit: route.throttle.burstLimit };
      }
    }
    const origins = [...this.corsOrigins];
    const api = new apigw.RestApi(this, 'Api', {
      restApiName: 'blindsight-cs1',
      description: 'Blindsight CS1 API',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Sealed leaves answer as raw bytes to a client that accepts them (lib/api/media-types.ts).
      binaryMediaTypes: [...BINARY_MEDIA_TYPES],
      // Access logs need the account's API Gateway logging role (one per account and region).
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: API_STAGE_NAME,
        throttlingRateLimit: STAGE_THROTTLE.rateLimit,
        throttlingBurstLimit: STAGE_THROTTLE.burstLimit,
        methodOptions,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        // Who, which route, outcome and timing; never bodies or the Authorization header.
        accessLogFormat: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            resourcePath: '$context.resourcePath',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integration.error',
            authorizerError: '$context.authorizer.error',
            principalId: '$context.authorizer.principalId',
            errorType: '$context.error.responseType',
          }),
        ),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
      defaultCorsPreflightOptions:
        origins.length === 0
          ? undefined
          : {
              allowOrigins: origins,
              allowHeaders: [...CORS_ALLOWED_HEADERS],
              allowMethods: [...CORS_ALLOWED_METHODS],
              maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
            },
    });
    // API Gateway's own answers: CORS headers for the pages that passed the preflight (the
    // bodies hold no data), an unknown route is a 404 (not REST's "Missing Authentication
    // Token" 403), and an authorizer that failed (storage unreachable) is a 503 to retry.
    const corsHeaders: Record<string, string> =
      origins.length === 0
        ? {}
        : {
            'Access-Control-Allow-Origin': origins.length === 1 ? `'${origins[0]}'` : 'method.request.header.origin',
            'Access-Control-Expose-Headers': `'${CORS_EXPOSED_HEADERS.join(',')}'`,
            ...(origins.length === 1 ? {} : { Vary: "'Origin'" }),
          };
    const json = (body: object) => ({ 'application/json': JSON.stringify(body) });
    api.addGatewayResponse('NotFound', {
      type: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      responseHeaders: corsHeaders,
      templates: json({ message: 'Not Found' }),
    });
    // One `message` field for all of API Gateway's refusals (REST's defaults vary).
    api.addGatewayResponse('AccessDenied', { type: apigw.ResponseType.ACCESS_DENIED, statusCode: '403', responseHeaders: corsHeaders, templates: json({ message: 'Forbidden' }) });
    api.addGatewayResponse('RequestTooLarge', {
      type: apigw.ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      responseHeaders: corsHeaders,
      templates: json({ message: 'Request Entity Too Large' }),
    });
    for (const [id, type] of [
      ['AuthorizerFailure', apigw.ResponseType.AUTHORIZER_FAILURE],
      ['AuthorizerConfigurationError', apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR],
    ] as const) {
      api.addGatewayResponse(id, {
        type,
        statusCode: '503',
        responseHeaders: { ...corsHeaders, 'Retry-After': "'1'" },
        templates: json({ error: { code: 'UNAVAILABLE', message: 'the token could not be checked just now: try again shortly', requestId: '$context.requestId' } }),
      });
    }
    if (origins.length > 0) {
      api.addGatewayResponse('Default4xx', { type: apigw.ResponseType.DEFAULT_4XX, responseHeaders: corsHeaders });
      api.addGatewayResponse('Default5xx', { type: apigw.ResponseType.DEFAULT_5XX, responseHeaders: corsHeaders });
    }
    acknowledge(
      api,
      'APIG2',
      'Every request body is validated by its handler against the JSON schema of its route in the contract (lib/api), with messages that name the field; API Gateway models (JSON Schema draft 4) would duplicate that with generic messages. The required Authorization header is enforced by the authorizer identity source (401).',
    );
    acknowledge(api, 'APIG3', 'No WAF by default: stage and per-route throttling bound the request rate; attach a web ACL to the stage where the threat model asks for one.');
    acknowledge(
      api,
      'IAM4',
      "API Gateway's account-level CloudWatch role uses AWS's managed AmazonAPIGatewayPushToCloudWatchLogs policy, the documented policy for API Gateway logging.",
      'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
    );
    if (origins.length > 0) {
      acknowledge(api, 'APIG4', 'CORS preflight (OPTIONS) requests carry no credentials by the Fetch standard; they are answered by API Gateway without invoking any function.');
      acknowledge(api, 'COG4', 'CORS preflight (OPTIONS) requests carry no credentials by the Fetch standard; they are answered by API Gateway without invoking any function.');
    }
    return api;
  }

  /**
   * Object actions on the image bucket, spelled out (no `s3:*Object*` wildcards) and narrowed to
   * the areas the function works in. IAM cannot pin the owner segment (a wildcard stands for it): owner
   * isolation comes from keys built only from validated ids of a verified token.
   */
  private grantObjects(fn: BlindsightFunction, access: StorageAccess): void {
    const areas = Object.entries(access.objects ?? {}) as Array<[ObjectArea, readonly ObjectAction[]]>;
    if (areas.length === 0) return;
    const bucketArn = `Resource::<${this.getLogicalId(this.images.node.defaultChild as s3.CfnBucket)}.Arn>`;
    for (const [area, actions] of areas) {
      const prefix = OBJECT_AREA_PREFIXES[area];
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: actions.map((action) => S3_ACTION[action]), resources: [this.images.arnForObjects(prefix)] }));
      acknowledge(
        fn.role,
        'IAM5',
        area === 'transfer'
          ? 'Staged CS2 batches get random names at run time under the transfer/ prefix, which expires after a day.'
          : `Objects are keyed per owner, index and image at run time; access is limited to the ${area} area of this one bucket.`,
        `${bucketArn}/${prefix}`,
      );
    }
    if (areas.some(([, actions]) => actions.includes('get'))) {
      // Without ListBucket, a missing key answers 403 instead of 404 and cannot be told apart
      // (and the clean-up lists what an index stores).
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.images.bucketArn] }));
    }
  }
}
