/**
 * CS1's registries on its DynamoDB table, built once from the environment: all a function
 * needs that stores nothing in S3 (the authorizer, the owner and user routes), so it loads no
 * S3 client. factory.ts adds the object store for the others.
 */
import { readStorageConfig } from './config';
import { createDocumentClient, createDynamoReadClient } from './dynamo-clients';
import { DynamoIndexCatalog } from './dynamo-index-catalog';
import { DynamoOwnerRegistry } from './dynamo-owner-registry';
import { DynamoQueryBudgetStore } from './dynamo-query-budget';
import { DynamoPublishJobStore } from './dynamo-publish-jobs';
import { DynamoUserRegistry } from './dynamo-user-registry';
import type { IndexCatalog, OwnerRegistry, PublishJobStore, QueryBudgetStore, UserRegistry } from './types';

export interface Cs1Tables {
  readonly owners: OwnerRegistry;
  readonly users: UserRegistry;
  readonly indexes: IndexCatalog;
  /** Per-user identification counters. */
  readonly budgets: QueryBudgetStore;
  readonly publishJobs: PublishJobStore;
}

let tables: Cs1Tables | undefined;

/** CS1's registries on the configured table (one instance per process). */
export function createCs1Tables(): Cs1Tables {
  if (tables === undefined) {
    const config = readStorageConfig();
    const table = { client: createDocumentClient(), readClient: createDynamoReadClient(), tableName: config.tableName };
    tables = {
      owners: new DynamoOwnerRegistry(table),
      users: new DynamoUserRegistry(table),
      indexes: new DynamoIndexCatalog(table),
      budgets: new DynamoQueryBudgetStore(table),
      publishJobs: new DynamoPublishJobStore(table),
    };
  }
  return tables;
}

/** Forgets the registries built so far (tests reach it through factory.ts's resetStorageFactories). */
export function resetCs1Tables(): void {
  tables = undefined;
}
