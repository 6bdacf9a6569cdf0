/**
 * The Blindsight CDK app: CS1's and CS2's stacks side by side in one app, each bound to its own
 * account and deployed separately (`cdk deploy Cs1Stack --profile cs1`, `cdk deploy Cs2Stack
 * --profile cs2`). They share no references, only the fixed names in names.ts.
 */
import type { App } from 'aws-cdk-lib';
import { Tags } from 'aws-cdk-lib';
import { readDeploymentConfig } from './config';
import { Cs1Stack } from './cs1-stack';
import { Cs2Stack } from './cs2-stack';
import { applyNagChecks } from './nag';

/**
 * Feature flags the stacks rely on (App `context`; cdk.json and -c values take precedence):
 * server access logs are delivered through a bucket policy, so the log bucket can keep ACLs
 * disabled (BucketOwnerEnforced).
 */
export const CDK_APP_CONTEXT = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
} as const;

export interface BlindsightStacks {
  readonly cs1: Cs1Stack;
  readonly cs2: Cs2Stack;
}

export function buildBlindsightApp(app: App, options: { functionsDir?: string } = {}): BlindsightStacks {
  const config = readDeploymentConfig(app.node);
  const cs1 = new Cs1Stack(app, 'Cs1Stack', { config, functionsDir: options.functionsDir });
  const cs2 = new Cs2Stack(app, 'Cs2Stack', { config, functionsDir: options.functionsDir });
  Tags.of(app).add('project', 'blindsight');
  applyNagChecks(app);
  return { cs1, cs2 };
}
