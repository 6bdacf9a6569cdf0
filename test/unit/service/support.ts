/**
 * Service tests on real emulators (dynalite + s3rver): the stores, an object store that
 * records (and can hold back) every call, a catalog that can fail on cue, and publishing an
 * encrypted tree the way a client does (create, PUT the parts to the presigned URLs, publish).
 */
import { DynamoIndexCatalog } from '../../../lib/storage/dynamo-index-catalog';
import { DynamoPublishJobStore } from '../../../lib/storage/dynamo-publish-jobs';
import { DynamoOwnerRegistry } from '../../../lib/storage/dynamo-owner-registry';
import { DynamoUserRegistry } from '../../../lib/storage/dynamo-user-registry';
import { S3ObjectStore } from '../../../lib/storage/s3-object-store';
import type {
  CurrentIndexVersion,
  IndexCatalog,
  IndexVersion,
  IndexVersionSummary,
  ObjectHead,
  ObjectStore,
  PresignedRequest,
  PresignGetOptions,
  PresignPutOptions,
  StageVersionInput,
} from '../../../lib/storage/types';
import type { EncryptedIndexTree } from '../../../lib/sei/index-tree/types';
import { INDEX_KIND_SUMMARIZERS } from '../../../lib/service/index-kinds/index-kind-summarizers';
import { INDEX_KIND_VALIDATORS } from '../../../lib/service/index-kinds/index-kind-validators';
import { createIndexKinds } from '../../../lib/service/index-kinds/index-kinds';
import type { IndexKindRegistry } from '../../../lib/service/index-kinds/index-kind-registry';
import { IndexVersionService } from '../../../lib/service/versions/index-versions';
import { createCs1Services } from '../../../lib/service/cs1-services';
import { createAccountServices } from '../../../lib/service/accounts/account-services';
import type { AccountServices } from '../../../lib/service/accounts/account-services';
import type { Cs1ServiceOptions, Cs1Services } from '../../../lib/service/cs1-services';
import { seiUploadParts } from '../../../lib/service/sei/sei-upload';
import type { Cs1Stores, IndexPublishPolicy } from '../../../lib/service/types';
import { DynamoQueryBudgetStore } from '../../../lib/storage/dynamo-query-budget';
import type { LocalAws } from '../../support/local-aws';
import { toIndexName, toOwnerId, toVersionId } from '../../support/ids';

export type ObjectCall =
  | { op: 'put'; key: string; size: number }
  | { op: 'get'; key: string }
  | { op: 'getRange'; key: string; start: number; end: number }
  | { op: 'head'; key: string }
  | { op: 'delete'; key: string };

/** Passes everything to the real store and records it; `beforeGetRange` can hold reads back. */
export class RecordingObjectStore implements ObjectStore {
  readonly calls: ObjectCall[] = [];
  beforeGetRange?: (key: string) => Promise<void>;

  constructor(private readonly inner: ObjectStore) {}

  reset(): void {
    this.calls.length = 0;
  }

  of<T extends ObjectCall['op']>(op: T): Extract<ObjectCall, { op: T }>[] {
    return this.calls.filter((call) => call.op === op) as Extract<ObjectCall, { op: T }>[];
  }

  async put(key: string, bytes: Uint8Array, contentType?: string): Promise<void> {
    this.calls.push({ op: 'put', key, size: bytes.length });
    return this.inner.put(key, bytes, contentType);
  }

  async get(key: string): Promise<Uint8Array> {
    this.calls.push({ op: 'get', key });
    return this.inner.get(key);
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    this.calls.push({ op: 'getRange', key, start, end });
    await this.beforeGetRange?.(key);
    return this.inner.getRange(key, start, end);
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    this.calls.push({ op: 'head', key });
    return this.inner.head(key);
  }

  async delete(key: string): Promise<void> {
    this.calls.push({ op: 'delete', key });
    return this.inner.delete(key);
  }

  presignPut(key: string, options: PresignPutOptions): Promise<PresignedRequest> {
    return this.inner.presignPut(key, options);
  }

  presignGet(key: string, options: PresignGetOptions): Promise<PresignedRequest> {
    return this.inner.presignGet(key, options);
  }
}

/** A catalog whose publish can be made to fail (e.g. the process dying before the flip). */
export class FaultyCatalog implements IndexCatalog {
  failPublish?: () => Error | undefined;
  /** Runs between reading and flipping in publish (to make two publishes overlap). */
  beforePublish?: () => Promise<void>;

  constructor(readonly inner: IndexCatalog) {}

  stageVersion(ownerId: string, indexName: string, version: string, input: StageVersionInput): Promise<IndexVersionSummary> {
    return this.inner.stageVersion(toOwnerId(ownerId), toIndexName(indexName), toVersionId(version), input);
  }

  getVersion(ownerId: string, indexName: string, version: string): Promise<IndexVersion | undefined> {
    return this.inner.getVersion(toOwnerId(ownerId), toIndexName(indexName), toVersionId(version));
  }

  getCurrent(ownerId: string, indexName: string): Promise<CurrentIndexVersion | undefined> {
    return this.inner.getCurrent(toOwnerId(ownerId), toIndexName(indexName));
  }

