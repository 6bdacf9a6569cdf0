/**
 * CS1 -> CS2 over HTTP, for the local cloud: POST <BLINDSIGHT_CS2_URL>/v1/decrypt with
 * `Authorization: Bearer <BLINDSIGHT_CS2_CREDENTIAL>` (the credential only the local CS1 holds;
 * it stands in for IAM). The body is the direct-invoke event; the gateway answers as Lambda
 * Invoke does: 200 with the result, or an error payload {errorType, errorMessage, errorCode?}
 * with an HTTP status naming the failure class.
 */
import { InvalidInputError } from '../core/errors';
import type { Cs2DecryptEvent } from '../twoserver/transport/decrypt-event';
import { RemoteCs2Transport } from '../twoserver/transport/remote-transport';
import type { Cs2Reply, RemoteCs2TransportOptions } from '../twoserver/transport/remote-transport';

export const CS2_DECRYPT_PATH = '/v1/decrypt';

/** Socket-level failures of Node's fetch (undici), found on the error's cause. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

export interface HttpCs2TransportOptions extends RemoteCs2TransportOptions {
  /** CS2's base URL, e.g. http://127.0.0.1:4520 (the decrypt path is appended). */
  readonly url: string;
  /** The credential CS2 trusts. */
  readonly credential: string;
  /** Injected fetch (tests); default the global fetch. */
  readonly fetch?: typeof fetch;
}

function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The decrypt endpoint of a CS2 base URL (InvalidInputError for anything but http(s)). */
export function cs2DecryptUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new InvalidInputError('the CS2 URL is not a valid absolute URL (set BLINDSIGHT_CS2_URL, e.g. http://127.0.0.1:4520)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError('the CS2 URL must use http or https');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${CS2_DECRYPT_PATH}`;
  url.search = '';
  url.hash = '';
  return url;
}

export class HttpCs2Transport extends RemoteCs2Transport {
  protected readonly channel = 'HTTP';
  private readonly endpoint: URL;
  private readonly credential: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: HttpCs2TransportOptions) {
    super(options);
    this.endpoint = cs2DecryptUrl(options.url);
    if (typeof options.credential !== 'string' || !/^[\x21-\x7e]{16,512}$/.test(options.credential)) {
      throw new InvalidInputError('the CS2 credential must be 16-512 printable characters (set BLINDSIGHT_CS2_CREDENTIAL)');
    }
    this.credential = options.credential;
    this.fetchImpl = options.fetch ?? fetch;
  }

  protected async send(event: Cs2DecryptEvent, signal: AbortSignal): Promise<Cs2Reply> {
    const response = await this.fetchImpl(this.endpoint, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.credential}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(event),
      signal,
      redirect: 'error',
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok && response.headers.get('x-amz-function-error') === null) return { kind: 'result', value: body };
    const payload = (typeof body === 'object' && body !== null ? body : {}) as { errorType?: unknown; errorMessage?: unknown; errorCode?: unknown; message?: unknown };
    return {
      kind: 'function-error',
      status: response.status,
      errorType: typeof payload.errorType === 'string' ? payload.errorType : `HTTP ${response.status}`,
      errorMessage: typeof payload.errorMessage === 'string' ? payload.errorMessage : '',
      errorCode: typeof payload.errorCode === 'string' ? payload.errorCode : undefined,
    };
  }

  protected isConnectionError(error: unknown): boolean {
    const code = codeOf(error);
    return code !== undefined && CONNECTION_ERROR_CODES.has(code);
  }

  protected describeFailure(error: unknown): string {
    const code = codeOf(error);
    if (code === 'ECONNREFUSED') return `connection refused at ${this.endpoint.host} (is CS2 running?)`;
    return `the HTTP request to ${this.endpoint.host} failed (${code ?? (error instanceof Error ? error.name : 'error')})`;
  }
}
