/**
 * The CS1 "account" process: DynamoDB (dynalite, LevelDB on disk) and S3 (s3rver, files on
 * disk) on loopback, on their own thread; the table and bucket created if absent; and the REST
 * API gateway, which runs the CS1 handlers in Lambda-like execution environments (worker
 * threads, one request at a time each) with the environment the CDK stack gives them in AWS
 * (plus endpoint overrides and the CS2 credential). Started by the local cloud's main process.
 */
import { CORS_ORIGINS_ENV } from '../../lib/api/cors';
import { CS1_AUTHORIZER, CS1_IDENTIFY_WORKER, CS1_ROUTES, CS1_WORKERS } from '../../lib/api/routes';
import { IDENTIFY_WORKER_TIMEOUT_MS } from '../../cdk/timeouts';
import { PUBLISH_FIRST_LEASE_ENV, PUBLISH_LEASE_ENV, PUBLISH_WORKER_FUNCTION_ENV } from '../../lib/service/versions/publish-job-services';
import { DEFAULT_PUBLISH_JOB_TIMINGS } from '../../lib/service/versions/publish-jobs';
import { newDocumentClient } from '../../lib/storage/dynamo-clients';
import { newS3Client } from '../../lib/storage/s3-client';
import { ensureBucket, ensureTable } from './storage/provision';
import { S3RVER_CREDENTIALS } from './storage/s3rver';
import { SETTINGS } from '../../lib/config/settings';
import type { Cs1AccountConfig } from './account-protocol';
import { isolateAwsEnvironment, readAccountConfig, runAccount } from './account-process';
import { loadOrCreateCredential } from './cs1-credential';
import { ExecutionEnvironments } from './execution-environments';
import { DEFAULT_GATEWAY_LIMITS, createRestApiGateway, defaultFunctionName } from './rest-api-gateway';
import { listen } from './http-server';
import type { RunningServer } from './http-server';
import { createLambdaInvokeApi } from './lambda-invoke-api';
import { LOCAL_API_ID } from './layout';
import { startStorageThread } from './storage-thread';

