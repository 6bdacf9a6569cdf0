/** The S3 client: explicit (tests, local cloud) and the process's own (see config.ts). */
import { S3Client } from '@aws-sdk/client-s3';
import { CONNECTION_TIMEOUT_MS, processClient, readRegion } from './config';
import type { ClientOptions } from './config';
import { failUnavailable } from './unavailable';
import { EnvironmentConfig } from '../config/environment';

export function newS3Client(options: ClientOptions): S3Client {
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: options.credentials,
    // With WHEN_SUPPORTED the SDK puts a checksum of the *empty* body into presigned PUT URLs,
    // and real S3 then rejects the upload; emulators also return no checksums to validate.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS },
  });
  client.middlewareStack.use(failUnavailable('S3'));
  return client;
}

/** The process's S3 client (region from AWS_REGION, path style from BLINDSIGHT_S3_FORCE_PATH_STYLE). */
export function createS3Client(): S3Client {
  const region = readRegion();
  const forcePathStyle = new EnvironmentConfig().get('s3ForcePathStyle');
  return processClient('s3', `${region}|${forcePathStyle}`, () => newS3Client({ region, forcePathStyle }));
}
