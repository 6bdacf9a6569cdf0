/**
 * CS1's account: encrypted images in S3, index versions and the user registry in DynamoDB, the
 * HTTP API (routes from functions/routes.ts) with a Lambda authorizer, one function per handler
 * module, and the identify role that alone may invoke CS2's decrypt function, named by its
 * fixed ARN in CS2's account.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { CS1_AUTHORIZER_HANDLER, CS1_ROUTES } from '../functions/routes';
import type { RouteDefinition } from '../functions/routes';
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from '../lib/storage/dynamo-keys';
import { BlindsightFunction } from './blindsight-function';
import type { DeploymentConfig } from './config';
import type { ObjectAction } from './cs1-access';
import { accessOf } from './cs1-access';
import { CS1_IDENTIFY_ROLE_NAME, cs2DecryptFunctionArn } from './names';
import { RUNTIME_REASON, acknowledge } from './nag';
import { API_FUNCTION_TIMEOUT_MS } from './timeouts';

export interface Cs1StackProps extends StackProps {
  readonly config: DeploymentConfig;
  /** Handler modules (default: the repository's functions/). */
  readonly functionsDir?: string;
}

/** Key prefix of short-lived objects, expired by a lifecycle rule after a day. */
export const TRANSIENT_PREFIX = 'transfer/';

/** Steady-state request rate and burst of the whole API (HTTP API stage throttling). */
export const API_THROTTLE = { rateLimit: 200, burstLimit: 400 } as const;

/** All handler modules behind the API, plus the authorizer, each once. */
export function cs1HandlerModules(routes: readonly RouteDefinition[] = CS1_ROUTES): string[] {
  return [...new Set([CS1_AUTHORIZER_HANDLER, ...routes.map((route) => route.handler)])];
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
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly functions: ReadonlyMap<string, BlindsightFunction>;

  constructor(scope: Construct, id: string, props: Cs1StackProps) {
    const { config } = props;
    super(scope, id, {
      stackName: 'blindsight-cs1',
      description: 'Blindsight CS1: encrypted image storage, index versions and search (HTTP API + Lambda)',
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

    this.images = new s3.Bucket(this, 'Images', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'images/',
      // Browsers upload and download encrypted images directly with presigned URLs.
      cors: [
        {
          allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD, s3.HttpMethods.PUT],
          allowedOrigins: [...config.corsOrigins],
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag', 'Content-Length', 'Content-Type'],
          maxAge: 3000,
        },
      ],
      lifecycleRules: [
        // Versioning guards against overwrites; old versions need not live forever.
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
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
    if (modules.filter((handler) => accessOf(handler).invokeCs2).length !== 1) {
      throw new Error('exactly one CS1 handler may invoke CS2: the one that runs as the fixed identify role');
    }
    for (const handler of modules) {
      const access = accessOf(handler);
      const fn = new BlindsightFunction(this, constructIdOf(handler), {
        handler,
        functionsDir: props.functionsDir,
        description: `Blindsight CS1: ${access.description}`,
        roleName: access.invokeCs2 ? CS1_IDENTIFY_ROLE_NAME : undefined,
        memorySize: access.memorySize,
        timeout: Duration.millis(API_FUNCTION_TIMEOUT_MS),
        environment: {
          BLINDSIGHT_TABLE: this.table.tableName,
          BLINDSIGHT_BUCKET: this.images.bucketName,
          BLINDSIGHT_LOG_LEVEL: 'INFO',
          ...(config.s3ForcePathStyle ? { BLINDSIGHT_S3_FORCE_PATH_STYLE: 'true' } : {}),
          ...(access.invokeCs2 ? { BLINDSIGHT_CS2_MODE: 'lambda', BLINDSIGHT_CS2_FUNCTION_ARN: decryptArn } : {}),
        },
      });
      if (access.table === 'read') this.table.grantReadData(fn.role);
      else this.table.grantReadWriteData(fn.role);
      this.grantObjects(fn, access.objects);
      if (access.invokeCs2) {
        fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [decryptArn] }));
      }
      acknowledge(fn, 'L1', RUNTIME_REASON);
      functions.set(handler, fn);
    }
    this.functions = functions;

    const apiAccessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: 'blindsight-cs1',
      description: 'Blindsight CS1 API',
      createDefaultStage: false,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { ...API_THROTTLE },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(apiAccessLogs),
        // Who, which route, outcome and timing; never bodies or the Authorization header.
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            sourceIp: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    const authorizer = new HttpLambdaAuthorizer('TokenAuthorizer', functions.get(CS1_AUTHORIZER_HANDLER)!.function, {
      authorizerName: 'blindsight-token',
      identitySource: ['$request.header.Authorization'],
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      // No caching: a revoked token is refused on its very next request.
      resultsCacheTtl: Duration.seconds(0),
    });
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const route of CS1_ROUTES) {
      let integration = integrations.get(route.handler);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${constructIdOf(route.handler)}Integration`, functions.get(route.handler)!.function, {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(route.handler, integration);
      }
      const [httpRoute] = this.api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration,
        authorizer: route.auth === 'none' ? new apigwv2.HttpNoneAuthorizer() : authorizer,
      });
      if (route.auth === 'none') {
        acknowledge(
          httpRoute,
          'APIG4',
          'Owner registration is open by design: the owner id is the fingerprint of the public key being registered, and the handler checks a signature made with that key.',
        );
      }
    }

    new CfnOutput(this, 'ApiUrl', { value: this.stage.url, description: 'Base URL of the CS1 API' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'BucketName', { value: this.images.bucketName });
    new CfnOutput(this, 'IdentifyRoleArn', { value: functions.get('cs1/identify')?.role.roleArn ?? '-', description: 'Named in CS2\'s resource policy' });
  }

  /** Object-level actions on the image bucket, spelled out (no `s3:*Object*` wildcards). */
  private grantObjects(fn: BlindsightFunction, objects: readonly ObjectAction[]): void {
    if (objects.length === 0) return;
    const actions = objects.flatMap((action) =>
      ({ get: ['s3:GetObject'], put: ['s3:PutObject'], delete: ['s3:DeleteObject'], stage: [] })[action],
    );
    if (actions.length > 0) {
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [this.images.arnForObjects('*')] }));
    }
    const bucketArn = `Resource::<${this.getLogicalId(this.images.node.defaultChild as s3.CfnBucket)}.Arn>`;
    if (objects.includes('stage')) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:DeleteObject'],
          resources: [this.images.arnForObjects(`${TRANSIENT_PREFIX}*`)],
        }),
      );
      acknowledge(
        fn.role,
        'IAM5',
        'Staged CS2 batches get random names at run time; write access is limited to the transfer/ prefix, which expires after a day.',
        `${bucketArn}/${TRANSIENT_PREFIX}*`,
      );
    }
    if (objects.includes('get')) {
      // Without ListBucket, a missing key answers 403 instead of 404 and cannot be told apart.
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.images.bucketArn] }));
    }
    if (actions.length === 0) return;
    acknowledge(
      fn.role,
      'IAM5',
      'Objects are keyed per owner and image at run time; access is limited to the objects of this one bucket.',
      `${bucketArn}/*`,
    );
  }
}
