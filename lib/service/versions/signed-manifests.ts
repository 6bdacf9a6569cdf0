/**
 * The owner's signed manifest of a version (lib/client/index-manifest.ts), checked at publish
 * and kept with the version as its provenance: a catalog blob (DynamoDB, never S3), handed back
 * with every description, search and identification so clients can verify what they searched.
 * SEI updates append to the provenance of the version they derive from.
 */
import { IntegrityError, InvalidInputError, NotFoundError } from '../../core/errors';
import { verifyIndexManifest } from '../../client/index-manifest';
import type { IndexProvenance, IndexUpdateRecord } from '../../client/index-manifest';
import type { IndexVersion } from '../../storage/types';
import type { PartDigest } from './part-digests';
import type { IndexName, OwnerId, VersionId } from '../../core/ids';

/** Catalog blob of a version's provenance (no kind's blob may use the name). */
export const PROVENANCE_BLOB = 'provenance';

export interface ManifestBinding {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  readonly version: VersionId;
  readonly kind: string;
  readonly expectedCurrent: VersionId | null;
}

/**
 * Checks the owner's signature and that the manifest describes exactly the uploaded parts as
 * CS1 copied them (`digests` of the copies). A signature that does not verify, or names another
 * index, version or predecessor, is a 400; a part whose bytes differ from the signed digest
 * (changed between the owner's upload and publish) is INTEGRITY_FAILED.
 */
export async function checkSignedManifest(jws: string, binding: ManifestBinding, uploaded: readonly string[], digests: ReadonlyMap<string, PartDigest>): Promise<IndexProvenance> {
  const { ownerId, indexName, version, kind } = binding;
  let manifest;
  try {
    manifest = await verifyIndexManifest(jws, { ownerId, indexName, version, kind });
  } catch (error) {
    if (error instanceof IntegrityError) {
      throw new InvalidInputError(`signedManifest is refused: ${error.message.replace(/: do not trust.*$/, '')}; sign the manifest of this version with the owner's key`);
    }
    throw error;
  }
  if (manifest.previousVersion !== binding.expectedCurrent) {
    throw new InvalidInputError(`signedManifest names previous version ${JSON.stringify(manifest.previousVersion)}, but the publish expects ${JSON.stringify(binding.expectedCurrent)} to serve`);
  }
  const signed = Object.keys(manifest.parts).sort();
  const names = [...uploaded].sort();
  if (signed.join('\n') !== names.join('\n')) {
    throw new InvalidInputError(`signedManifest lists parts ${signed.map((n) => `"${n.slice(0, 64)}"`).join(', ')}, the version has ${names.map((n) => `"${n}"`).join(', ')}`);
  }
  for (const name of names) {
    const digest = digests.get(name)!;
    const part = manifest.parts[name];
    if (part.bytes !== digest.bytes || part.sha256 !== digest.sha256) {
      throw new IntegrityError(`part "${name}" of version "${version}" is not the part the owner signed (SHA-256 differs): it was changed after upload; upload it again`);
    }
  }
  return { manifest: jws, updates: [] };
}

export function encodeProvenance(provenance: IndexProvenance): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(provenance));
}

/** The provenance of a stored version; undefined for versions published without a signature. */
export async function readProvenance(item: IndexVersion): Promise<IndexProvenance | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await item.readBlob(PROVENANCE_BLOB);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  return JSON.parse(new TextDecoder().decode(bytes)) as IndexProvenance;
}

/** The provenance of a version an update derives from `base`'s (none if the base has none). */
export function withUpdate(base: IndexProvenance | undefined, update: IndexUpdateRecord): IndexProvenance | undefined {
  if (base === undefined) return undefined;
  return { manifest: base.manifest, updates: [...(base.updates ?? []), update] };
}
