/**
 * IndexCatalog on DynamoDB (item layout in README-layout.md). The protocol, without any
 * transaction:
 *
 * Staging a version writes (1) the version item with status "staging" and the manifest of its
 * blobs (names, sizes, chunk counts, SHA-256), conditional on the version not existing, then
 * (2) the blob chunks, then (3) LAST flips the item to "complete". A crash anywhere before (3)
 * leaves a "staging" version that publish refuses, and the previous version keeps serving.
 *
 * Publishing reads the version (must be "complete") and the pointer, then does ONE conditional
 * put of the pointer: it succeeds only if the pointer is still the one read (absent, or naming
 * `expectedCurrent` with the same publish token), so of two racing publishes exactly one wins.
 * Readers resolve the pointer, then read an immutable version: they see the old or the new
 * version, never a mix.
 *
 * Deleting marks the version "deleting" before checking the pointer again, and publish checks
 * the version again after moving the pointer (and moves it back if the version started to be
 * deleted), so a concurrent delete and publish of the same version cannot leave the pointer
 * naming deleted data.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createHash, randomBytes } from 'node:crypto';
import { ConflictError, InvalidInputError, MalformedDataError, NotFoundError, PayloadTooLargeError } from '../core/errors';
import { mapLimited } from '../core/concurrency';
import { batchWriteAll } from './dynamo-batch';
import type { WriteRequest } from './dynamo-batch';
import { isConditionalCheckFailed } from './dynamo-errors';
import { chunkKey, currentPointerKey, indexPk, MAX_CHUNKS_PER_BLOB, VERSION_SK_PREFIX, versionKey } from './dynamo-keys';
import type { DynamoTableOptions } from './dynamo-owner-registry';
import { decodeMetadata, encodeMetadata } from './json-metadata';
import type {
  CurrentIndexVersion,
  IndexBlobInfo,
  IndexCatalog,
  IndexKind,
  IndexVersion,
  IndexVersionStatus,
  IndexVersionSummary,
  StageVersionInput,
} from './types';
import { parseBlobName, parseIndexName, parseOwnerId, parseStoredId, parseVersionId } from '../core/ids';
import type { IndexName, OwnerId, VersionId } from '../core/ids';

/** Chunk payload per item: well under DynamoDB's 400 KB item limit, keys and names included. */
export const DEFAULT_CHUNK_BYTES = 300 * 1024;
const MAX_CHUNK_BYTES = 350 * 1024;
/** Per blob and per version: beyond this, keep the data in S3 and a key in the metadata. */
export const MAX_BLOB_BYTES = 32 * 1024 * 1024;
export const MAX_VERSION_BLOB_BYTES = 64 * 1024 * 1024;
export const MAX_BLOBS_PER_VERSION = 64;
const READ_CONCURRENCY = 8;

export interface DynamoIndexCatalogOptions extends DynamoTableOptions {
  /** Clock for timestamps (tests). Default: the system clock. */
  readonly now?: () => Date;
  /** Bytes per chunk item; default {@link DEFAULT_CHUNK_BYTES}. */
  readonly chunkBytes?: number;
}

const KINDS: readonly IndexKind[] = ['sei', 'two-server', 'sealed'];
const STATUSES: readonly IndexVersionStatus[] = ['staging', 'complete', 'deleting'];

interface VersionItem extends IndexVersionSummary {
  readonly metadataJson: unknown;
}

