/**
 * One Lambda function per handler module, bundled from TypeScript by the local esbuild (never
 * Docker): ESM for Node.js 22 on arm64, minified with source maps, class names kept (typed
 * errors are told apart by name), traced with X-Ray. Each function gets its own role and log
 * group, and the role may only write to that log group (and send traces); callers add the data
 * permissions it needs.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';

/** Repository root (cdk/..): entry files, lock file and tsconfig are found from here. */
export const PROJECT_ROOT = join(import.meta.dirname, '..');
export const DEFAULT_FUNCTIONS_DIR = join(PROJECT_ROOT, 'functions');

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;

/**
 * ESM output still has to load CommonJS dependencies (node-seal's Node build requires `fs` and
 * `crypto`); esbuild's `__require` shim uses a global `require` when one exists.
 */
const REQUIRE_SHIM = "import { createRequire as __blindsightCreateRequire } from 'node:module'; const require = __blindsightCreateRequire(import.meta.url);";

export interface BlindsightFunctionProps {
  /** Handler module under the functions directory, without extension, e.g. `cs1/search`. */
  readonly handler: string;
  readonly functionsDir?: string;
  /** Fixed function name (only where another account must name it). */
  readonly functionName?: string;
  /** Fixed role name (only where another account must name it). */
  readonly roleName?: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
  readonly logRetention?: logs.RetentionDays;
  /** Concurrent executions reserved for (and capped at) this function; unset: none. */
  readonly reservedConcurrentExecutions?: number;
}

export class BlindsightFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BlindsightFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${props.handler}`,
    });
    // Instead of AWSLambdaBasicExecutionRole (any log group in the account): its own group only.
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(props.functionsDir ?? DEFAULT_FUNCTIONS_DIR, `${props.handler}.ts`),
      handler: 'handler',
      functionName: props.functionName,
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // X-Ray: a request's path through API Gateway, the function and its AWS calls.
      tracing: lambda.Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        // esbuild's Node defaults (main before module): node-seal's "module" is its web build.
        banner: REQUIRE_SHIM,
        minify: true,
        keepNames: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // Bundle the AWS SDK too: the versions tested here, not whatever the runtime ships.
        externalModules: [],
        tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
      },
    });
  }
}
