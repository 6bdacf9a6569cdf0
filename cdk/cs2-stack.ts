/**
 * CS2's account: the decrypt function (fixed name) that only CS1's identify role may invoke
 * (resource-based policy naming that role's fixed ARN in CS1's account), and a customer-managed
 * KMS key for the secret keys, which live in Secrets Manager under `blindsight/cs2/<keyId>`.
 * The secrets are imported by the operator (docs/deployment.md), not created by the stack, so
 * key material never passes through CloudFormation.
 */
import { ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

import { StackAlarms } from './alarms';
import { BlindsightFunction } from './blindsight-function';
import type { DeploymentConfig } from './config';
import { CS2_DECRYPT_FUNCTION_NAME, CS2_DECRYPT_HANDLER, CS2_KMS_KEY_ALIAS, CS2_SECRET_PREFIX, cs1IdentifyRoleArn } from './names';
import { RUNTIME_REASON, XRAY_REASON, acknowledge } from './nag';
import { CS2_DECRYPT_TIMEOUT_MS } from './timeouts';

export interface Cs2StackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly functionsDir?: string;
}

export class Cs2Stack extends Stack {
  readonly key: kms.Key;
  readonly decrypt: BlindsightFunction;
  readonly alarms: StackAlarms;

  constructor(scope: Construct, id: string, props: Cs2StackProps) {
    const { config } = props;
    super(scope, id, {
      stackName: 'blindsight-cs2',
      description: 'Blindsight CS2: decryption of blinded batches for CS1 (secret keys in Secrets Manager + KMS)',
      terminationProtection: true,
      ...props,
      env: { account: config.cs2Account, region: config.region },
    });

    this.key = new kms.Key(this, 'SecretsKey', {
      alias: CS2_KMS_KEY_ALIAS,
      description: 'Encrypts the Blindsight CS2 secret keys (Secrets Manager)',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.decrypt = new BlindsightFunction(this, 'Decrypt', {
      handler: CS2_DECRYPT_HANDLER,
      functionsDir: props.functionsDir,
      functionName: CS2_DECRYPT_FUNCTION_NAME,
      description: 'Blindsight CS2: decrypts blinded batches for CS1',
      memorySize: 1769,
      timeout: Duration.millis(CS2_DECRYPT_TIMEOUT_MS),
      // Reserved: CS2's account keeps capacity for CS1's identifications, and a flood of them
      // is throttled here instead of exhausting the account's concurrency.
      reservedConcurrentExecutions: config.cs2ReservedConcurrency,
      environment: {
        BLINDSIGHT_CS2_SECRET_PREFIX: CS2_SECRET_PREFIX,
        BLINDSIGHT_LOG_LEVEL: 'INFO',
      },
    });
    acknowledge(this.decrypt, 'L1', RUNTIME_REASON);
    acknowledge(this.decrypt.role, 'IAM5', XRAY_REASON, 'Resource::*');
    this.alarms = new StackAlarms(this, 'Alarms', config.alarmTopicArn);
    this.alarms.watchFunction('Decrypt', this.decrypt.function, Duration.millis(CS2_DECRYPT_TIMEOUT_MS));

    const secretsArn = this.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${CS2_SECRET_PREFIX}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.decrypt.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretsArn] }));
    // Decrypt with the key only on behalf of Secrets Manager, never directly.
    this.decrypt.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${config.region}.amazonaws.com` } },
      }),
    );
    acknowledge(
      this.decrypt,
      'IAM5',
      'Secret keys are imported per key id under the blindsight/cs2/ prefix after deployment (Secrets Manager appends a random suffix to each ARN); the function may read only that prefix.',
      `Resource::arn:<AWS::Partition>:secretsmanager:${config.region}:${config.cs2Account}:secret:${CS2_SECRET_PREFIX}*`,
    );

    // The cross-account trust: CS1's identify role, by its fixed ARN, and nobody else.
    this.decrypt.function.addPermission('InvokeByCs1Identify', {
      principal: new iam.ArnPrincipal(cs1IdentifyRoleArn(config.cs1Account, Aws.PARTITION)),
      action: 'lambda:InvokeFunction',
    });

    new CfnOutput(this, 'DecryptFunctionArn', { value: this.decrypt.function.functionArn, description: 'Invoked by CS1\'s identify role' });
    new CfnOutput(this, 'SecretsKeyArn', { value: this.key.keyArn, description: `Use for secrets named ${CS2_SECRET_PREFIX}<keyId>` });
    new CfnOutput(this, 'SecretPrefix', { value: CS2_SECRET_PREFIX });
  }
}
