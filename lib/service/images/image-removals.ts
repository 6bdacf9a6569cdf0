/**
 * Removing the encrypted envelope of an image the owner deleted, without ever breaking a search
 * that can still return its id.
 *
 * An owner's delete first publishes, in each of its indexes, a version without the image; then
 * its client asks for the envelope's removal (POST .../images/removals), naming for each index
 * the first version without it (`absentFrom`). CS1 records the request (one small JSON object per
 * image, imageRemovalKey) with the time and the envelope's ETag; nothing is removed then. The
 * scheduled clean-up (cleanup.ts) removes the envelope once no version that may list the image
 * is kept any more:
 *
 * - in an index named in `absentFrom`, every version older than the one named (version names
 *   sort by creation time) may list it;
 * - in any other index of the owner (one the client did not know, or one that could not follow
 *   the delete), every version created before the request may;
 * - versions kept only because a newer version reads some of their blocks (copy-on-write) do
 *   not count: a delete rewrites the block that held the image, so no newer version reads the
 *   old one's copy of it.
 *
 * A version may list an image only if its envelope was uploaded for it, and uploading an
 * envelope again cancels a pending removal (cancelImageRemovals), as does an envelope whose ETag
 * changed since the request: an image added again is never removed by an older request. A
 * request is acted on only after the clean-up's grace period, longer than any request runs, so
 * every version created before it is in the catalog or the bucket by then. The envelope goes
 * before its removal record: a run that fails half way is finished by the next.
 */
import { mapLimited } from '../../core/concurrency';
import { InvalidInputError, NotFoundError } from '../../core/errors';
import { imageObjectKey, imageRemovalKey, imageRemovalsPrefix } from '../../storage/object-keys';
import type { IndexCatalog, ObjectStore } from '../../storage/types';
import { MAX_IMAGES_PER_REQUEST, MAX_INDEXES_PER_REMOVAL } from '../../api/limits';
import type { ImageRemovalsRequest } from '../../api/schemas';
import { S3_CONCURRENCY } from '../limits';
import { parseImageId, parseIndexName, parseVersionId } from '../../core/ids';
import type { ImageId, IndexName, OwnerId } from '../../core/ids';

export const IMAGE_REMOVAL_FORMAT = 'blindsight-image-removal';

/** One pending removal, as stored. */
export interface PendingImageRemoval {
  readonly imageId: ImageId;
  /** ISO 8601, CS1's clock. */
  readonly requestedAt: string;
  /** The envelope's ETag when the removal was asked for (an envelope uploaded since stays). */
  readonly etag?: string;
  /** Index name -> its first version without the image. */
  readonly absentFrom: Readonly<Record<string, string>>;
}

/** Why a pending removal did not happen in a run. */
export interface RemovalHolder {
  readonly indexName: IndexName;
  /** As the clean-up's report names it (a report, never a key). */
  readonly version: string;
}

export type ImageRemovalOutcome =
  | { readonly ownerId: OwnerId; readonly imageId: ImageId; readonly outcome: 'removed' }
  /** The envelope was uploaded again after the request: it stays, the request is dropped. */
  | { readonly ownerId: OwnerId; readonly imageId: ImageId; readonly outcome: 'cancelled' }
  /** Kept versions may still list it (or the request is younger than the grace period). */
  | { readonly ownerId: OwnerId; readonly imageId: ImageId; readonly outcome: 'waiting'; readonly heldBy: readonly RemovalHolder[] };

function encodeRemoval(removal: PendingImageRemoval): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ format: IMAGE_REMOVAL_FORMAT, ...removal }));
}

/** A stored removal, or undefined if the object is not one (never acted on). */
export function parseImageRemoval(bytes: Uint8Array, imageId: ImageId): PendingImageRemoval | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  const v = value as Partial<PendingImageRemoval> & { format?: unknown };
  if (typeof v !== 'object' || v === null || v.format !== IMAGE_REMOVAL_FORMAT || v.imageId !== imageId) return undefined;
  if (typeof v.requestedAt !== 'string' || !Number.isFinite(Date.parse(v.requestedAt))) return undefined;
  if (v.etag !== undefined && typeof v.etag !== 'string') return undefined;
  const absentFrom = v.absentFrom;
  if (typeof absentFrom !== 'object' || absentFrom === null || Array.isArray(absentFrom) || Object.values(absentFrom).some((x) => typeof x !== 'string')) return undefined;
  return { imageId, requestedAt: v.requestedAt, ...(v.etag !== undefined ? { etag: v.etag } : {}), absentFrom };
}

/** Drops pending removals of images being uploaded again (an absent one is no error). */
export async function cancelImageRemovals(objects: ObjectStore, ownerId: OwnerId, imageIds: readonly ImageId[]): Promise<void> {
  await mapLimited(imageIds, S3_CONCURRENCY, (imageId) => objects.delete(imageRemovalKey(ownerId, imageId)));
}

