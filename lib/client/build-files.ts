import type { ImageId } from '../core/ids';
/**
 * The files of one index build, by logical name: what `owner index` writes and `owner publish`
 * reads. Where they live is the caller's business (a staging folder on disk for the CLI); the
 * workflows only put and get bytes.
 */

export const BUILD_FILES = {
  pca: 'pca.bin',
  decoys: 'decoys.bin',
  seiSkeleton: 'sei/skeleton.bin',
  seiLeaves: 'sei/leaves.bin',
  /** The unsealed sealed index (sealing needs the version CS1 names at publish). */
  sealedBuild: 'sealed/build.bin',
  sealedKey: 'sealed/index-key.bin',
  cs2Secret: 'two-server/cs2-secret.bin',
  /** The HE provider key (encrypts templates of later versions; as secret as cs2Secret). */
  twoServerProviderKey: 'two-server/provider.key',
  /** The plaintext templates and their shards (ProviderIndex): what `owner add/delete` update. */
  twoServerProviderIndex: 'two-server/provider-index.bin',
} as const;

/** The encrypted image (envelope) of an image id. */
export function envelopeFile(imageId: ImageId): string {
  return `images/${imageId}.bsie`;
}

/** A part of the two-server index ('records-NNNN' per shard, 'cs1-index', 'evaluation', 'public'). */
export function twoServerFile(part: string): string {
  return `two-server/${part}.bin`;
}

/** Where a build's files are written. */
export interface BuildSink {
  put(file: string, bytes: Uint8Array): Promise<void>;
}

/** Where a build's files are read from (`what` names the file in errors). */
export interface BuildSource {
  get(file: string, what: string): Promise<Uint8Array>;
}

/** A build's files, read and replaced in place (updates after publish). */
export interface BuildFiles extends BuildSource, BuildSink {
  has(file: string): Promise<boolean>;
}
