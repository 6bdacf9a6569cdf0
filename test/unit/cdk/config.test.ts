import { App } from 'aws-cdk-lib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeploymentConfigError, readDeploymentConfig } from '../../../cdk/config';

// An explicit outdir: without one, App creates a temporary directory per instance; never synthesized here.
const OUTDIR = join(tmpdir(), 'blindsight-cdk-config-test');
const config = (context: Record<string, unknown>) => readDeploymentConfig(new App({ context, outdir: OUTDIR }).node);
const valid = { cs1Account: '111111111111', cs2Account: '222222222222', region: 'eu-west-1' };

describe('deployment context', () => {
  it('reads both accounts, the region, CORS origins and the production settings', () => {
    expect(config(valid)).toEqual({ ...valid, corsOrigins: [], authorizerCacheSeconds: 0, cs2ReservedConcurrency: 10, s3ForcePathStyle: false });
    expect(config({ ...valid, authorizerCacheSeconds: '300', cs2ReservedConcurrency: 'none', alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:ops' })).toMatchObject({
      authorizerCacheSeconds: 300,
      cs2ReservedConcurrency: undefined,
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:ops',
    });
    expect(() => config({ ...valid, authorizerCacheSeconds: '3601' })).toThrow(/authorizerCacheSeconds.*0 to 3600/);
    expect(() => config({ ...valid, cs2ReservedConcurrency: '0' })).toThrow(/cs2ReservedConcurrency/);
    expect(() => config({ ...valid, alarmTopicArn: 'ops' })).toThrow(/alarmTopicArn/);
    expect(() => config({ ...valid, corsOrigins: 'https://a.example/path' })).toThrow(/not an origin/);
    expect(config({ ...valid, s3ForcePathStyle: 'true' }).s3ForcePathStyle).toBe(true);
    expect(config({ ...valid, s3ForcePathStyle: true }).s3ForcePathStyle).toBe(true);
    expect(() => config({ ...valid, s3ForcePathStyle: 'yes' })).toThrow(/s3ForcePathStyle/);
    expect(config({ ...valid, corsOrigins: 'https://a.example, https://b.example' }).corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config({ ...valid, cs1Account: 111111111111 }).cs1Account).toBe('111111111111');
  });

  it('names the missing value and shows a complete command', () => {
    for (const key of ['cs1Account', 'cs2Account', 'region'] as const) {
      const context: Record<string, unknown> = { ...valid };
      delete context[key];
      expect(() => config(context)).toThrow(DeploymentConfigError);
      expect(() => config(context)).toThrow(new RegExp(`Missing CDK context value "${key}".*-c cs1Account=.*docs/deployment\\.md`));
    }
  });

  it('rejects malformed accounts and regions', () => {
    expect(() => config({ ...valid, cs1Account: '12345' })).toThrow(/"cs1Account" = "12345" is not the 12-digit/);
    expect(() => config({ ...valid, cs2Account: 'abc' })).toThrow(/cs2Account/);
    expect(() => config({ ...valid, region: 'europe' })).toThrow(/region/);
  });

  it('refuses one account for both servers', () => {
    expect(() => config({ ...valid, cs2Account: valid.cs1Account })).toThrow(/separately owned/);
  });

  it('refuses an empty CORS origin list', () => {
    expect(() => config({ ...valid, corsOrigins: ' , ' })).toThrow(/corsOrigins/);
  });
});