interface PointerItem extends CurrentIndexVersion {
  readonly publishToken: string;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseBlobs(value: unknown, what: string): IndexBlobInfo[] {
  if (!Array.isArray(value)) throw new MalformedDataError(what, 'the blob manifest is missing');
  return value.map((entry: Record<string, unknown>) => {
    const { name, size, chunkCount, sha256 } = entry ?? {};
    if (typeof name !== 'string' || typeof size !== 'number' || typeof chunkCount !== 'number' || typeof sha256 !== 'string') {
      throw new MalformedDataError(what, 'a blob manifest entry is incomplete');
    }
    return { name, size, chunkCount, sha256 };
  });
}

function parseVersionItem(ownerId: OwnerId, indexName: IndexName, item: Record<string, unknown>): VersionItem {
  const what = `index ${indexName} version item`;
  const { version, kind, status, createdAt, completedAt } = item;
  if (typeof version !== 'string') throw new MalformedDataError(what, 'version is missing');
  if (!KINDS.includes(kind as IndexKind)) throw new MalformedDataError(what, 'kind is not "sei" or "two-server"');
  if (!STATUSES.includes(status as IndexVersionStatus)) throw new MalformedDataError(what, 'status is invalid');
  if (typeof createdAt !== 'string') throw new MalformedDataError(what, 'createdAt is missing');
  return {
    ownerId,
    indexName,
    version: parseStoredId(parseVersionId, version, what),
    kind: kind as IndexKind,
    status: status as IndexVersionStatus,
    createdAt,
    completedAt: typeof completedAt === 'string' ? completedAt : undefined,
    blobs: parseBlobs(item.blobs, what),
    metadataJson: item.metadataJson,
  };
}

function parsePointer(ownerId: OwnerId, indexName: IndexName, item: Record<string, unknown>): PointerItem {
  const what = `index ${indexName} current-version pointer`;
  const { version, kind, publishedAt, previousVersion, publishToken } = item;
  if (typeof version !== 'string' || typeof publishedAt !== 'string' || typeof publishToken !== 'string') {
    throw new MalformedDataError(what, 'version, publishedAt or publishToken is missing');
  }
  if (!KINDS.includes(kind as IndexKind)) throw new MalformedDataError(what, 'kind is invalid');
  return {
    ownerId,
    indexName,
    version: parseStoredId(parseVersionId, version, what),
    kind: kind as IndexKind,
    publishedAt,
    previousVersion: typeof previousVersion === 'string' ? parseStoredId(parseVersionId, previousVersion, what) : undefined,
    publishToken,
  };
}

function publicPointer(pointer: PointerItem): CurrentIndexVersion {
  const { publishToken: _token, ...rest } = pointer;
  return rest;
}

function summaryOf(item: VersionItem): IndexVersionSummary {
  const { metadataJson: _metadata, ...summary } = item;
  return summary;
}

function staleConflict(indexName: IndexName, version: VersionId, actual: string | undefined, expected: string | undefined): ConflictError {
  if (actual === undefined) {
    return new ConflictError(
      `index "${indexName}" has no published version, but expectedCurrent was "${expected}": publish "${version}" without expectedCurrent`,
    );
  }
  if (expected === undefined) {
    return new ConflictError(
      `index "${indexName}" already serves version "${actual}": to replace it, publish "${version}" with expectedCurrent "${actual}"`,
    );
  }
  if (actual === expected) {
    return new ConflictError(`index "${indexName}" was re-published concurrently: re-read the current version and publish again`);
  }
  return new ConflictError(
    `index "${indexName}" now serves version "${actual}", not the expected "${expected}" (another publish won): ` +
      `re-read the current version and publish again with expectedCurrent "${actual}" if "${version}" should still replace it`,
  );
}

export class DynamoIndexCatalog implements IndexCatalog {
  private readonly now: () => Date;
  private readonly chunkBytes: number;

  constructor(private readonly options: DynamoIndexCatalogOptions) {
    this.now = options.now ?? (() => new Date());
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isInteger(this.chunkBytes) || this.chunkBytes < 1 || this.chunkBytes > MAX_CHUNK_BYTES) {
      throw new InvalidInputError(`chunkBytes must be an integer in [1, ${MAX_CHUNK_BYTES}]`);
    }
  }

  private get table(): string {
    return this.options.tableName;
  }

