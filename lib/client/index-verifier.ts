/**
 * A user's check of every index version CS1 answers from: the owner's signed manifest
 * (index-manifest.ts) must name the version CS1 says it served, and the updates CS1 applied
 * since must chain from it. A client keeps one verifier for its session; it remembers the
 * newest version it verified per index and refuses an older one, except the version the newest
 * replaced (searches may still run on it while warm functions' pointer caches catch up).
 *
 * What it cannot see: an older, validly signed version served to a client that never saw a
 * newer one (rollback to a fresh client), and whether CS1 computed a result correctly from the
 * version it names (see docs/threat-model.md).
 *
 *   const verifier = new IndexVerifier();
 *   const user = new Cs1Client({ endpoint, token, verifier });
 *   await user.search(ownerId, 'main', request); // IntegrityError unless the owner signed it
 */
import type { Ed25519PublicJwk } from '../auth/types';
import { IntegrityError } from '../core/errors';
import { verifyIndexManifest } from './index-manifest';
import type { IndexManifest, IndexUpdateRecord } from './index-manifest';
import type { IndexName, OwnerId, VersionId } from '../core/ids';
import { LoadingCache } from '../core/loading-cache';

export interface IndexVerifierOptions {
  /** The owner's public key when the caller holds it (else the key in each JWS is checked against the owner id). */
  readonly ownerPublicKey?: Ed25519PublicJwk;
  /**
   * SEI versions CS1 derived from a signed version by single-image updates (made on the
   * owner's token, not signed by the owner): 'refuse' (default) or 'accept' (the update list
   * is returned for the caller to show).
   */
  readonly unsignedUpdates?: 'refuse' | 'accept';
}

export interface VerifiedVersion {
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  /** The version CS1 served. */
  readonly version: VersionId;
  /** The owner's signed manifest of the version the served one derives from (itself without updates). */
  readonly manifest: IndexManifest;
  /** Updates CS1 applied since the signed version, oldest first (empty unless accepted). */
  readonly updates: readonly IndexUpdateRecord[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const MAX_VERIFIED = 64;

export class IndexVerifier {
  private readonly options: IndexVerifierOptions;
  /** ownerId/indexName -> the newest version verified and the version it replaced. */
  private readonly newest = new Map<string, { version: VersionId; previous: string | null }>();
  private readonly verified = new LoadingCache<string, VerifiedVersion>({ maxSize: MAX_VERIFIED });

  constructor(options: IndexVerifierOptions = {}) {
    this.options = options;
  }

  /**
   * Verifies the provenance CS1 returned with a version it served; IntegrityError naming the
   * index and version when it is missing, forged, of another version, or older than what this
   * verifier has already seen.
   */
  async verify(ownerId: OwnerId, indexName: IndexName, version: VersionId, provenance: unknown, kind?: string): Promise<VerifiedVersion> {
    const cacheKey = `${ownerId}/${indexName}/${version}/${isRecord(provenance) ? JSON.stringify(provenance) : ''}`;
    const result = await this.verified.get(cacheKey, () => this.check(ownerId, indexName, version, provenance, kind));
    this.checkFreshness(result);
    return result;
  }

  /** The manifest part a client downloads whole (sealed routing data, HE public material) must match it. */
  static checkPart(verified: VerifiedVersion, part: string, bytes: number, sha256: string): void {
    const signed = verified.manifest.parts[part];
    const what = `part "${part}" of index "${verified.indexName}" version "${verified.version}"`;
    if (signed === undefined) throw new IntegrityError(`${what} is not in the owner's signed manifest: do not trust this version`);
    if (signed.bytes !== bytes || signed.sha256 !== sha256) {
      throw new IntegrityError(`${what} is not what the owner signed (${bytes} bytes, SHA-256 ${sha256.slice(0, 12)}..., signed ${signed.bytes} bytes, ${signed.sha256.slice(0, 12)}...): it was changed after publish`);
    }
  }

  private async check(ownerId: OwnerId, indexName: IndexName, version: VersionId, provenance: unknown, kind?: string): Promise<VerifiedVersion> {
    const what = `index "${indexName}" version "${version}"`;
    if (!isRecord(provenance)) {
      throw new IntegrityError(`CS1 sent no owner-signed manifest with ${what}: it cannot be checked against what the owner published (an index published without a signature must be published again by its owner)`);
    }
    const updates = provenance.updates ?? [];
    if (!Array.isArray(updates) || !updates.every(isUpdateRecord)) throw new IntegrityError(`the update list CS1 sent with ${what} is malformed`);
    const rootVersion = updates.length > 0 ? updates[0].previousVersion : version;
    const manifest = await verifyIndexManifest(provenance.manifest, { ownerId, ownerPublicKey: this.options.ownerPublicKey, indexName, version: rootVersion, kind: updates.length > 0 ? undefined : kind });
    // Each update must start from the version the previous one made, and the last make the one served.
    let at = manifest.version;
    for (const update of updates) {
      if (update.previousVersion !== at) throw new IntegrityError(`the updates CS1 sent with ${what} do not chain: "${update.version}" does not follow "${at}"`);
      at = update.version;
    }
    if (at !== version) throw new IntegrityError(`the updates CS1 sent with ${what} end at version "${at}", not at the one served`);
    if (updates.length > 0 && this.options.unsignedUpdates !== 'accept') {
      const listed = updates.slice(0, 5).map((u) => `${u.operation} "${u.imageId}"`).join(', ');
      throw new IntegrityError(
        `${what} was made by CS1 from the owner's signed version "${manifest.version}" by ${updates.length} image update(s) the owner did not sign ` +
          `(${listed}${updates.length > 5 ? ', ...' : ''}): ask the owner to publish the index again, or accept unsigned updates`,
      );
    }
    return { ownerId, indexName, version, manifest, updates: updates as IndexUpdateRecord[] };
  }

  /** Refuses a version older than the newest verified one, except the one that newest replaced. */
  private checkFreshness(result: VerifiedVersion): void {
    const key = `${result.ownerId}/${result.indexName}`;
    const previous = result.updates.length > 0 ? result.updates[result.updates.length - 1].previousVersion : result.manifest.previousVersion;
    const newest = this.newest.get(key);
    if (newest === undefined || result.version > newest.version) {
      this.newest.set(key, { version: result.version, previous });
      return;
    }
    if (result.version === newest.version || result.version === newest.previous) return;
    throw new IntegrityError(
      `CS1 served index "${result.indexName}" version "${result.version}", older than version "${newest.version}" this client already verified: ` +
        'an older published version was replayed as current',
    );
  }
}

function isUpdateRecord(value: unknown): value is IndexUpdateRecord {
  return (
    isRecord(value) &&
    typeof value.version === 'string' &&
    typeof value.previousVersion === 'string' &&
    (value.operation === 'add' || value.operation === 'delete') &&
    typeof value.imageId === 'string'
  );
}