/** The owner's side: recording removals (nothing is removed here). */
export class ImageRemovalService {
  constructor(
    private readonly objects: ObjectStore,
    private readonly indexes: IndexCatalog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Records the removal of each image's envelope. Every id and every named version is checked
   * before anything is written: an unknown image (no envelope and no pending removal) or version
   * is a 404 and records nothing. Asking again for a pending removal keeps the first request.
   */
  async request(ownerId: OwnerId, request: ImageRemovalsRequest): Promise<Array<{ imageId: ImageId; requestedAt: string }>> {
    if (!Array.isArray(request.imageIds) || request.imageIds.length < 1 || request.imageIds.length > MAX_IMAGES_PER_REQUEST) {
      throw new InvalidInputError(`imageIds must list 1 to ${MAX_IMAGES_PER_REQUEST} images per request`);
    }
    // The request body's ids are parsed here, where they enter.
    const imageIds = request.imageIds.map((id) => parseImageId(id));
    if (new Set(imageIds).size !== imageIds.length) throw new InvalidInputError('imageIds lists an image twice');
    const named = Object.entries(request.absentFrom);
    if (named.length > MAX_INDEXES_PER_REMOVAL) throw new InvalidInputError(`absentFrom may name at most ${MAX_INDEXES_PER_REMOVAL} indexes`);
    for (const [name, versionName] of named) {
      const indexName = parseIndexName(name);
      const version = parseVersionId(versionName);
      const item = await this.indexes.getVersion(ownerId, indexName, version);
      if (item === undefined || item.status !== 'complete') {
        throw new NotFoundError(`index "${indexName}" has no published version "${version}": name the version your delete published`);
      }
    }
    const found = await mapLimited(imageIds, S3_CONCURRENCY, async (imageId) => ({
      imageId,
      head: await this.objects.head(imageObjectKey(ownerId, imageId)),
      pending: await this.pending(ownerId, imageId),
    }));
    const unknown = found.filter((f) => f.head === undefined && f.pending === undefined).map((f) => `"${f.imageId}"`);
    if (unknown.length > 0) throw new NotFoundError(`no image with id ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ` and ${unknown.length - 20} more` : ''}`);

    const requestedAt = this.now().toISOString();
    return mapLimited(found, S3_CONCURRENCY, async ({ imageId, head, pending }) => {
      // The same envelope asked for again: the first request stands (its versions are the older).
      if (pending !== undefined && (head === undefined || head.etag === pending.etag)) return { imageId, requestedAt: pending.requestedAt };
      const removal: PendingImageRemoval = { imageId, requestedAt, ...(head?.etag !== undefined ? { etag: head.etag } : {}), absentFrom: Object.fromEntries(named) };
      await this.objects.put(imageRemovalKey(ownerId, imageId), encodeRemoval(removal), 'application/json');
      return { imageId, requestedAt };
    });
  }

  private async pending(ownerId: OwnerId, imageId: ImageId): Promise<PendingImageRemoval | undefined> {
    try {
      return parseImageRemoval(await this.objects.get(imageRemovalKey(ownerId, imageId)), imageId);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }
}

/** Every pending removal of an owner (records that are not removals are left alone). */
export async function pendingImageRemovals(objects: ObjectStore & Required<Pick<ObjectStore, 'list'>>, ownerId: OwnerId): Promise<PendingImageRemoval[]> {
  const prefix = imageRemovalsPrefix(ownerId);
  const removals: PendingImageRemoval[] = [];
  for await (const { key } of objects.list(prefix)) {
    try {
      const imageId = parseImageId(key.slice(prefix.length));
      const removal = parseImageRemoval(await objects.get(key), imageId);
      if (removal !== undefined) removals.push(removal);
    } catch (error) {
      if (!(error instanceof InvalidInputError) && !(error instanceof NotFoundError)) throw error;
    }
  }
  return removals;
}

/** A version the clean-up keeps, and whether only because a newer version reads its blocks. */
export interface KeptVersion {
  readonly indexName: IndexName;
  readonly version: string;
  readonly onlyReferenced: boolean;
}

/**
 * The kept versions that may still list the image of a removal (see the module comment).
 * `createdAtOf` reads a version name's time; a name without one may list anything.
 */
export function holdersOf(removal: PendingImageRemoval, kept: readonly KeptVersion[], createdAtOf: (version: string) => Date | undefined): RemovalHolder[] {
  const requestedAt = Date.parse(removal.requestedAt);
  return kept
    .filter(({ indexName, version, onlyReferenced }) => {
      if (onlyReferenced) return false;
      const firstWithout = removal.absentFrom[indexName];
      if (firstWithout !== undefined) return version < firstWithout;
      const created = createdAtOf(version);
      return created === undefined || created.getTime() <= requestedAt;
    })
    .map(({ indexName, version }) => ({ indexName, version }));
}

/**
 * Acts on one pending removal no kept version holds: removes the envelope (unless it was
 * uploaded again since the request), then the record.
 */
export async function removeEnvelope(objects: ObjectStore, ownerId: OwnerId, removal: PendingImageRemoval): Promise<'removed' | 'cancelled'> {
  const key = imageObjectKey(ownerId, removal.imageId);
  const head = await objects.head(key);
  const reuploaded = head !== undefined && removal.etag !== undefined && head.etag !== removal.etag;
  if (head !== undefined && !reuploaded) await objects.delete(key);
  await objects.delete(imageRemovalKey(ownerId, removal.imageId));
  return reuploaded ? 'cancelled' : 'removed';
}
