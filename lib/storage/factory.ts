/**
 * The storage a CS1 handler process uses, built once from the environment (see config.ts and
 * README-layout.md): the object store and the registries. (CS2's secret store: lib/service/cs2/
 * config.ts.)
 */
import { createDocumentClient, createDynamoReadClient, createS3Client, readStorageConfig } from './config';
import { DynamoIndexCatalog } from './dynamo-index-catalog';
import { DynamoOwnerRegistry } from './dynamo-owner-registry';
import { DynamoQueryBudgetStore } from './dynamo-query-budget';
import { DynamoPublishJobStore } from './dynamo-publish-jobs';
import { DynamoUserRegistry } from './dynamo-user-registry';
import { S3ObjectStore } from './s3-object-store';
import type { IndexCatalog, ObjectStore, OwnerRegistry, PublishJobStore, QueryBudgetStore, UserRegistry } from './types';

export interface Cs1Storage {
  readonly objects: ObjectStore;
  readonly owners: OwnerRegistry;
  readonly users: UserRegistry;
  readonly indexes: IndexCatalog;
  /** Per-user identification counters. */
  readonly budgets: QueryBudgetStore;
  readonly publishJobs: PublishJobStore;
}

let cs1: Cs1Storage | undefined;

/** CS1's stores on the configured table and bucket (one instance per process). */
export function createCs1Storage(): Cs1Storage {
  if (cs1 === undefined) {
    const config = readStorageConfig();
    const table = { client: createDocumentClient(), readClient: createDynamoReadClient(), tableName: config.tableName };
    cs1 = {
      objects: new S3ObjectStore({ client: createS3Client(), bucket: config.bucketName }),
      owners: new DynamoOwnerRegistry(table),
      users: new DynamoUserRegistry(table),
      indexes: new DynamoIndexCatalog(table),
      budgets: new DynamoQueryBudgetStore(table),
      publishJobs: new DynamoPublishJobStore(table),
    };
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
}
