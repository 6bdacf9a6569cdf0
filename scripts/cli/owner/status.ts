/**
 * `blindsight owner status`: the owner's local state (keys, last build, users, what the
 * identification index misses after --sei-only updates) and what CS1 serves now (versions and
 * counts of the published indexes). CS1 being unreachable is reported, not fatal: the local
 * part is still useful.
 */
import { isBlindsightError } from '../../../lib/core/errors';
import { loadManifest, loadPublished, loadUsers } from '../../../lib/client/node/owner-home';
import { searchIndexesOf } from '../../../lib/client/owner-state';
import type { IndexManifest, ManifestImage, StaleIdentification, UsersState } from '../../../lib/client/owner-state';
import type { IndexDescription } from '../../../lib/client/types';
import type { CommandContext } from '../context';
import { openOwner } from './owner-command';
import type { IndexName, OwnerId, VersionId } from '../../../lib/core/ids';

export interface StatusResult {
  readonly ownerId: OwnerId;
  readonly home: string;
  readonly endpoint: string;
  readonly d: number;
  readonly build?: {
    readonly builtAt: string;
    readonly folder: string;
    readonly images: number;
    readonly skipped: number;
    readonly model: string;
    readonly pcaComponents: number;
    readonly sealedIndex?: string;
    readonly seiIndex?: string;
    readonly twoServerIndex?: string;
    /** The build's indexes as published: false when "owner publish" has not run since "owner index". */
    readonly published: boolean;
    readonly staleIdentification?: StaleIdentification;
  };
  readonly served: Record<string, { readonly version: VersionId; readonly kind: string; readonly publishedAt: string; readonly summary: unknown } | { readonly error: string }>;
  readonly users: UsersState['users'];
  readonly images?: ReadonlyArray<Pick<ManifestImage, 'imageId' | 'relative' | 'file'>>;
}

export async function ownerStatus(context: CommandContext, options: { images?: boolean } = {}): Promise<StatusResult> {
  const command = await openOwner(context);
  const { owner, paths } = command;
  const endpoint = await command.endpoint();
  let manifest: IndexManifest | undefined;
  try {
    manifest = await loadManifest(paths);
  } catch (error) {
    if (!isBlindsightError(error) || error.code !== 'NOT_FOUND') throw error;
  }
  const published = await loadPublished(paths);
  const names = new Set<IndexName>();
  if (manifest) {
    for (const { indexName } of searchIndexesOf(manifest)) names.add(indexName);
    if (manifest.twoServer) names.add(manifest.twoServer.indexName);
  }
  if (published?.sealed) names.add(published.sealed.indexName);
  if (published?.sei) names.add(published.sei.indexName);
  if (published?.twoServer) names.add(published.twoServer.indexName);

  const served: StatusResult['served'] = {};
  const client = await command.client();
  for (const name of names) {
    try {
      const description: IndexDescription | undefined = await client.findIndex(owner.config.ownerId, name);
      served[name] = description
        ? { version: description.version, kind: description.kind, publishedAt: description.publishedAt, summary: withoutUrls(description.summary) }
        : { error: 'not published' };
    } catch (error) {
      served[name] = { error: isBlindsightError(error) ? error.message : String(error) };
    }
  }
  const users = (await loadUsers(paths)).users;

  return {
    ownerId: owner.config.ownerId,
    home: context.home,
    endpoint: endpoint.url,
    d: owner.config.d,
    ...(manifest
      ? {
          build: {
            builtAt: manifest.builtAt,
            folder: manifest.folder,
            images: manifest.images.length,
            skipped: manifest.skipped.length,
            model: manifest.features.modelId,
            pcaComponents: manifest.pcaComponents,
            ...(manifest.sealed ? { sealedIndex: manifest.sealed.indexName } : {}),
            ...(manifest.sei ? { seiIndex: manifest.sei.indexName } : {}),
            ...(manifest.twoServer ? { twoServerIndex: manifest.twoServer.indexName } : {}),
            published: published?.builtAt === manifest.builtAt,
            ...(manifest.twoServer?.stale ? { staleIdentification: manifest.twoServer.stale } : {}),
          },
        }
      : {}),
    served,
    users,
    ...(options.images && manifest ? { images: manifest.images.map(({ imageId, relative, file }) => ({ imageId, relative, file })) } : {}),
  };
}

/** Index summaries minus presigned URLs (they are long-lived credentials of a sort, and noise). */
function withoutUrls(summary: unknown): unknown {
  if (typeof summary !== 'object' || summary === null) return summary;
  const copy = JSON.parse(JSON.stringify(summary)) as { publicMaterial?: { download?: unknown }; routing?: { download?: unknown } };
  if (copy.publicMaterial) delete copy.publicMaterial.download;
  if (copy.routing) delete copy.routing.download;
  return copy;
}
