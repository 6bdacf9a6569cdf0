/**
 * S3 on loopback through s3rver (objects as files in a directory, so they persist across
 * restarts). Path-style addressing only; it accepts the credentials S3RVER / S3RVER, serves
 * byte ranges and presigned URLs (it does not verify presigned signatures, and ignores
 * conditional If-None-Match).
 */
import S3rver from 's3rver';
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
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalService> {
  const host = options.host ?? '127.0.0.1';
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const { port } = await server.run();
  return { endpoint: `http://${host}:${port}`, port, stop: () => server.close() };
}
