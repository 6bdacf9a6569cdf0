/**
 * Binary answers through API Gateway (REST, Lambda proxy): the API lists its binary media types;
 * a function answers binary by base64-encoding its body with `isBase64Encoded: true`, and the
 * gateway sends the raw bytes only when the FIRST media type of the request's Accept header is
 * one of them (otherwise the client gets the base64 text). A request whose Content-Type is one of
 * them reaches the function base64-encoded. The CDK stack and the local gateway both read this.
 */

export const OCTET_STREAM = 'application/octet-stream';

/** The API's binaryMediaTypes. */
export const BINARY_MEDIA_TYPES: readonly string[] = [OCTET_STREAM];

/** `Application/Octet-Stream; q=1` -> `application/octet-stream`. */
function mediaTypeOf(value: string): string {
  return value.split(';')[0].trim().toLowerCase();
}

/** Whether `mediaType` matches an entry of `types` (`*` in an entry stands for any type or subtype). */
function matchesAny(mediaType: string, types: readonly string[]): boolean {
  const [type, subtype] = mediaType.split('/');
  if (subtype === undefined) return false;
  return types.some((entry) => {
    const [entryType, entrySubtype] = entry.toLowerCase().split('/');
    return (entryType === '*' || entryType === type) && (entrySubtype === '*' || entrySubtype === subtype);
  });
}

/** Whether API Gateway sends a base64-encoded answer as bytes: the Accept header's first media type is binary. */
export function acceptsBinary(accept: string | undefined, types: readonly string[] = BINARY_MEDIA_TYPES): boolean {
  if (accept === undefined || accept === '') return false;
  return matchesAny(mediaTypeOf(accept.split(',')[0]), types);
}

/** Whether API Gateway hands a request body to the function base64-encoded: its Content-Type is binary. */
export function isBinaryContent(contentType: string | undefined, types: readonly string[] = BINARY_MEDIA_TYPES): boolean {
  if (contentType === undefined || contentType === '') return false;
  return matchesAny(mediaTypeOf(contentType), types);
}
