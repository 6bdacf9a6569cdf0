/**
 * Large batches travel to CS2 through CS1's own bucket: CS1 writes the batch under
 *
 *   transfer/<ownerId>/<random>.bin
 *
 * and sends CS2 a short-lived presigned GET URL and the batch's SHA-256 instead of the bytes.
 * CS2 needs no IAM access to CS1's bucket (the URL carries CS1's signature for that one object),
 * and the digest lets CS2 refuse anything but the batch CS1 meant. The object is deleted right
 * after the call.
 *
 * Why a top-level `transfer/` prefix rather than one inside `owners/<ownerId>/`: these are CS1's
 * own short-lived objects, not owner data, and one fixed prefix lets the deployment grant the
 * identify role put/delete on `transfer/*` only, and expire whatever a crash leaves behind with
 * one lifecycle rule (S3 lifecycle and IAM resources match prefixes, not middle segments).
 */
import { randomBytes } from 'node:crypto';
import { SETTINGS } from '../../config/settings';
import { InvalidInputError } from '../../core/errors';
import { assertObjectKey } from '../../storage/object-keys';
import type { ObjectStore } from '../../storage/types';
import { sha256Hex } from './decrypt-event';
import type { OwnerId } from '../../core/ids';

/** The prefix of all transfer objects (bucket lifecycle rule, IAM resource). */
export const TRANSFER_PREFIX = 'transfer/';

/** The prefix of one owner's transfer objects (an OwnerId holds no '/'). */
export function transferPrefix(ownerId: OwnerId): string {
  return `${TRANSFER_PREFIX}${ownerId}/`;
}

/** A fresh transfer object key (128 random bits: unguessable and never reused). */
export function transferObjectKey(ownerId: OwnerId): string {
  const key = `${transferPrefix(ownerId)}${randomBytes(16).toString('hex')}.bin`;
  assertObjectKey(key);
  return key;
}

/** A batch put where CS2 can fetch it. */
export interface StagedBatch {
  readonly url: string;
  readonly sha256: string;
  /** Removes the staged object (never throws; a failure is left to the lifecycle rule). */
  release(): Promise<void>;
}

/** Where transports put batches too large to send inline. */
export interface BatchStaging {
  stage(batch: Uint8Array): Promise<StagedBatch>;
}

export interface ObjectStoreBatchStagingOptions {
  readonly objects: ObjectStore;
  /** The owner whose request this is: the object lives in that owner's prefix. */
  readonly ownerId: OwnerId;
  /** Presigned URL lifetime in seconds. Default 120. */
  readonly urlSeconds?: number;
}

export class ObjectStoreBatchStaging implements BatchStaging {
  /** Staged objects whose delete failed (left to the lifecycle rule). */
  releaseFailures = 0;
  private readonly urlSeconds: number;

  constructor(private readonly options: ObjectStoreBatchStagingOptions) {
    this.urlSeconds = options.urlSeconds ?? SETTINGS.cs2TransferUrlSeconds.default;
    if (!Number.isInteger(this.urlSeconds) || this.urlSeconds < 1 || this.urlSeconds > 3600) {
      throw new InvalidInputError('transfer URL lifetime must be an integer from 1 to 3600 seconds');
    }
    transferPrefix(options.ownerId); // validates the owner id now, not at the first large batch
  }

  async stage(batch: Uint8Array): Promise<StagedBatch> {
    const { objects, ownerId } = this.options;
    const key = transferObjectKey(ownerId);
    const sha256 = sha256Hex(batch);
    await objects.put(key, batch, 'application/octet-stream');
    let presigned;
    try {
      presigned = await objects.presignGet(key, { expiresInSeconds: this.urlSeconds });
    } catch (error) {
      await objects.delete(key).catch(() => undefined);
      throw error;
    }
    return {
      url: presigned.url,
      sha256,
      release: async () => {
        try {
          await objects.delete(key);
        } catch {
          this.releaseFailures++;
        }
      },
    };
  }
}
