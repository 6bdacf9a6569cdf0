/**
 * Fixed names that cross the account boundary. Each stack is deployed with its own account's
 * credentials and cannot read the other's outputs, so CS1 names CS2's function and CS2 names
 * CS1's role by these constants (never by cross-stack references). Changing one means
 * redeploying both stacks. Plain constants: the local cloud imports them too.
 */
import { SETTINGS } from '../lib/config/settings';

/** IAM role of CS1's identify function; CS2's resource policy names it. */
export const CS1_IDENTIFY_ROLE_NAME = 'blindsight-cs1-identify';

/** CS2's decrypt function; CS1's identify role may invoke it and nothing else. */
export const CS2_DECRYPT_FUNCTION_NAME = 'blindsight-cs2-decrypt';

/** Secrets Manager names of CS2's secret keys: `${prefix}${keyId}`. */
export const CS2_SECRET_PREFIX = SETTINGS.cs2SecretPrefix.default;

/** Customer-managed KMS key that encrypts CS2's secrets. */
export const CS2_KMS_KEY_ALIAS = 'alias/blindsight-cs2';

/** `aws`, `aws-cn` or `aws-us-gov`: both accounts are always in the same partition. */
export function cs1IdentifyRoleArn(cs1Account: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${cs1Account}:role/${CS1_IDENTIFY_ROLE_NAME}`;
}

export function cs2DecryptFunctionArn(cs2Account: string, region: string, partition = 'aws'): string {
  return `arn:${partition}:lambda:${region}:${cs2Account}:function:${CS2_DECRYPT_FUNCTION_NAME}`;
}

/**
 * CS2's decrypt handler module under functions/. CS2 has no public HTTP API in AWS: CS1's
 * identify role invokes the function directly. The local cloud exposes the same handler over
 * HTTP behind a credential only the local CS1 holds.
 */
export const CS2_DECRYPT_HANDLER = 'cs2/decrypt';
