/** API Gateway's binary rule as the stack and the local gateway apply it: the first Accept media type decides. */
import { describe, expect, it } from 'vitest';
import { acceptsBinary, BINARY_MEDIA_TYPES, isBinaryContent } from '../../../lib/api/media-types';

describe('binary media types', () => {
  it('answers binary only when the first accepted media type is binary', () => {
    expect(acceptsBinary('application/octet-stream')).toBe(true);
    expect(acceptsBinary('Application/Octet-Stream; q=1, application/json')).toBe(true);
    expect(acceptsBinary('application/octet-stream, application/json;q=0.9')).toBe(true);
    // A later binary type does not count, nor does a wildcard the client sends.
    expect(acceptsBinary('application/json, application/octet-stream')).toBe(false);
    expect(acceptsBinary('*/*')).toBe(false);
    expect(acceptsBinary('application/json')).toBe(false);
    expect(acceptsBinary(undefined)).toBe(false);
    expect(acceptsBinary('')).toBe(false);
    expect(acceptsBinary('octet-stream')).toBe(false);
  });

  it('matches wildcards in the API list, as API Gateway does', () => {
    expect(acceptsBinary('image/png', ['image/*'])).toBe(true);
    expect(acceptsBinary('text/html, image/png', ['*/*'])).toBe(true);
    expect(acceptsBinary('text/html', ['image/*'])).toBe(false);
  });

  it('passes request bodies of a binary type base64-encoded', () => {
    expect(isBinaryContent('application/octet-stream')).toBe(true);
    expect(isBinaryContent('application/json; charset=utf-8')).toBe(false);
    expect(isBinaryContent(undefined)).toBe(false);
    expect(BINARY_MEDIA_TYPES).toEqual(['application/octet-stream']);
  });
});
