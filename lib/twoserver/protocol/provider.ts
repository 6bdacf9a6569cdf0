/**
 * Provider role: index creation and encryption (paper section 5.2).
 *
 * 1. buildPlainIndex: K-means partitions, integer reference points, iDistance keys, segments
 *    over the sorted keys (plaintext; stays with the provider).
 * 2. encryptIndex: templates encrypted in key order (storage position p holds template
 *    order[p]) into fixed-size records, reference points encrypted likewise, and the material
 *    for each party.
 */
import { DimensionMismatchError, InvalidInputError } from '../../core/errors';
import type { RandomSource } from '../../core/random';
import type { HeProvider } from '../../he/types';
import type { VectorSet } from '../../linalg/vectors';
import { assertIntegerTemplates, buildIDistance, templatesInKeyOrder } from '../idistance';
import { publicMetadata } from '../idistance-codec';
import { buildSegmentIndex } from '../segments/build';
import type { SegmentationMethod, SegmentIndex } from '../segments/types';
import type { IDistanceIndex } from '../types';
import type { Cs1Index } from './types';

export interface PlainIndexOptions {
  /** K-means partitions (capped at n). */
  readonly partitions: number;
  /** Segment error bound in positions. */
  readonly eps: number;
  /** Default 'optimal'. */
  readonly method?: SegmentationMethod;
  /** K-means randomness (not a secret). Default: secureRandom. */
  readonly random?: RandomSource;
  readonly maxIterations?: number;
  /** Fit K-means on a sample of this many templates. Default: all. */
  readonly sampleSize?: number;
}

/** The provider's plaintext index. */
export interface PlainIndex {
  readonly idistance: IDistanceIndex;
  readonly segments: SegmentIndex;
}

/** What the provider hands out. */
export interface ProviderOutput {
  /** To CS1, with the records and the evaluation material. */
  readonly cs1Index: Cs1Index;
  /** Templates in storage order, recordCount(n) * recordBytes bytes (e.g. one object in a bucket). */
  readonly records: Uint8Array;
  /** HE evaluation material for CS1 (never the secret). */
  readonly evaluationMaterial: Uint8Array;
  /** HE secret material for CS2. */
  readonly secretMaterial: Uint8Array;
  /** HE public material for clients. */
  readonly publicMaterial: Uint8Array;
}

export function buildPlainIndex(templates: VectorSet, options: PlainIndexOptions): PlainIndex {
  const idistance = buildIDistance(templates, {
    partitions: options.partitions,
    random: options.random,
    maxIterations: options.maxIterations,
    sampleSize: options.sampleSize,
  });
  const segments = buildSegmentIndex(idistance.keys, { eps: options.eps, method: options.method });
  return { idistance, segments };
}

function checkIds(ids: readonly string[] | undefined, n: number): string[] {
  if (ids === undefined) return Array.from({ length: n }, (_, i) => String(i));
  if (!Array.isArray(ids) || ids.length !== n) throw new InvalidInputError(`template ids: expected ${n} ids`);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id, 'utf8') > 0xffff) {
      throw new InvalidInputError(`template ids: id ${i} must be a non-empty string of at most 65535 bytes`);
    }
    if (seen.has(id)) throw new InvalidInputError(`template ids: id ${i} is a duplicate`);
    seen.add(id);
  }
  return [...ids];
}

/**
 * Encrypts the templates in storage order and the reference points. `ids[i]` names input
 * template i (default: its index as a string); CS1 gets them in storage order.
 */
export function encryptIndex(he: HeProvider, templates: VectorSet, plain: PlainIndex, ids?: readonly string[]): ProviderOutput {
  const descriptor = he.descriptor;
  const maxAbs = assertIntegerTemplates(templates);
  if (templates.d !== descriptor.d) throw new DimensionMismatchError('templates', descriptor.d, templates.d);
  if (maxAbs > descriptor.maxAbs) {
    throw new InvalidInputError(`templates: coordinates exceed the key's bound ${descriptor.maxAbs} (generate the key with a larger maxAbs)`);
  }
  const { idistance, segments } = plain;
  if (idistance.n !== templates.n || segments.n !== templates.n) {
    throw new InvalidInputError('plain index: it was built for a different template set');
  }
  const inputIds = checkIds(ids, templates.n);
  const templateIds = Array.from(idistance.order, (i) => inputIds[i]);
  const records = he.encryptRecords(templatesInKeyOrder(templates, idistance));
  const referenceRecords = he.encryptRecords(idistance.referencePoints);
  return {
    cs1Index: {
      backend: descriptor.backend,
      keyId: descriptor.keyId,
      recordBytes: descriptor.recordBytes,
      vectorsPerRecord: descriptor.vectorsPerRecord,
      metadata: publicMetadata(idistance),
      segments,
      referenceRecords,
      templateIds,
    },
    records,
    evaluationMaterial: he.exportEvaluation(),
    secretMaterial: he.exportSecret(),
    publicMaterial: he.exportPublic(),
  };
}
