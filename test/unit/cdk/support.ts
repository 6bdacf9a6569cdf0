/**
 * Synthesizes the Blindsight app for template tests, bundling nothing (the functions' assets are
 * placeholders; deployed-artefacts.test.ts bundles and runs the real ones).
 */
import { App } from 'aws-cdk-lib';
import { join } from 'node:path';
import type { BlindsightStacks } from '../../../cdk/blindsight-app';
import { CDK_APP_CONTEXT, buildBlindsightApp } from '../../../cdk/blindsight-app';

export const CS1_ACCOUNT = '111111111111';
export const CS2_ACCOUNT = '222222222222';
export const REGION = 'eu-west-1';
export const FIXTURE_FUNCTIONS = join(import.meta.dirname, 'fixtures', 'functions');

export interface SynthOptions {
  readonly outdir?: string;
  readonly context?: Record<string, unknown>;
  /** CDK's built-in CloudFormation schema validation (a few seconds per app); default on. */
  readonly cloudFormationValidation?: boolean;
}

export function buildTestApp(options: SynthOptions = {}): { app: App } & BlindsightStacks {
  const app = new App({
    outdir: options.outdir,
    builtinCloudFormationValidation: options.cloudFormationValidation ?? true,
    context: {
      ...CDK_APP_CONTEXT,
      cs1Account: CS1_ACCOUNT,
      cs2Account: CS2_ACCOUNT,
      region: REGION,
      'aws:cdk:bundling-stacks': [],
      ...options.context,
    },
  });
  return { app, ...buildBlindsightApp(app, { functionsDir: FIXTURE_FUNCTIONS }) };
}

type Statement = { Action: string | string[]; Resource?: unknown; Effect: string; Condition?: unknown };

/** Every IAM policy statement of a template, with the policy's logical id. */
export function policyStatements(template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }) {
  const out: Array<{ policy: string; roles: unknown; statement: Statement }> = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const document = resource.Properties.PolicyDocument as { Statement: Statement[] };
    for (const statement of document.Statement) out.push({ policy: id, roles: resource.Properties.Roles, statement });
  }
  return out;
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}
