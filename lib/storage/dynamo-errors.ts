/** Recognises DynamoDB failures by name (works for the SDK's classes and for emulators). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
