/**
 * What an owner keeps between workflows (on disk for the CLI, anywhere for another client):
 * the keys, the configuration, the manifest of the last index build, what was published, and
 * the enrolled users. Types only; lib/client/node/owner-home.ts stores them in a home folder.
 */
import type { Ed25519PrivateJwk } from '../auth/types';
import type { ImageId, IndexName, OwnerId, VersionId } from '../core/ids';
import type { ImageKey } from '../crypto/types';
import type { SkippedFile } from '../features/types';
import type { OwnerSecret, UserSecret } from '../sei/types';
import type { FeatureSpec } from './features';
import type { TwoServerReference } from './formats';

export const OWNER_FORMAT = 'blindsight-owner';
export const INDEX_MANIFEST_FORMAT = 'blindsight-owner-index';

export interface OwnerConfig {
  readonly format: typeof OWNER_FORMAT;
  readonly version: 1;
  readonly ownerId: OwnerId;
  /** CS1 endpoint chosen at init (commands may override it with --endpoint). */
  readonly endpoint: string;
  /** SEI feature dimension d of the owner secret. */
  readonly d: number;
  readonly createdAt: string;
  readonly seiKeyId: string;
  readonly imageKeyId: string;
}

/** The owner's secrets. */
export interface OwnerKeys {
  /** Ed25519 private key: signs the owner's and the users' tokens. */
  readonly signingKey: Ed25519PrivateJwk;
  readonly seiSecret: OwnerSecret;
  readonly imageKey: ImageKey;
  /** The owner's own W: placement trapdoors for added images. */
  readonly placement: UserSecret;
}

export interface Owner extends OwnerKeys {
  readonly config: OwnerConfig;
}

export interface ManifestImage {
  readonly imageId: ImageId;
  /** Where the source file was when it was indexed or added (absolute path, or the name a client gave). */
  readonly file: string;
  /** Path relative to the indexed folder ('added/<name>' for images added one by one). */
  readonly relative: string;
  readonly bytes: number;
  readonly added?: boolean;
}

/** An identification index that no longer holds exactly the images of the SEI index. */
export interface StaleIdentification {
  /** Images added to the SEI index only: identification never returns them. */
  readonly added: readonly ImageId[];
  /** Images deleted from the SEI index only: identification still returns their ids. */
  readonly deleted: readonly ImageId[];
}

/** The kinds of search index `owner index` builds: sealed (the default; the client ranks) and SEI (the paper's; CS1 ranks). */
export type SearchIndexKind = 'sealed' | 'sei';
export const SEARCH_INDEX_KINDS: readonly SearchIndexKind[] = ['sealed', 'sei'];

/** A sealed index of the build (its unsealed build and index key are build files). */
export interface SealedManifest {
  readonly indexName: IndexName;
  /** Id of the build's index key (a new key per build: grants of an older build cannot open it). */
  readonly keyId: string;
  readonly leafCount: number;
  /** L: leaves every query asks for; R: real ones among them by default, and R's measured recall@10. */
  readonly leavesPerQuery: number;
  readonly realLeaves: number;
  readonly recallEstimate: number;
}

export interface IndexManifest {
  readonly format: typeof INDEX_MANIFEST_FORMAT;
  readonly version: 1;
  readonly builtAt: string;
  readonly folder: string;
  readonly features: FeatureSpec;
  readonly d: number;
  readonly pcaComponents: number;
  /** At least one of sealed and sei. */
  readonly sealed?: SealedManifest;
  readonly sei?: { readonly indexName: IndexName; readonly leafCount: number; readonly depth: number };
  readonly images: ManifestImage[];
  readonly skipped: readonly SkippedFile[];
  readonly twoServer?: TwoServerReference & {
    readonly templateCount: number;
    readonly skipped: readonly SkippedFile[];
    /** Set by `owner add/delete --sei-only`: what the identification index misses. */
    readonly stale?: StaleIdentification;
  };
}

export interface PublishedState {
  readonly endpoint: string;
  /** builtAt of the manifest whose build was published. */
  readonly builtAt?: string;
  readonly sealed?: { readonly indexName: IndexName; readonly version: VersionId; readonly publishedAt: string; readonly imageCount: number };
  readonly sei?: { readonly indexName: IndexName; readonly version: VersionId; readonly publishedAt: string; readonly imageCount: number };
  readonly twoServer?: { readonly indexName: IndexName; readonly version: VersionId; readonly publishedAt: string; readonly keyId: string; readonly cs2: string };
}

export interface UserEntry {
  readonly enrolledAt: string;
  readonly status: 'active' | 'revoked';
  readonly tokenExpiresAt?: string;
  readonly revokedAt?: string;
}

export interface UsersState {
  readonly users: Record<string, UserEntry>;
}

/** The build's search indexes, sealed first. */
export function searchIndexesOf(manifest: Pick<IndexManifest, 'sealed' | 'sei'>): Array<{ kind: SearchIndexKind; indexName: IndexName }> {
  return [
    ...(manifest.sealed ? [{ kind: 'sealed' as const, indexName: manifest.sealed.indexName }] : []),
    ...(manifest.sei ? [{ kind: 'sei' as const, indexName: manifest.sei.indexName }] : []),
  ];
}
