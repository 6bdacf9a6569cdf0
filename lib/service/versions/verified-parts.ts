/**
 * Byte-range reads of index objects checked against the digests fixed at publish
 * (part-digests.ts). Every search and identify reads S3 through here, so bytes changed after
 * publish (a re-upload through an old URL, a write by anyone with bucket access) give an
 * IntegrityError, never a result. Digest tables are immutable like the versions they belong
 * to, so they are kept once loaded.
 */
import { IntegrityError, MalformedDataError, NotFoundError } from '../../core/errors';
import { LoadingCache } from '../../core/loading-cache';
import { indexPartObjectKey } from '../../storage/object-keys';
import type { IndexCatalog, ObjectStore } from '../../storage/types';
import { decodePartDigests, PART_DIGESTS_BLOB, verifiedRange } from './part-digests';
import type { PartDigest, PartDigests } from './part-digests';
import type { PartRef } from '../types';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

const MAX_TABLES = 64;

/** A version's digest table; `digests` undefined for versions staged before digests were recorded (kept too: the cache keeps no bare undefined). */
interface LoadedTable {
  readonly digests: PartDigests | undefined;
}

export class VerifiedParts {
  private readonly tables = new LoadingCache<string, LoadedTable>({ maxSize: MAX_TABLES });

  constructor(private readonly catalog: IndexCatalog) {}

  /**
   * The digest of a part; undefined only for versions staged before digests were recorded.
   * IntegrityError if the version records digests but none for this object.
   */
  async digestOf(ownerId: OwnerId, indexName: IndexName, ref: PartRef): Promise<PartDigest | undefined> {
    const table = await this.table(ownerId, indexName, ref.version);
    if (table === undefined) return undefined;
    const digest = table.get(ref.part);
    if (digest === undefined) {
      throw new IntegrityError(`index "${indexName}" version "${ref.version}" has no recorded digest for "${ref.part}": the owner must publish the index again`);
    }
    return digest;
  }

  /** Bytes [start, end) of a part, checked against its digest. */
  async readRange(objects: ObjectStore, ownerId: OwnerId, indexName: IndexName, ref: PartRef, start: number, end: number): Promise<Uint8Array> {
    const key = indexPartObjectKey(ownerId, indexName, ref.version, ref.part);
    const digest = await this.digestOf(ownerId, indexName, ref);
    if (digest === undefined) return objects.getRange(key, start, end);
    const what = `index "${indexName}" version "${ref.version}" object "${ref.part}"`;
    const read = (s: number, e: number) =>
      objects.getRange(key, s, e).catch((error: unknown) => {
        // A published object that is now shorter was changed after publish.
        if (error instanceof MalformedDataError) throw new IntegrityError(`${what} is no longer ${digest.bytes} bytes long as it was when published: the owner must publish the index again`);
        throw error;
      });
    return verifiedRange(digest, read, start, end, what);
  }

  /** An ObjectStore whose range reads of the part `ref` are checked (for readers that take a store). */
  async checkedStore(objects: ObjectStore, ownerId: OwnerId, indexName: IndexName, ref: PartRef): Promise<ObjectStore> {
    await this.digestOf(ownerId, indexName, ref);
    return this.lazilyCheckedStore(objects, ownerId, indexName, ref);
  }

  /** As checkedStore, with the digest table loaded at the first read (for synchronous set-up). */
  lazilyCheckedStore(objects: ObjectStore, ownerId: OwnerId, indexName: IndexName, ref: PartRef): ObjectStore {
    const key = indexPartObjectKey(ownerId, indexName, ref.version, ref.part);
    const readRange = (start: number, end: number) => this.readRange(objects, ownerId, indexName, ref, start, end);
    return new Proxy(objects, {
      get(target, property, receiver) {
        if (property === 'getRange') {
          return (k: string, start: number, end: number) => (k === key ? readRange(start, end) : target.getRange(k, start, end));
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private async table(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<PartDigests | undefined> {
    const loaded = await this.tables.get(`${ownerId}/${indexName}/${version}`, async () => ({ digests: await this.load(ownerId, indexName, version) }));
    return loaded.digests;
  }

  private async load(ownerId: OwnerId, indexName: IndexName, version: VersionId): Promise<PartDigests | undefined> {
    const item = await this.catalog.getVersion(ownerId, indexName, version);
    if (item === undefined) throw new IntegrityError(`index "${indexName}" has no version "${version}" in the catalog, but its data points at it`);
    let bytes: Uint8Array;
    try {
      bytes = await item.readBlob(PART_DIGESTS_BLOB);
    } catch (error) {
      // Versions staged before digests were recorded have no table; anything else stays an error.
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    return decodePartDigests(bytes);
  }
}