  async publish(ownerId: string, indexName: string, version: string, expectedCurrent: string | undefined): Promise<CurrentIndexVersion> {
    const failure = this.failPublish?.();
    if (failure !== undefined) throw failure;
    await this.beforePublish?.();
    return this.inner.publish(toOwnerId(ownerId), toIndexName(indexName), toVersionId(version), expectedCurrent === undefined ? undefined : toVersionId(expectedCurrent));
  }

  listVersions(ownerId: string, indexName: string): Promise<IndexVersionSummary[]> {
    return this.inner.listVersions(toOwnerId(ownerId), toIndexName(indexName));
  }

  deleteVersion(ownerId: string, indexName: string, version: string): Promise<void> {
    return this.inner.deleteVersion(toOwnerId(ownerId), toIndexName(indexName), toVersionId(version));
  }
}

/** The services of one process, and the index-version service (kept apart in production). */
export type TestServices = Cs1Services & AccountServices & { readonly versions: IndexVersionService };

export interface ServiceWorld {
  readonly objects: RecordingObjectStore;
  readonly catalog: FaultyCatalog;
  readonly stores: Cs1Stores;
  /** Identification budgets on the same table. */
  readonly budgets: DynamoQueryBudgetStore;
  readonly services: TestServices;
}

/** Every role of every index kind (one process that creates, publishes and describes). */
export const ALL_ROLES = { validators: INDEX_KIND_VALIDATORS, summarizers: INDEX_KIND_SUMMARIZERS };

/** Fresh services (and so a fresh cache) on the emulators, with recording wrappers. */
export function serviceWorld(aws: LocalAws, options: Cs1ServiceOptions & { kinds?: IndexKindRegistry; publishPolicy?: IndexPublishPolicy } = {}): ServiceWorld {
  const table = { client: aws.documentClient, tableName: aws.tableName };
  const objects = new RecordingObjectStore(new S3ObjectStore({ client: aws.s3, bucket: aws.bucketName }));
  const catalog = new FaultyCatalog(new DynamoIndexCatalog(table));
  const stores: Cs1Stores = {
    objects,
    indexes: catalog,
    owners: new DynamoOwnerRegistry(table),
    users: new DynamoUserRegistry(table),
    publishJobs: new DynamoPublishJobStore(table),
  };
  const services = createCs1Services(stores, { indexCacheBytes: 64 * 1024 * 1024, ...options });
  return {
    objects,
    catalog,
    stores,
    budgets: new DynamoQueryBudgetStore(table),
    services: { ...services, ...createAccountServices(stores, options.now), versions: new IndexVersionService(stores, options.kinds ?? createIndexKinds(ALL_ROLES), undefined, services.pointers, options.publishPolicy) },
  };
}

/** PUTs bytes to a presigned URL like a client would (no AWS credentials). */
export async function putPresigned(upload: { url: string; headers: Readonly<Record<string, string>> }, bytes: Uint8Array): Promise<void> {
  const headers = { ...upload.headers };
  delete headers['content-length'];
  const response = await fetch(upload.url, { method: 'PUT', headers, body: bytes as Uint8Array<ArrayBuffer> });
  if (!response.ok) throw new Error(`presigned PUT failed: ${response.status} ${await response.text()}`);
}

/** Creates a version of `parts`, uploads them through the presigned URLs; returns the version. */
export async function uploadVersion(
  services: TestServices,
  ownerId: string,
  indexName: string,
  parts: Record<string, Uint8Array>,
  kind = 'sei',
): Promise<string> {
  const sizes = Object.fromEntries(Object.entries(parts).map(([name, bytes]) => [name, bytes.length]));
  const created = await services.versions.createVersion(toOwnerId(ownerId), toIndexName(indexName), { kind, parts: sizes });
  for (const [name, bytes] of Object.entries(parts)) await putPresigned(created.uploads[name], bytes);
  return created.version;
}

/** Uploads and publishes an encrypted tree; returns the version. */
export async function publishTree(
  services: TestServices,
  ownerId: string,
  indexName: string,
  tree: EncryptedIndexTree,
  expectedCurrent: string | null = null,
): Promise<string> {
  const version = await uploadVersion(services, ownerId, indexName, seiUploadParts(tree).parts);
  await services.versions.publishVersion(toOwnerId(ownerId), toIndexName(indexName), toVersionId(version), expectedCurrent === null ? null : toVersionId(expectedCurrent));
  return version;
}

/** A deep copy of a tree (update tests change one copy in memory and the service the other). */
export function cloneTree(tree: EncryptedIndexTree): EncryptedIndexTree {
  return {
    ...tree,
    leaves: tree.leaves.map((leaf) => ({ vectors: leaf.vectors.slice(), ids: [...leaf.ids], count: leaf.count })),
    locations: new Map(tree.locations),
    updates: { ...tree.updates },
  };
}

/** Owner ids of the right shape (fingerprints are 52 lowercase base32 characters). */
export const OWNER_A = 'a'.repeat(52);
export const OWNER_B = 'b'.repeat(52);
