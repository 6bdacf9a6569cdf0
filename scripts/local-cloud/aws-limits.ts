/**
 * Service limits of API Gateway REST APIs and Lambda that the local gateways enforce, so that
 * code which works locally does not fail in AWS on a limit nobody saw (values from the AWS
 * quotas pages; none of them can be raised). The integration timeout is in cdk/timeouts.ts,
 * beside the function timeouts derived from it.
 */

/** REST API: maximum request payload. Larger requests are refused before any Lambda runs. */
export const REST_API_MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/**
 * Lambda: synchronous invocation payload (the serialized event) and response limit. A 4.5 MB
 * binary body becomes a 6 MB event once base64-encoded, which is why large images go through
 * presigned S3 URLs.
 */
export const LAMBDA_MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Memory size reported by the local Lambda context (the CDK stacks set their own sizes). */
export const LOCAL_FUNCTION_MEMORY_MB = 1024;
