/**
 * The owner's and the user's side of SEI for end-to-end tests, with the library only: a seeded
 * corpus (clustered features), its encrypted index tree, image envelopes of seeded bytes, user
 * trapdoor generators, and the in-memory search answer a CS1 response must equal.
 */
import { seededRandom } from '../../lib/core/random';
import { encryptImage, generateImageKey } from '../../lib/crypto/image-envelope';
import type { ImageKey } from '../../lib/crypto/types';
import { clusteredVectors } from '../../scripts/bench/synthetic/vectors';
import type { VectorSet } from '../../lib/linalg/vectors';
import { buildEncryptedIndexTree } from '../../lib/sei/index-tree/build';
import { searchIndexTree } from '../../lib/sei/index-tree/search';
import type { EncryptedIndexTree, IndexTreeBuildOptions } from '../../lib/sei/index-tree/types';
import { generateOwnerSecret } from '../../lib/sei/owner-key';
import { TrapdoorGenerator } from '../../lib/sei/trapdoor';
import type { OwnerSecret, Trapdoor } from '../../lib/sei/types';
import { generateUserSecret, issueUserKey } from '../../lib/sei/user-key';
import { toImageId } from './ids';
import type { ImageId } from '../../lib/core/ids';

export interface SeiCorpus {
  readonly owner: OwnerSecret;
  /** Gallery features (kept by the owner). */
  readonly vectors: VectorSet;
  /** Held-out query features, from the same distribution. */
  readonly queries: VectorSet;
  readonly ids: string[];
  readonly tree: EncryptedIndexTree;
}

export interface SeiCorpusOptions {
  readonly n: number;
  readonly d: number;
  readonly seed: number;
  /** Image ids are `${idPrefix}${i}`. Default "img-". */
  readonly idPrefix?: string;
  /** Reuse an owner secret (two trees searchable with the same trapdoors). */
  readonly owner?: OwnerSecret;
  readonly queries?: number;
  /** Tree build options beyond the seeded randomness (e.g. maxLeafSize, apSampleSize). */
  readonly build?: Omit<IndexTreeBuildOptions, 'random'>;
}

export function buildSeiCorpus(options: SeiCorpusOptions): SeiCorpus {
  const { n, d, seed } = options;
  const queryCount = options.queries ?? 8;
  const { vectors: all } = clusteredVectors({ n: n + queryCount, d, seed });
  const vectors: VectorSet = { n, d, data: all.data.slice(0, n * d) };
  const queries: VectorSet = { n: queryCount, d, data: all.data.slice(n * d) };
  const ids = Array.from({ length: n }, (_, i) => `${options.idPrefix ?? 'img-'}${i}`);
  const owner = options.owner ?? generateOwnerSecret(d);
  const { tree } = buildEncryptedIndexTree(owner, vectors, ids, { ...options.build, random: seededRandom(seed + 1) });
  return { owner, vectors, queries, ids, tree };
}

/** GenKey between a user and the owner (offline: W goes to the owner, Abar and U come back). */
export function userTrapdoors(owner: OwnerSecret): TrapdoorGenerator {
  const secret = generateUserSecret(owner.d);
  return new TrapdoorGenerator(issueUserKey(owner, secret.W), secret);
}

/** Row i of a set, as its own array. */
export function vectorAt(set: VectorSet, i: number): Float64Array {
  return set.data.slice(i * set.d, (i + 1) * set.d);
}

/** Seeded "image files" of 64 to 4,096 bytes, one per id. */
export function syntheticImages(ids: readonly string[], seed: number): Map<string, Uint8Array> {
  const random = seededRandom(seed);
  const images = new Map<string, Uint8Array>();
  for (const id of ids) {
    const bytes = new Uint8Array(64 + random.int(4033));
    for (let i = 0; i < bytes.length; i++) bytes[i] = random.int(256);
    images.set(id, bytes);
  }
  return images;
}

/** The owner's image key and the envelopes of its images. */
export async function encryptImages(images: ReadonlyMap<string, Uint8Array>): Promise<{ key: ImageKey; envelopes: Array<{ imageId: ImageId; envelope: Uint8Array }> }> {
  const key = await generateImageKey();
  const envelopes = await Promise.all([...images].map(async ([imageId, bytes]) => ({ imageId: toImageId(imageId), envelope: await encryptImage(key, imageId, bytes) })));
  return { key, envelopes };
}

export interface WireHit {
  readonly imageId: string;
  readonly score: number;
}

/**
 * What CS1 must answer for these trapdoors: the in-memory search of the same tree (without
 * probes, with the index's calibrated ones, as CS1 searches a request without probes).
 */
export function expectedResults(tree: EncryptedIndexTree, trapdoors: readonly Trapdoor[], k: number, probes?: number): Array<{ hits: WireHit[] }> {
  return trapdoors.map((trapdoor) => ({
    hits: searchIndexTree(tree, trapdoor, probes === undefined ? { k } : { k, probes }).hits.map((hit) => ({ imageId: hit.id, score: hit.score })),
  }));
}

/** A trapdoor as JSON sends it. */
export function wire(trapdoor: Trapdoor): number[] {
  return Array.from(trapdoor);
}