runAccount('cs1', async () => {
  const config = readAccountConfig<Cs1AccountConfig>('cs1');
  const storage = await startStorageThread({
    dynamodbDir: config.dynamodbDir,
    s3Dir: config.s3Dir,
    host: config.host,
    dynamodbPort: config.dynamodbPort,
    s3Port: config.s3Port,
    buckets: [config.bucket],
    corsOrigins: config.corsOrigins,
  });
  let environments: ExecutionEnvironments | undefined;
  let lambdaApi: RunningServer | undefined;
  try {
    const credentials = { accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey };
    const documents = newDocumentClient({ region: config.region, endpoint: storage.dynamodbEndpoint, credentials });
    const objects = newS3Client({ region: config.region, endpoint: storage.s3Endpoint, forcePathStyle: true, credentials });
    await ensureTable(documents, config.table);
    await ensureBucket(objects, config.bucket);
    documents.destroy();
    objects.destroy();

    // CS1's functions invoke its shard workers through Lambda's own API, as in AWS.
    const workerFunction = defaultFunctionName(CS1_IDENTIFY_WORKER.handler);
    lambdaApi = await listen(
      createLambdaInvokeApi({
        account: 'cs1',
        accountId: config.accountId,
        region: config.region,
        functions: { [workerFunction]: CS1_IDENTIFY_WORKER.handler },
        runtime: (call) => environments!.invoke(call),
        timeoutMs: Math.round(IDENTIFY_WORKER_TIMEOUT_MS * config.timeoutScale),
        // The workers the routes start asynchronously (the publish worker), under their own timeouts.
        asyncFunctions: Object.fromEntries(
          Object.values(CS1_WORKERS).map((worker) => [defaultFunctionName(worker.handler), { handler: worker.handler, timeoutMs: Math.round(worker.timeoutMs * config.timeoutScale) }]),
        ),
      }),
      config.host,
      0,
    );

    // Set before any environment starts: each one copies this process' environment.
    isolateAwsEnvironment(config.isolatedAwsConfigDir, {
      BLINDSIGHT_TABLE: config.table,
      BLINDSIGHT_BUCKET: config.bucket,
      AWS_REGION: config.region,
      AWS_ENDPOINT_URL_DYNAMODB: config.handlerDynamodbEndpoint ?? storage.dynamodbEndpoint,
      AWS_ENDPOINT_URL_S3: storage.s3Endpoint,
      BLINDSIGHT_S3_FORCE_PATH_STYLE: 'true',
      // s3rver checks these; dynalite accepts any.
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      [PUBLISH_WORKER_FUNCTION_ENV]: defaultFunctionName(CS1_WORKERS.publishWorker.handler),
      ...(config.publishLeaseMs !== undefined ? { [PUBLISH_LEASE_ENV]: String(config.publishLeaseMs) } : {}),
      // The worker's first lease covers its cold start, which is as much slower here as the machine.
      [PUBLISH_FIRST_LEASE_ENV]: String(Math.round(DEFAULT_PUBLISH_JOB_TIMINGS.firstLeaseMs * config.timeoutScale)),
      BLINDSIGHT_CS2_MODE: 'http',
      BLINDSIGHT_CS2_URL: config.cs2Url,
      BLINDSIGHT_CS2_CREDENTIAL: await loadOrCreateCredential(config.credentialFile),
      ...(config.corsOrigins.length > 0 ? { [CORS_ORIGINS_ENV]: config.corsOrigins.join(',') } : {}),
      AWS_ENDPOINT_URL_LAMBDA: lambdaApi.url,
      BLINDSIGHT_IDENTIFY_WORKER_FUNCTION: workerFunction,
      ...(config.logLevel ? { BLINDSIGHT_LOG_LEVEL: config.logLevel } : {}),
      ...(config.pointerTtlMs !== undefined ? { BLINDSIGHT_POINTER_TTL_MS: String(config.pointerTtlMs) } : {}),
      // CS1's calls to CS2 wait as much longer as CS2 is allowed to take.
      ...(config.timeoutScale !== 1 ? { BLINDSIGHT_CS2_TIMEOUT_MS: String(Math.round(SETTINGS.cs2TimeoutMs.default * config.timeoutScale)) } : {}),
      // ...and on their shard workers.
      ...(config.timeoutScale !== 1 ? { BLINDSIGHT_IDENTIFY_WORKER_TIMEOUT_MS: String(Math.round(IDENTIFY_WORKER_TIMEOUT_MS * config.timeoutScale)) } : {}),
      ...(config.allowInsecurePaperScheme !== undefined ? { BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: String(config.allowInsecurePaperScheme) } : {}),
    });

    environments = new ExecutionEnvironments({ functionsDir: config.functionsDir, maxPerFunction: config.functionConcurrency, account: 'cs1' });
    const gateway = createRestApiGateway({
      account: 'cs1',
      identity: { accountId: config.accountId, region: config.region, apiId: LOCAL_API_ID },
      routes: CS1_ROUTES,
      authorizerHandler: CS1_AUTHORIZER.handler,
      identityHeader: CS1_AUTHORIZER.header,
      corsOrigins: config.corsOrigins,
      runtime: environments.invoke,
      limits: {
        integrationTimeoutMs: Math.round(DEFAULT_GATEWAY_LIMITS.integrationTimeoutMs * config.timeoutScale),
        functionTimeoutMs: Math.round(DEFAULT_GATEWAY_LIMITS.functionTimeoutMs * config.timeoutScale),
      },
    });
    const server = await listen(gateway, config.host, config.port);
    const running = environments;
    const invokeApi = lambdaApi;
    return {
      ready: {
        type: 'ready',
        account: 'cs1',
        url: server.url,
        port: server.port,
        dynamodbEndpoint: storage.dynamodbEndpoint,
        s3Endpoint: storage.s3Endpoint,
      },
      stop: async () => {
        await server.close();
        await invokeApi.close();
        await running.close();
        await storage.stop();
      },
    };
  } catch (error) {
    await lambdaApi?.close();
    await environments?.close();
    await storage.stop();
    throw error;
  }
});
