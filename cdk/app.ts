/**
 * CDK entry point (cdk.json: `npx tsx cdk/app.ts`). Context values are described in
 * cdk/config.ts and docs/deployment.md.
 */
import { App } from 'aws-cdk-lib';
import { CDK_APP_CONTEXT, buildBlindsightApp } from './blindsight-app';
import { DeploymentConfigError } from './config';

const app = new App({ context: { ...CDK_APP_CONTEXT } });
try {
  buildBlindsightApp(app);
} catch (error) {
  if (!(error instanceof DeploymentConfigError)) throw error;
  // A usage error, not a crash: the message says what to pass.
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
app.synth();
