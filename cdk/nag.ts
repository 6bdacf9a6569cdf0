/**
 * cdk-nag (AWS Solutions rules, cdk-nag v3: a CDK policy-validation plugin that runs at synth
 * and fails it on unacknowledged findings), and the one way to acknowledge a finding: on the
 * exact construct (it covers the construct's children), with the reason it is acceptable here.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

export function applyNagChecks(app: IConstruct): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/**
 * `rule` is the AWS Solutions rule (e.g. `IAM5`); `finding` narrows a granular rule to one
 * finding (e.g. `Resource::<Bucket.Arn>/*`).
 */
export function acknowledge(construct: IConstruct, rule: string, reason: string, finding?: string): void {
  Validations.of(construct).acknowledge({ id: `AwsSolutions-${rule}${finding ? `[${finding}]` : ''}`, reason });
}

export const RUNTIME_REASON =
  'Pinned to nodejs22.x, the newest Lambda runtime the project is built and tested for (package.json engines, node-seal 6); ' +
  'move to a newer runtime together with the project Node.js version.';

export const XRAY_REASON =
  'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) does not support resource-level permissions; the role can only send traces.';
