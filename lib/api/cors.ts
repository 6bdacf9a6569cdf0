/**
 * CORS of CS1's API, the same in AWS and locally: which request headers and methods a page may
 * use, what it may read back, and how long a browser may cache a preflight. The allowed origins
 * are configuration (none by default in AWS; the local page origins in the local cloud).
 */
import { SETTINGS } from '../config/settings';

export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type'] as const;
export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'] as const;
/** Headers a page may read from an answer besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = ['Retry-After'] as const;
export const CORS_MAX_AGE_SECONDS = 600;

/** The environment variable that lists a function's allowed origins (comma-separated). */
export const CORS_ORIGINS_ENV = SETTINGS.corsOrigins.name;

/** `https://a.example, https://b.example` -> the origins; empty or unset: none. */
export function parseCorsOrigins(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
}

/**
 * Whether `origin` is allowed: `*` allows any; an entry without `*` must match exactly; in an
 * entry with `*`, each `*` stands for characters other than `.` (`http://localhost:*` allows any
 * port). The same rule as the handlers' CORS middleware (@middy/http-cors).
 */
export function isAllowedOrigin(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined || origin === '') return false;
  return allowed.some((entry) => {
    if (entry === '*' || entry === origin) return true;
    if (!entry.includes('*')) return false;
    return new RegExp(`^${entry.replaceAll('.', '\\.').replaceAll('*', '[^.]*')}$`).test(origin);
  });
}

/**
 * CORS of the images bucket, where pages of the allowed origins download (and upload) encrypted
 * images with presigned URLs: the same rule on S3 (cdk/cs1-stack.ts) and on the local s3rver.
 */
export const STORAGE_CORS_RULE = {
  allowedMethods: ['GET', 'HEAD', 'PUT'],
  allowedHeaders: ['*'],
  exposedHeaders: ['ETag', 'Content-Length', 'Content-Type'],
  maxAgeSeconds: 3000,
} as const;
