/** The S3 client: explicit (tests, local cloud) and the process's own (see config.ts). */
import { S3Client } from '@aws-sdk/client-s3';
import { processClient, readRegion, sdkClientSettings } from './config';
import type { ClientOptions } from './config';
import { failUnavailable } from './unavailable';
import { EnvironmentConfig } from '../config/environment';

export function newS3Client(options: ClientOptions): S3Client {
  const client = new S3Client({
    ...sdkClientSettings(options),
    forcePathStyle: options.forcePathStyle ?? false,
    // With WHEN_SUPPORTED the SDK puts a checksum of the *empty* body into presigned PUT URLs,
    // and real S3 then rejects the upload; emulators also return no checksums to validate.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  client.middlewareStack.use(failUnavailable('S3'));
  return client;
}

/** The process's S3 client (region from AWS_REGION, path style from BLINDSIGHT_S3_FORCE_PATH_STYLE). */
export function createS3Client(): S3Client {
  return processClient('s3', { region: readRegion(), forcePathStyle: new EnvironmentConfig().get('s3ForcePathStyle') }, newS3Client);
}
