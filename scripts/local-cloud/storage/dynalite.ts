/**
 * DynamoDB on loopback through dynalite (LevelDB-backed when given a directory, else in
 * memory). It speaks the real DynamoDB wire protocol, so the real SDK clients run against it;
 * it has no TransactWriteItems, which the storage code never uses.
 */
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';

export interface LocalDynamoOptions {
  /** LevelDB directory for data that persists across restarts; in memory when omitted. */
  readonly directory?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

export interface LocalService {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalService> {
  const host = options.host ?? '127.0.0.1';
  // Tables are ACTIVE at once: nothing here waits on the emulator's simulated delays.
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
