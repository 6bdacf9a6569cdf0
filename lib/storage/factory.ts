/**
 * The storage a handler process uses, built once from the environment (see config.ts and
 * README-layout.md): CS1's object store and registries, and CS2's secret store.
 *
 * CS2's secret store: BLINDSIGHT_SECRET_DIR set -> FileSecretStore on that directory (local
 * cloud); otherwise Secrets Manager with BLINDSIGHT_SECRET_PREFIX (default "blindsight/cs2/"),
 * BLINDSIGHT_SECRET_KMS_KEY_ID for newly created secrets, and the default 300 s cache.
 */
import { createDocumentClient, createDynamoReadClient, createS3Client, createSecretsManagerClient, readStorageConfig } from './config';
import { DynamoIndexCatalog } from './dynamo-index-catalog';
import { DynamoOwnerRegistry } from './dynamo-owner-registry';
import { DynamoQueryBudgetStore } from './dynamo-query-budget';
import { DynamoPublishJobStore } from './dynamo-publish-jobs';
import { DynamoUserRegistry } from './dynamo-user-registry';
import { FileSecretStore } from './file-secret-store';
import { S3ObjectStore } from './s3-object-store';
import { SecretsManagerStore } from './secrets-manager-store';
import type { IndexCatalog, ObjectStore, OwnerRegistry, PublishJobStore, QueryBudgetStore, SecretStore, UserRegistry } from './types';

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
let secrets: SecretStore | undefined;

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

/** CS2's secret store (one instance per process, so its read cache survives warm invocations). */
export function createSecretStore(): SecretStore {
  if (secrets === undefined) {
    const directory = process.env.BLINDSIGHT_SECRET_DIR?.trim();
    secrets = directory
      ? new FileSecretStore(directory)
      : new SecretsManagerStore({
          client: createSecretsManagerClient(),
          prefix: process.env.BLINDSIGHT_SECRET_PREFIX?.trim() || undefined,
          kmsKeyId: process.env.BLINDSIGHT_SECRET_KMS_KEY_ID?.trim() || undefined,
        });
  }
  return secrets;
}

/** Forgets the stores built so far (tests that change the environment). */
export function resetStorageFactories(): void {
  cs1 = undefined;
  secrets = undefined;
}
