/**
 * The web page's security headers, one contract for CloudFront (cdk/web-site.ts) and the local
 * cloud's page server (scripts/local-cloud/web-server.ts).
 *
 * The content security policy allows scripts from the page's own origin only, plus
 * 'wasm-unsafe-eval' (compiling TensorFlow.js's WebAssembly; it does not allow JavaScript eval);
 * network requests to the page's origin (model, WASM), CS1's API and the storage that serves
 * presigned transfers, nothing else; images from the page and from blob: URLs (decrypted
 * results); no frames, plugins, base-URI changes or form posts elsewhere.
 */

export interface PagePolicyOrigins {
  /** CS1's API origin(s), e.g. https://abc.execute-api.eu-west-1.amazonaws.com. */
  readonly api: readonly string[];
  /** Origins of presigned image downloads (the images bucket). */
  readonly storage: readonly string[];
}

/** An origin: scheme and host (and port), no path. Throws on anything else so a policy cannot be widened by mistake. */
export function originOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`"${url}" is not an http(s) URL`);
  return parsed.origin;
}

export function contentSecurityPolicy(origins: PagePolicyOrigins): string {
  const connect = ["'self'", ...new Set([...origins.api, ...origins.storage])];
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    `connect-src ${connect.join(' ')}`,
    "img-src 'self' blob: data:",
    "style-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** Headers every response of the page carries besides the CSP (lower-case names). */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/** Strict-Transport-Security for HTTPS deployments (two years, subdomains). */
export const HSTS_SECONDS = 63_072_000;

export function pageHeaders(origins: PagePolicyOrigins): Record<string, string> {
  return { ...PAGE_HEADERS, 'content-security-policy': contentSecurityPolicy(origins) };
}
