/**
 * The CS1 "account" process: DynamoDB (dynalite, LevelDB on disk) and S3 (s3rver, files on
 * disk) on loopback, the table and bucket created if absent, and the HTTP API gateway running
 * the CS1 handlers with the environment the CDK stack gives them in AWS (plus endpoint
 * overrides and the CS2 credential). Started by the local cloud's main process.
 */
import { CS1_AUTHORIZER_HANDLER, CS1_ROUTES } from '../../functions/routes';
import { newDocumentClient, newS3Client } from '../../lib/storage/config';
import { startLocalDynamo } from '../../lib/storage/local/dynalite';
import { ensureBucket, ensureTable } from '../../lib/storage/local/provision';
import { S3RVER_CREDENTIALS, startLocalS3 } from '../../lib/storage/local/s3rver';
import type { Cs1AccountConfig } from './account-protocol';
import { isolateAwsEnvironment, readAccountConfig, runAccount } from './account-process';
import { loadOrCreateCredential } from './cs1-credential';
import { createHttpApiGateway } from './http-api-gateway';
import { listen } from './http-server';
import { moduleHandlerLoader } from './lambda-runtime';
import { LOCAL_API_ID } from './layout';

runAccount('cs1', async () => {
  const config = readAccountConfig<Cs1AccountConfig>('cs1');
  const dynamo = await startLocalDynamo({ directory: config.dynamodbDir, host: config.host, port: config.dynamodbPort });
  const s3 = await startLocalS3({ directory: config.s3Dir, buckets: [config.bucket], host: config.host, port: config.s3Port });
  try {
    const credentials = { accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey };
    const documents = newDocumentClient({ region: config.region, endpoint: dynamo.endpoint, credentials });
    const objects = newS3Client({ region: config.region, endpoint: s3.endpoint, forcePathStyle: true, credentials });
    await ensureTable(documents, config.table);
    await ensureBucket(objects, config.bucket);
    documents.destroy();
    objects.destroy();

    isolateAwsEnvironment(config.isolatedAwsConfigDir, {
      BLINDSIGHT_TABLE: config.table,
      BLINDSIGHT_BUCKET: config.bucket,
      AWS_REGION: config.region,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      BLINDSIGHT_S3_FORCE_PATH_STYLE: 'true',
      // s3rver checks these; dynalite accepts any.
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      BLINDSIGHT_CS2_MODE: 'http',
      BLINDSIGHT_CS2_URL: config.cs2Url,
      BLINDSIGHT_CS2_CREDENTIAL: await loadOrCreateCredential(config.credentialFile),
    });

    const gateway = createHttpApiGateway({
      account: 'cs1',
      identity: { accountId: config.accountId, region: config.region, apiId: LOCAL_API_ID },
      routes: CS1_ROUTES,
      authorizerHandler: CS1_AUTHORIZER_HANDLER,
      loadHandler: moduleHandlerLoader(config.functionsDir),
    });
    const server = await listen(gateway, config.host, config.port);
    return {
      ready: { type: 'ready', account: 'cs1', url: server.url, port: server.port, dynamodbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint },
      stop: async () => {
        await server.close();
        await Promise.all([s3.stop(), dynamo.stop()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([s3.stop(), dynamo.stop()]);
    throw error;
  }
});
