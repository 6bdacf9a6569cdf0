/** A small sealed index for tests: clustered vectors, a build, its sealed parts and a searcher. */
import { seededRandom } from '../../lib/core/random';
import { clusteredVectors } from '../../scripts/bench/synthetic/vectors';
import type { VectorSet } from '../../lib/linalg/vectors';
import { buildSealedIndex, sealIndex } from '../../lib/sealed/build';
import type { SealedBuildOptions } from '../../lib/sealed/build';
import { generateIndexKey } from '../../lib/sealed/index-key';
import { SealedSearcher } from '../../lib/sealed/search';
import type { LeafFetcher } from '../../lib/sealed/search';
import type { SealedBinding } from '../../lib/sealed/types';
import { toIndexName, toOwnerId, toVersionId } from './ids';

export const BINDING: SealedBinding = { ownerId: toOwnerId('a'.repeat(52)), indexName: toIndexName('main'), version: toVersionId('20250101T000000000Z-000000000001') };

export interface SealedWorld {
  readonly vectors: VectorSet;
  readonly ids: string[];
  readonly build: ReturnType<typeof buildSealedIndex>;
  readonly key: ReturnType<typeof generateIndexKey>;
  readonly parts: { routing: Uint8Array; leaves: Uint8Array };
  readonly searcher: SealedSearcher;
  /** Serves leaves from `parts` (or from the given leaves buffer). */
  readonly fetch: (leaves?: Uint8Array) => LeafFetcher;
}

export async function sealedWorld(n: number, d: number, seed: number, options: SealedBuildOptions = {}): Promise<SealedWorld> {
  const { vectors } = clusteredVectors({ n, d, seed });
  const ids = Array.from({ length: n }, (_, i) => `img-${i}`);
  const build = buildSealedIndex(vectors, ids, { leafSize: 24, calibrationQueries: 60, random: seededRandom(seed + 1), ...options });
  const key = generateIndexKey();
  const parts = await sealIndex(build, key, BINDING);
  const searcher = await SealedSearcher.open(key, BINDING, parts.routing);
  const leafBytes = searcher.routing.layout.leafBytes;
  const fetch =
    (leaves: Uint8Array = parts.leaves): LeafFetcher =>
    async (wanted) =>
      new Map(wanted.map((leaf) => [leaf, leaves.slice(leaf * leafBytes, (leaf + 1) * leafBytes)]));
  return { vectors, ids, build, key, parts, searcher, fetch };
}
