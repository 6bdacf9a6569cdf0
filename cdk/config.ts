/**
 * Deployment settings from CDK context (`-c key=value` or cdk.context.json):
 *
 *   cs1Account   12-digit id of CS1's account (storage and search)          required
 *   cs2Account   12-digit id of CS2's account (the decryption key)          required
 *   region       region of both stacks, e.g. eu-west-1                      required
 *   corsOrigins  comma-separated origins allowed to use presigned S3 URLs   optional (default *)
 *   s3ForcePathStyle  true for S3 emulators that need path-style URLs     optional (default false;
 *                     scripts/deploy-localstack.ts sets it for LocalStack)
 *
 * Both stacks need both account ids (each names the other's fixed ARN), so every command
 * passes all three, whichever stack it deploys. CI synthesizes with placeholder accounts
 * (see the `synth` npm script); a real deployment with placeholders fails at the credential
 * check, because the CLI profile's account differs from the stack's.
 */
import type { Node } from 'constructs';

export interface DeploymentConfig {
  readonly cs1Account: string;
  readonly cs2Account: string;
  readonly region: string;
  readonly corsOrigins: readonly string[];
  readonly s3ForcePathStyle: boolean;
}

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const EXAMPLE = 'npx cdk deploy Cs1Stack -c cs1Account=111111111111 -c cs2Account=222222222222 -c region=eu-west-1 --profile cs1';

export class DeploymentConfigError extends Error {
  constructor(message: string) {
    super(`${message}. Example: ${EXAMPLE} (see docs/deployment.md)`);
    this.name = 'DeploymentConfigError';
  }
}

function required(node: Node, key: string, what: string, pattern: RegExp): string {
  const raw = node.tryGetContext(key) as unknown;
  if (raw === undefined || raw === null || String(raw).trim() === '') {
    throw new DeploymentConfigError(`Missing CDK context value "${key}" (${what})`);
  }
  const value = String(raw).trim();
  if (!pattern.test(value)) throw new DeploymentConfigError(`CDK context value "${key}" = "${value}" is not ${what}`);
  return value;
}

export function readDeploymentConfig(node: Node): DeploymentConfig {
  const cs1Account = required(node, 'cs1Account', "the 12-digit AWS account id of CS1", ACCOUNT);
  const cs2Account = required(node, 'cs2Account', "the 12-digit AWS account id of CS2", ACCOUNT);
  const region = required(node, 'region', 'an AWS region name such as eu-west-1', REGION);
  if (cs1Account === cs2Account) {
    throw new DeploymentConfigError(
      'cs1Account and cs2Account are the same account: the two-server scheme is only secure when CS1 and CS2 are separately owned accounts',
    );
  }
  const rawOrigins = node.tryGetContext('corsOrigins') as unknown;
  const corsOrigins =
    rawOrigins === undefined
      ? ['*']
      : String(rawOrigins)
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin.length > 0);
  if (corsOrigins.length === 0) throw new DeploymentConfigError('CDK context value "corsOrigins" is empty');
  const rawPathStyle = String(node.tryGetContext('s3ForcePathStyle') ?? 'false').trim().toLowerCase();
  if (rawPathStyle !== 'true' && rawPathStyle !== 'false') {
    throw new DeploymentConfigError(`CDK context value "s3ForcePathStyle" must be true or false, not "${rawPathStyle}"`);
  }
  return { cs1Account, cs2Account, region, corsOrigins, s3ForcePathStyle: rawPathStyle === 'true' };
}
