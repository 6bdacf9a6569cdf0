/**
 * Encrypted images move between clients and S3 directly, through presigned URLs: envelopes can
 * be far larger than Lambda's 6 MB payload limit, and CS1 never needs their bytes. The owner
 * gets PUT URLs (type and length signed, so a URL uploads exactly the declared envelope);
 * owners and users get GET URLs for images that exist (checked with HEAD, so an unknown id is
 * a clear 404 instead of a URL that fails later). Deleted images' envelopes are removed by the
 * clean-up (image-removals.ts).
 */
import { InvalidInputError, NotFoundError, PayloadTooLargeError } from '../../core/errors';
import { imageObjectKey } from '../../storage/object-keys';
import type { ObjectStore, PresignedRequest } from '../../storage/types';
import { mapLimited } from '../../core/concurrency';
import { MAX_IMAGE_BYTES, MAX_IMAGES_PER_REQUEST } from '../../api/limits';
import { IMAGE_DOWNLOAD_URL_SECONDS, IMAGE_UPLOAD_URL_SECONDS, S3_CONCURRENCY } from '../limits';
import { cancelImageRemovals } from './image-removals';
import type { PresignedUrl } from '../types';
import { parseImageId } from '../../core/ids';
import type { ImageId, OwnerId } from '../../core/ids';

export const IMAGE_CONTENT_TYPE = 'application/octet-stream';
/** Unknown ids named in one 404 message at most. */
const MAX_IDS_IN_MESSAGE = 20;

/** As the request body holds it: the id is parsed by createUploads. */
export interface ImageUploadRequest {
  readonly imageId: string;
  readonly byteLength: number;
}

export type ImageUpload = PresignedUrl & { readonly imageId: ImageId };
export type ImageDownload = PresignedUrl & { readonly imageId: ImageId; readonly byteLength: number };

function toUrl(presigned: PresignedRequest): PresignedUrl {
  return { url: presigned.url, method: presigned.method, headers: { ...presigned.headers }, expiresAt: presigned.expiresAt.toISOString() };
}

function checkCount(count: number, what: string): void {
  if (count < 1 || count > MAX_IMAGES_PER_REQUEST) {
    throw new InvalidInputError(`${what} must list 1 to ${MAX_IMAGES_PER_REQUEST} images per request`);
  }
}

export class ImageService {
  constructor(private readonly objects: ObjectStore) {}

  async createUploads(ownerId: OwnerId, request: readonly ImageUploadRequest[]): Promise<ImageUpload[]> {
    if (!Array.isArray(request)) throw new InvalidInputError('images must be a list');
    checkCount(request.length, 'images');
    const images = request.map(({ imageId, byteLength }) => ({ imageId: parseImageId(imageId), byteLength }));
    const seen = new Set<string>();
    for (const { imageId, byteLength } of images) {
      if (seen.has(imageId)) throw new InvalidInputError(`image id "${imageId}" appears twice in the request`);
      seen.add(imageId);
      if (!Number.isSafeInteger(byteLength) || byteLength < 1) {
        throw new InvalidInputError(`byteLength of image "${imageId}" must be a positive integer`);
      }
      if (byteLength > MAX_IMAGE_BYTES) {
        throw new PayloadTooLargeError(`image "${imageId}" is ${byteLength} bytes; at most ${MAX_IMAGE_BYTES} bytes per image`);
      }
    }
    // An image uploaded again is wanted again: a pending removal of its envelope is dropped.
    await cancelImageRemovals(this.objects, ownerId, images.map((image) => image.imageId));
    return mapLimited(images, S3_CONCURRENCY, async ({ imageId, byteLength }) => ({
      imageId,
      ...toUrl(
        await this.objects.presignPut(imageObjectKey(ownerId, imageId), {
          expiresInSeconds: IMAGE_UPLOAD_URL_SECONDS,
          contentType: IMAGE_CONTENT_TYPE,
          contentLength: byteLength,
        }),
      ),
    }));
  }

  /** GET URLs for existing images, in request order (repeated ids once); 404 naming unknown ids. */
  async createDownloads(ownerId: OwnerId, imageIds: readonly string[]): Promise<ImageDownload[]> {
    if (!Array.isArray(imageIds)) throw new InvalidInputError('imageIds must be a list');
    checkCount(imageIds.length, 'imageIds');
    const unique = [...new Set(imageIds.map((id) => parseImageId(id)))];
    const heads = await mapLimited(unique, S3_CONCURRENCY, (id) => this.objects.head(imageObjectKey(ownerId, id)));
    const unknown = unique.filter((_, i) => heads[i] === undefined);
    if (unknown.length > 0) {
      const shown = unknown.slice(0, MAX_IDS_IN_MESSAGE).map((id) => `"${id}"`).join(', ');
      const more = unknown.length > MAX_IDS_IN_MESSAGE ? ` and ${unknown.length - MAX_IDS_IN_MESSAGE} more` : '';
      throw new NotFoundError(`no image with id ${shown}${more}: upload ${unknown.length === 1 ? 'it' : 'them'} first`);
    }
    return mapLimited(unique, S3_CONCURRENCY, async (imageId, i) => ({
      imageId,
      byteLength: heads[i]!.size,
      ...toUrl(await this.objects.presignGet(imageObjectKey(ownerId, imageId), { expiresInSeconds: IMAGE_DOWNLOAD_URL_SECONDS })),
    }));
  }
}
