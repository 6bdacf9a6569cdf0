/**
 * The storage a CS1 handler process uses, built once from the environment (see config.ts and
 * README-layout.md): the object store and the registries (cs1-tables.ts, which functions that
 * need no S3 use on their own). (CS2's secret store: lib/service/cs2/config.ts.)
 */
import { readStorageConfig } from './config';
import { createCs1Tables, resetCs1Tables } from './cs1-tables';
import type { Cs1Tables } from './cs1-tables';
import { createS3Client } from './s3-client';
import { S3ObjectStore } from './s3-object-store';
import type { ObjectStore } from './types';

export interface Cs1Storage extends Cs1Tables {
  readonly objects: ObjectStore;
}

let cs1: Cs1Storage | undefined;

/** CS1's stores on the configured table and bucket (one instance per process). */
export function createCs1Storage(): Cs1Storage {
  if (cs1 === undefined) {
    const config = readStorageConfig();
    cs1 = { objects: new S3ObjectStore({ client: createS3Client(), bucket: config.bucketName }), ...createCs1Tables() };
  }
  return cs1;
}

/**
 * Forgets the stores built so far (tests that change the environment).
 * @internal Only tests call it: a function's process keeps these for its lifetime, and a test
 * suite that sets other variables between cases must drop them. No other way reaches the module's
 * cache.
 */
export function resetStorageFactories(): void {
  cs1 = undefined;
  resetCs1Tables();
}
