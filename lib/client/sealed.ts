/**
 * Sealed indexes through CS1 (lib/sealed for the formats and the client-side search):
 *
 * - owners publish with {@link publishSealedIndex}: create the version (CS1 names it), seal the
 *   build for that version, upload both parts, publish;
 * - users search with a {@link SealedIndexReader}: it knows the serving version (read once), keeps
 *   the decrypted routing data of each version it met, asks CS1 for exactly the L leaves a query
 *   chooses, and ranks on the client. When a publish moves the index on, CS1 answers 409 and the
 *   reader reads the index again and retries once, on the new version.
 *
 *   const reader = new SealedIndexReader(userClient, ownerId, 'main', indexKey);
 *   const { hits } = await reader.search(queryVector, { k: 10 });
 */
import { InvalidInputError } from '../core/errors';
import { sealIndex, sealedPartSizes } from '../sealed/build';
import type { SealedIndexBuild } from '../sealed/build';
import { SealedSearcher } from '../sealed/search';
import type { SealedSearchResult } from '../sealed/search';
import type { IndexKey } from '../sealed/types';
import type { Cs1Client, PublishIndexOptions } from './cs1-client';
import { isServiceError } from './errors';
import type { IndexDescription, PublishResponse, SealedIndexSummary } from './types';
import { parseImageId, parseStoredId } from '../core/ids';
import { LoadingCache } from '../core/loading-cache';
import type { ImageId, IndexName, OwnerId, VersionId } from '../core/ids';

/** The parts of a sealed index, as the kind handler at CS1 names them. */
export const SEALED_PARTS = { routing: 'routing', leaves: 'leaves' } as const;

/** create -> seal for the new version -> upload -> publish (expectedCurrent as in publishIndex). */
export async function publishSealedIndex(
  client: Cs1Client,
  ownerId: OwnerId,
  indexName: IndexName,
  build: SealedIndexBuild,
  key: IndexKey,
  options: PublishIndexOptions = {},
): Promise<PublishResponse> {
  const expectedCurrent = options.expectedCurrent !== undefined ? options.expectedCurrent : ((await client.findIndex(ownerId, indexName))?.version ?? null);
  const sizes = sealedPartSizes(build, key.keyId);
  const created = await client.createIndexVersion(ownerId, indexName, {
    kind: 'sealed',
    parts: { [SEALED_PARTS.routing]: sizes.routing, [SEALED_PARTS.leaves]: sizes.leaves },
  });
  const parts = await sealIndex(build, key, { ownerId, indexName, version: created.version });
  const uploads = { [SEALED_PARTS.routing]: parts.routing, [SEALED_PARTS.leaves]: parts.leaves };
  const signedManifest = await client.signManifest(ownerId, indexName, created, expectedCurrent, uploads);
  await client.uploadIndexParts(created, uploads, options);
  return client.publishIndexVersion(ownerId, indexName, created.version, expectedCurrent, signedManifest, options);
}

export interface SealedReaderSearchOptions {
  readonly k: number;
  /** Real leaves (1..L); default the index's. */
  readonly realLeaves?: number;
  /** How CS1 hands out leaves (default 'bytes'). */
  readonly delivery?: 'bytes' | 'urls';
}

/** A sealed search's result; its image ids parsed (they come out of leaves CS1 handed over). */
export type SealedReaderResult = Omit<SealedSearchResult, 'hits'> & {
  readonly hits: ReadonlyArray<{ readonly imageId: ImageId; readonly distance: number }>;
  readonly version: VersionId;
};

/** Versions whose routing data a reader keeps (a publish adds one; old ones are dropped). */
const KEPT_VERSIONS = 2;

export class SealedIndexReader {
  private current: Promise<SealedSearcher> | undefined;
  private readonly searchers = new LoadingCache<VersionId, SealedSearcher>({ maxSize: KEPT_VERSIONS });

  constructor(
    private readonly client: Cs1Client,
    readonly ownerId: OwnerId,
    readonly indexName: IndexName,
    private readonly key: IndexKey,
  ) {}

  /** The searcher of the serving version (reads the index description when needed). */
  searcher(refresh = false): Promise<SealedSearcher> {
    if (this.current === undefined || refresh) {
      const loading = this.load();
      this.current = loading;
      loading.catch(() => {
        if (this.current === loading) this.current = undefined;
      });
    }
    return this.current;
  }

  private async load(): Promise<SealedSearcher> {
    const description = await this.client.getIndex<SealedIndexSummary>(this.ownerId, this.indexName);
    if (description.kind !== 'sealed') {
      throw new InvalidInputError(`index "${this.indexName}" is a "${description.kind}" index, not a sealed one`);
    }
    return this.open(description);
  }

  private open(description: IndexDescription<SealedIndexSummary>): Promise<SealedSearcher> {
    return this.searchers.get(description.version, async () => {
      if (description.summary.keyId !== this.key.keyId) {
        throw new InvalidInputError(
          `index "${this.indexName}" was rebuilt after your grant was issued (it is sealed under index key ${description.summary.keyId}, your grant holds ${this.key.keyId}): ask the owner to enroll you again`,
        );
      }
      const routing = await this.client.downloadSealedRouting(description);
      return SealedSearcher.open(this.key, { ownerId: this.ownerId, indexName: this.indexName, version: description.version }, routing);
    });
  }

  /** One query: L leaves from CS1 (real ones among decoys), ranked here. */
  async search(query: ArrayLike<number>, options: SealedReaderSearchOptions): Promise<SealedReaderResult> {
    for (let attempt = 1; ; attempt++) {
      const searcher = await this.searcher(attempt > 1);
      const { version } = searcher.binding;
      try {
        const result = await searcher.search(query, options, (leaves) =>
          this.client.sealedLeaves(this.ownerId, this.indexName, { version, leaves, delivery: options.delivery }),
        );
        const hits = result.hits.map((hit) => ({ imageId: parseStoredId(parseImageId, hit.imageId, `a leaf of sealed index "${this.indexName}"`), distance: hit.distance }));
        return { ...result, hits, version };
      } catch (error) {
        // The index moved on to a new version since we read it: read it again, once.
        if (attempt === 1 && isServiceError(error) && error.status === 409) continue;
        throw error;
      }
    }
  }
}
