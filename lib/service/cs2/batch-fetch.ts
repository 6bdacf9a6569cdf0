/**
 * CS2 fetches a staged batch from the presigned URL CS1 sent, and accepts it only if its
 * SHA-256 is the one CS1 sent alongside.
 *
 * Which URLs CS2 may fetch (defence in depth: CS2 should never be a proxy to arbitrary hosts):
 * https only, to hosts on the allow-list (by default S3's: *.amazonaws.com, *.amazonaws.com.cn);
 * plain http only to loopback (127.0.0.1, ::1, localhost) and only when the local cloud turns
 * it on (BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH=true; loopback https is allowed then too). No
 * user:password in URLs, no redirects, a size cap enforced while reading, and a timeout.
 */
import { InvalidInputError, MalformedDataError, PayloadTooLargeError, UnavailableError } from '../../core/errors';
import { sha256Hex } from '../../twoserver/transport/decrypt-event';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

export interface BatchFetchPolicy {
  /** Allowed hosts: entries starting with "." match any subdomain, others exactly. */
  readonly hostSuffixes: readonly string[];
  /** Allow loopback hosts (http or https): the local cloud only. */
  readonly allowLoopback: boolean;
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

function hostAllowed(host: string, suffixes: readonly string[]): boolean {
  return suffixes.some((entry) => (entry.startsWith('.') ? host.endsWith(entry) && host.length > entry.length : host === entry));
}

/** Throws InvalidInputError unless CS2 may fetch this URL. */
export function assertFetchAllowed(url: URL, policy: BatchFetchPolicy): void {
  if (url.username !== '' || url.password !== '') throw new InvalidInputError('batchUrl must not carry a user name or password');
  const host = url.hostname.toLowerCase();
  const loopback = LOOPBACK_HOSTS.has(host);
  if (loopback) {
    if (!policy.allowLoopback || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new InvalidInputError('batchUrl points to a loopback address, which CS2 fetches only in the local cloud (BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH=true)');
    }
    return;
  }
  if (url.protocol !== 'https:') throw new InvalidInputError('batchUrl must be an https URL');
  if (!hostAllowed(host, policy.hostSuffixes)) {
    throw new InvalidInputError(`batchUrl host "${host.slice(0, 80)}" is not one CS2 fetches from (allowed: ${policy.hostSuffixes.join(', ')})`);
  }
}

/** Reads a response body, refusing more than maxBytes (whatever Content-Length claimed). */
async function readLimited(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new PayloadTooLargeError(`the staged batch is ${declared} bytes; CS2 accepts at most ${maxBytes}`);
  }
  if (response.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new PayloadTooLargeError(`the staged batch exceeds ${maxBytes} bytes, the most CS2 accepts`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** GETs the batch and checks its digest; never echoes the URL (it carries a signature). */
export async function fetchStagedBatch(url: URL, sha256: string, policy: BatchFetchPolicy, fetchImpl: typeof fetch = fetch): Promise<Uint8Array> {
  assertFetchAllowed(url, policy);
  let response: Response;
  try {
    response = await fetchImpl(url, { method: 'GET', redirect: 'error', signal: AbortSignal.timeout(policy.timeoutMs) });
  } catch (error) {
    const name = error instanceof Error ? error.name : 'error';
    if (name === 'TimeoutError' || name === 'AbortError') throw new UnavailableError(`fetching the staged batch took longer than ${policy.timeoutMs} ms`);
    throw new UnavailableError(`could not fetch the staged batch from ${url.host} (${name})`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 500) throw new UnavailableError(`the staged batch could not be fetched: storage answered HTTP ${response.status}`);
    throw new InvalidInputError(`the staged batch could not be fetched: HTTP ${response.status} (the URL expired, or is not a presigned GET of the batch)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readLimited(response, policy.maxBytes);
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    const name = error instanceof Error ? error.name : 'error';
    throw new UnavailableError(
      name === 'TimeoutError' || name === 'AbortError'
        ? `fetching the staged batch took longer than ${policy.timeoutMs} ms`
        : `the staged batch download from ${url.host} broke off (${name})`,
    );
  }
  if (bytes.length === 0) throw new MalformedDataError('staged batch', 'it is empty');
  if (sha256Hex(bytes) !== sha256) throw new MalformedDataError('staged batch', 'its SHA-256 does not match batchSha256: refusing to decrypt it');
  return bytes;
}
