/**
 * Deployment settings from CDK context (`-c key=value` or cdk.context.json):
 *
 *   cs1Account   12-digit id of CS1's account (storage and search)          required
 *   cs2Account   12-digit id of CS2's account (the decryption key)          required
 *   region       region of both stacks, e.g. eu-west-1                      required
 *   corsOrigins  comma-separated browser origins allowed to call the API and optional (default: none,
 *                use the presigned S3 URLs (e.g. https://app.example)        no browser access)
 *   authorizerCacheSeconds  how long API Gateway may reuse the authorizer's optional (default 0;
 *                verdict for a token (0..3600); a revoked user's token works up to 3600)
 *                until it expires from the cache
 *   alarmTopicArn  SNS topic that receives the CloudWatch alarms              optional (default: none)
 *   cs2ReservedConcurrency  concurrent executions reserved for (and capping) optional (default 10;
 *                CS2's decrypt function                                      `none` for no reservation)
 *   s3ForcePathStyle  true for S3 emulators that need path-style URLs     optional (default false;
 *                     scripts/deploy-localstack.ts sets it for LocalStack)
 *   webSite      folder of the built web page (`npm run build:web`: web/dist) optional (default: no page;
 *                to serve from CloudFront in CS1's account; its origin joins     with it, CS1 serves the
 *                the CORS origins                                               page and allows its origin)
 *
 * Both stacks need both account ids (each names the other's fixed ARN), so every command
 * passes all three, whichever stack it deploys. CI synthesizes with placeholder accounts
 * (see the `synth` npm script); a real deployment with placeholders fails at the credential
 * check, because the CLI profile's account differs from the stack's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'constructs';

export interface DeploymentConfig {
  readonly cs1Account: string;
  readonly cs2Account: string;
  readonly region: string;
  /** Browser origins allowed by the API's CORS and the image bucket's CORS; empty: none. */
  readonly corsOrigins: readonly string[];
  /** Seconds API Gateway caches the authorizer's verdict per token; 0: every request is authorized afresh. */
  readonly authorizerCacheSeconds: number;
  readonly alarmTopicArn?: string;
  /** Reserved concurrency of CS2's decrypt function; undefined: none. */
  readonly cs2ReservedConcurrency?: number;
  readonly s3ForcePathStyle: boolean;
  /** Folder of the built web page to deploy with CS1 (CloudFront); undefined: no page. */
  readonly webSite?: string;
}

export const DEFAULT_CS2_RESERVED_CONCURRENCY = 10;
const MAX_AUTHORIZER_CACHE_SECONDS = 3600;

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

function integer(node: Node, key: string, fallback: number, min: number, max: number): number {
  const raw = node.tryGetContext(key) as unknown;
  if (raw === undefined || raw === null || String(raw).trim() === '') return fallback;
  const value = Number(String(raw).trim());
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DeploymentConfigError(`CDK context value "${key}" = "${String(raw)}" is not an integer from ${min} to ${max}`);
  }
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
      ? []
      : String(rawOrigins)
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin.length > 0);
  // Given but empty is a typo (unset means none).
  if (rawOrigins !== undefined && corsOrigins.length === 0) throw new DeploymentConfigError('CDK context value "corsOrigins" is empty');
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s*]+$/.test(origin)) {
      throw new DeploymentConfigError(`CDK context value "corsOrigins" has "${origin}", which is not an origin such as https://app.example (scheme and host, no path)`);
    }
  }
  const authorizerCacheSeconds = integer(node, 'authorizerCacheSeconds', 0, 0, MAX_AUTHORIZER_CACHE_SECONDS);
  const rawTopic = node.tryGetContext('alarmTopicArn') as unknown;
  const alarmTopicArn = rawTopic === undefined || String(rawTopic).trim() === '' ? undefined : String(rawTopic).trim();
  if (alarmTopicArn !== undefined && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(alarmTopicArn)) {
    throw new DeploymentConfigError(`CDK context value "alarmTopicArn" = "${alarmTopicArn}" is not an SNS topic ARN`);
  }
  const rawReserved = String(node.tryGetContext('cs2ReservedConcurrency') ?? '').trim().toLowerCase();
  const cs2ReservedConcurrency = rawReserved === 'none' ? undefined : integer(node, 'cs2ReservedConcurrency', DEFAULT_CS2_RESERVED_CONCURRENCY, 1, 1000);
  const rawPathStyle = String(node.tryGetContext('s3ForcePathStyle') ?? 'false').trim().toLowerCase();
  if (rawPathStyle !== 'true' && rawPathStyle !== 'false') {
    throw new DeploymentConfigError(`CDK context value "s3ForcePathStyle" must be true or false, not "${rawPathStyle}"`);
  }
  const rawWebSite = node.tryGetContext('webSite') as unknown;
  const webSite = rawWebSite === undefined || String(rawWebSite).trim() === '' ? undefined : String(rawWebSite).trim();
  if (webSite !== undefined && !existsSync(join(webSite, 'index.html'))) {
    throw new DeploymentConfigError(`CDK context value "webSite" = "${webSite}" is not a built web page (no index.html there): run "npm run build:web" first`);
  }
  return {
    cs1Account,
    cs2Account,
    region,
    corsOrigins,
    authorizerCacheSeconds,
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
    cs2ReservedConcurrency,
    s3ForcePathStyle: rawPathStyle === 'true',
    ...(webSite ? { webSite } : {}),
  };
}
