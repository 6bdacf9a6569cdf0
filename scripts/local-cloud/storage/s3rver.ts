/**
 * S3 on loopback through s3rver (objects as files in a directory, so they persist across
 * restarts). Path-style addressing only; it accepts the credentials S3RVER / S3RVER, serves
 * byte ranges and presigned URLs (it does not verify presigned signatures, and ignores
 * conditional If-None-Match).
 */
import S3rver from 's3rver';
import { STORAGE_CORS_RULE } from '../../../lib/api/cors';
import type { LocalService } from './dynalite';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalS3Options {
  /** Where objects are stored. */
  readonly directory: string;
  /** Buckets created at start (existing ones are kept). */
  readonly buckets?: readonly string[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Browser origins allowed to use presigned URLs on the buckets (S3's CORS; `*` wildcards as in S3). */
  readonly corsOrigins?: readonly string[];
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The bucket CORS configuration S3 would hold for these origins (STORAGE_CORS_RULE). */
export function storageCorsXml(origins: readonly string[]): string {
  const tags = (name: string, values: readonly (string | number)[]) => values.map((v) => `<${name}>${xmlEscape(String(v))}</${name}>`).join('');
  return (
    '<CORSConfiguration><CORSRule>' +
    tags('AllowedOrigin', origins) +
    tags('AllowedMethod', STORAGE_CORS_RULE.allowedMethods) +
    tags('AllowedHeader', STORAGE_CORS_RULE.allowedHeaders) +
    tags('ExposeHeader', STORAGE_CORS_RULE.exposedHeaders) +
    tags('MaxAgeSeconds', [STORAGE_CORS_RULE.maxAgeSeconds]) +
    '</CORSRule></CORSConfiguration>'
  );
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalService> {
  const host = options.host ?? '127.0.0.1';
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name, configs: options.corsOrigins?.length ? [storageCorsXml(options.corsOrigins)] : [] })),
  });
  const { port } = await server.run();
  return { endpoint: `http://${host}:${port}`, port, stop: () => server.close() };
}