  async stageVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId, input: StageVersionInput): Promise<IndexVersionSummary> {
    const key = versionKey(ownerId, indexName, version);
    if (!KINDS.includes(input.kind)) throw new InvalidInputError('kind must be "sei" or "two-server"');
    const metadataJson = encodeMetadata(input.metadata);
    const blobs = this.checkBlobs(input.blobs ?? {});
    const manifest: IndexBlobInfo[] = blobs.map(([name, bytes]) => ({
      name,
      size: bytes.length,
      chunkCount: Math.ceil(bytes.length / this.chunkBytes),
      sha256: sha256Hex(bytes),
    }));
    const createdAt = this.now().toISOString();
    const summary: IndexVersionSummary = { ownerId, indexName, version, kind: input.kind, status: 'staging', createdAt, blobs: manifest };

    // (1) The version item first, with the full manifest, so a partial staging is always visible.
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...key, type: 'index-version', ...summary, chunkBytes: this.chunkBytes, metadataJson },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new ConflictError(
        `index "${indexName}" already has a version "${version}" (versions are immutable): stage under a new version name, ` +
          'or delete the abandoned version first',
      );
    }

    // (2) The chunks.
    const requests: WriteRequest[] = [];
    for (const [name, bytes] of blobs) {
      for (let chunk = 0; chunk * this.chunkBytes < bytes.length; chunk++) {
        const data = bytes.subarray(chunk * this.chunkBytes, Math.min(bytes.length, (chunk + 1) * this.chunkBytes));
        requests.push({ PutRequest: { Item: { ...chunkKey(ownerId, indexName, version, name, chunk), type: 'blob-chunk', data } } });
      }
    }
    await batchWriteAll(this.options.client, this.table, requests);

    // (3) LAST: the complete marker. Only now can the version be published.
    const completedAt = this.now().toISOString();
    try {
      await this.options.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET #status = :complete, completedAt = :at',
          ConditionExpression: '#status = :staging',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':complete': 'complete', ':staging': 'staging', ':at': completedAt },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new ConflictError(`index "${indexName}" version "${version}" was deleted while it was being staged: stage it again`);
    }
    return { ...summary, status: 'complete', completedAt };
  }

  private checkBlobs(blobs: Readonly<Record<string, Uint8Array>>): Array<[string, Uint8Array]> {
    if (typeof blobs !== 'object' || blobs === null) throw new InvalidInputError('blobs must be an object of named byte arrays');
    const entries = Object.entries(blobs);
    if (entries.length > MAX_BLOBS_PER_VERSION) throw new InvalidInputError(`at most ${MAX_BLOBS_PER_VERSION} blobs per version`);
    let total = 0;
    for (const [name, bytes] of entries) {
      parseBlobName(name);
      if (!(bytes instanceof Uint8Array)) throw new InvalidInputError(`blob "${name}" must be a Uint8Array`);
      if (bytes.length > MAX_BLOB_BYTES) {
        throw new PayloadTooLargeError(`blob "${name}" is ${bytes.length} bytes; at most ${MAX_BLOB_BYTES} (keep bulkier data in S3)`);
      }
      if (Math.ceil(bytes.length / this.chunkBytes) > MAX_CHUNKS_PER_BLOB) throw new PayloadTooLargeError(`blob "${name}" needs too many chunks`);
      total += bytes.length;
    }
    if (total > MAX_VERSION_BLOB_BYTES) {
      throw new PayloadTooLargeError(`blobs total ${total} bytes; at most ${MAX_VERSION_BLOB_BYTES} per version (keep bulkier data in S3)`);
    }
    return entries;
  }

  private async readVersionItem(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<VersionItem | undefined> {
    const response = await this.options.client.send(
      new GetCommand({ TableName: this.table, Key: versionKey(ownerId, indexName, version), ConsistentRead: true }),
    );
    return response.Item === undefined ? undefined : parseVersionItem(ownerId, indexName, response.Item);
  }

  private async readPointer(ownerId: OwnerId, indexName: IndexName): Promise<PointerItem | undefined> {
    const response = await this.options.client.send(
      new GetCommand({ TableName: this.table, Key: currentPointerKey(ownerId, indexName), ConsistentRead: true }),
    );
    return response.Item === undefined ? undefined : parsePointer(ownerId, indexName, response.Item);
  }

  async getVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<IndexVersion | undefined> {
    const item = await this.readVersionItem(ownerId, indexName, version);
    if (item === undefined) return undefined;
    const metadata = decodeMetadata(item.metadataJson, `index ${indexName} version ${version}`);
    return {
      ...summaryOf(item),
      metadata,
      readBlob: (name: string) => this.readBlob(ownerId, indexName, version, item.blobs, name),
    };
  }

  private async readBlob(ownerId: OwnerId, indexName: IndexName, version: VersionId, manifest: readonly IndexBlobInfo[], name: string): Promise<Uint8Array> {
    parseBlobName(name);
    const info = manifest.find((blob) => blob.name === name);
    if (info === undefined) throw new NotFoundError(`index "${indexName}" version "${version}" has no blob "${name}"`);
    const what = `index ${indexName} version ${version} blob ${name}`;
    const chunks: Uint8Array[] = new Array(info.chunkCount);
    const numbers = Array.from({ length: info.chunkCount }, (_, i) => i);
    await mapLimited(numbers, READ_CONCURRENCY, async (chunk) => {
      const response = await this.options.client.send(
        new GetCommand({ TableName: this.table, Key: chunkKey(ownerId, indexName, version, name, chunk), ConsistentRead: true }),
      );
      const data = response.Item?.data;
      if (!(data instanceof Uint8Array)) {
        throw new MalformedDataError(what, `chunk ${chunk} of ${info.chunkCount} is missing (was the version completely staged?)`);
      }
      chunks[chunk] = data;
    });
    const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    if (size !== info.size) throw new MalformedDataError(what, `chunks hold ${size} bytes, the manifest says ${info.size}`);
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    if (sha256Hex(bytes) !== info.sha256) throw new MalformedDataError(what, 'SHA-256 does not match the manifest');
    return bytes;
  }

  async getCurrent(ownerId: OwnerId, indexName: IndexName): Promise<CurrentIndexVersion | undefined> {
    const pointer = await this.readPointer(ownerId, indexName);
    return pointer === undefined ? undefined : publicPointer(pointer);
  }

  async publish(ownerId: OwnerId, indexName: IndexName, version: VersionId, expectedCurrent: VersionId | undefined): Promise<CurrentIndexVersion> {
    const pointerKey = currentPointerKey(ownerId, indexName);
    const item = await this.readVersionItem(ownerId, indexName, version);
    if (item === undefined) throw new NotFoundError(`index "${indexName}" has no version "${version}": stage it before publishing`);
    this.assertPublishable(item);

    const previous = await this.readPointer(ownerId, indexName);
    if (previous?.version !== expectedCurrent) throw staleConflict(indexName, version, previous?.version, expectedCurrent);
    if (previous !== undefined && previous.kind !== item.kind) {
      throw new ConflictError(
        `index "${indexName}" serves a "${previous.kind}" index; version "${version}" is "${item.kind}": use another index name`,
      );
    }

    const pointer: PointerItem = {
      ownerId,
      indexName,
      version,
      kind: item.kind,
      publishedAt: this.now().toISOString(),
      previousVersion: previous?.version,
      publishToken: randomBytes(16).toString('hex'),
    };
    try {
      await this.options.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...pointerKey, type: 'index-pointer', ...pointer },
          ...(previous === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected AND publishToken = :token',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': previous.version, ':token': previous.publishToken },
              }),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const now = await this.readPointer(ownerId, indexName);
      throw staleConflict(indexName, version, now?.version, expectedCurrent);
    }

    // A delete of this version may have started between our check and the pointer write.
    const after = await this.readVersionItem(ownerId, indexName, version);
    if (after?.status !== 'complete') {
      await this.rollBackPointer(ownerId, indexName, pointer, previous);
      throw new ConflictError(
        `index "${indexName}" version "${version}" was deleted while publishing; ` +
          `${previous ? `version "${previous.version}" still serves` : 'nothing is published'}`,
      );
    }
    return publicPointer(pointer);
  }

  private assertPublishable(item: VersionItem): void {
    if (item.status === 'staging') {
      throw new ConflictError(
        `index "${item.indexName}" version "${item.version}" is not completely staged (its staging was interrupted or is still running): ` +
          'stage the index again under a new version name, and delete this one',
      );
    }
    if (item.status === 'deleting') {
      throw new ConflictError(`index "${item.indexName}" version "${item.version}" is being deleted and cannot be published`);
    }
  }

  /** Restores the pointer we replaced, unless someone has moved it since. */
  private async rollBackPointer(ownerId: OwnerId, indexName: IndexName, ours: PointerItem, previous: PointerItem | undefined): Promise<void> {
    const key = currentPointerKey(ownerId, indexName);
    const condition = {
      ConditionExpression: 'publishToken = :ours',
      ExpressionAttributeValues: { ':ours': ours.publishToken },
    };
    try {
      if (previous === undefined) {
        await this.options.client.send(new DeleteCommand({ TableName: this.table, Key: key, ...condition }));
      } else {
        await this.options.client.send(
          new PutCommand({ TableName: this.table, Item: { ...key, type: 'index-pointer', ...previous }, ...condition }),
        );
      }
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async listVersions(ownerId: OwnerId, indexName: IndexName): Promise<IndexVersionSummary[]> {
    const pk = indexPk(ownerId, indexName);
    const versions: IndexVersionSummary[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.options.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': VERSION_SK_PREFIX },
          // The metadata (up to 100 KB each) is not needed for a listing.
          ProjectionExpression: 'version, kind, #status, createdAt, completedAt, blobs',
          ExpressionAttributeNames: { '#status': 'status' },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of response.Items ?? []) versions.push(summaryOf(parseVersionItem(ownerId, indexName, item)));
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
    return versions;
  }

  async listIndexes(): Promise<{ indexes: Array<{ ownerId: OwnerId; indexName: IndexName }>; ownerIds: OwnerId[] }> {
    const seen = new Map<string, { ownerId: OwnerId; indexName: IndexName }>();
    const ownerIds = new Set<OwnerId>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.options.client.send(
        new ScanCommand({
          TableName: this.table,
          // Pointers, version items and owner profiles only (chunks are many and say nothing new).
          FilterExpression: '(begins_with(pk, :index) AND (sk = :current OR begins_with(sk, :version))) OR (begins_with(pk, :owner) AND sk = :profile)',
          ExpressionAttributeValues: { ':index': 'INDEX#', ':current': 'CURRENT', ':version': VERSION_SK_PREFIX, ':owner': 'OWNER#', ':profile': 'PROFILE' },
          ProjectionExpression: 'pk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of response.Items ?? []) {
        const [type, ownerId, indexName] = String(item.pk).split('#');
        const what = `table item ${String(item.pk)}`;
        if (type === 'OWNER' && ownerId !== undefined) ownerIds.add(parseStoredId(parseOwnerId, ownerId, what));
        else if (ownerId !== undefined && indexName !== undefined) {
          seen.set(`${ownerId}#${indexName}`, { ownerId: parseStoredId(parseOwnerId, ownerId, what), indexName: parseStoredId(parseIndexName, indexName, what) });
        }
      }
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
    return { indexes: [...seen.values()], ownerIds: [...ownerIds] };
  }

  async deleteVersion(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<void> {
    const key = versionKey(ownerId, indexName, version);
    const refuseCurrent = () =>
      new ConflictError(`index "${indexName}" version "${version}" is the current version: publish another version before deleting it`);
    if ((await this.readPointer(ownerId, indexName))?.version === version) throw refuseCurrent();

    let before: VersionItem;
    try {
      const response = await this.options.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET #status = :deleting',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':deleting': 'deleting' },
          ReturnValues: 'ALL_OLD',
        }),
      );
      before = parseVersionItem(ownerId, indexName, response.Attributes ?? {});
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      throw new NotFoundError(`index "${indexName}" has no version "${version}"`);
    }

    // A publish may have moved the pointer here between our first check and the mark.
    if ((await this.readPointer(ownerId, indexName))?.version === version) {
      if (before.status !== 'deleting') {
        await this.options.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: key,
            UpdateExpression: 'SET #status = :old',
            ConditionExpression: '#status = :deleting',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':old': before.status, ':deleting': 'deleting' },
          }),
        );
      }
      throw refuseCurrent();
    }

    // The manifest was written before any chunk, so it names every chunk that can exist.
    const deletes: WriteRequest[] = [];
    for (const blob of before.blobs) {
      for (let chunk = 0; chunk < blob.chunkCount; chunk++) {
        deletes.push({ DeleteRequest: { Key: chunkKey(ownerId, indexName, version, blob.name, chunk) } });
      }
    }
    await batchWriteAll(this.options.client, this.table, deletes, { batchSize: 25 });
    await this.options.client.send(new DeleteCommand({ TableName: this.table, Key: key }));
  }
}
