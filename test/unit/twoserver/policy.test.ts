/**
 * The identification policy (largest k and tau, per-user budget) and how CS1's index format
 * carries it: version 2 stores the owner's policy and the shard table; version 1 indexes (before
 * policies) still load, with the restrictive legacy policy.
 */
import { describe, expect, it } from 'vitest';
import { BinaryWriter } from '../../../lib/codec/binary';
import { InvalidInputError, MalformedDataError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { writeIDistanceMetadata } from '../../../lib/twoserver/idistance-codec';
import { buildIDistance } from '../../../lib/twoserver/idistance';
import {
  DEFAULT_MAX_K,
  DEFAULT_QUERY_BUDGET,
  identificationPolicy,
  LEGACY_POLICY,
  parseQueryBudget,
  POLICY_MAX_K,
  validatePolicy,
} from '../../../lib/twoserver/policy';
import { cs1IndexFormatVersion, decodeCs1Index, encodeCs1Index } from '../../../lib/twoserver/protocol/cs1-index-codec';
import type { Cs1Index } from '../../../lib/twoserver/protocol/types';
import { buildSegmentIndex } from '../../../lib/twoserver/segments';
import { writeSegmentIndex } from '../../../lib/twoserver/segments/codec';
import { syntheticTemplates } from '../../../scripts/bench/synthetic/templates';

describe('identification policy', () => {
  it('fills in the defaults and checks every field', () => {
    expect(identificationPolicy({ maxTauSquared: 360_000 })).toEqual({ maxK: DEFAULT_MAX_K, maxTauSquared: 360_000, budget: DEFAULT_QUERY_BUDGET });
    expect(identificationPolicy({ maxTauSquared: 0, maxK: 3, budget: { queries: 5 } }).budget).toEqual({ queries: 5, windowSeconds: 3600 });
    for (const bad of [
      { maxTauSquared: -1 },
      { maxTauSquared: 1.5 },
      { maxTauSquared: 2 ** 60 },
      { maxTauSquared: 0, maxK: 0 },
      { maxTauSquared: 0, maxK: POLICY_MAX_K + 1 },
      { maxTauSquared: 0, budget: { queries: 0 } },
      { maxTauSquared: 0, budget: { windowSeconds: 0 } },
    ]) {
      expect(() => identificationPolicy(bad)).toThrow(InvalidInputError);
    }
    expect(() => validatePolicy({ maxK: 1, maxTauSquared: 101, budget: DEFAULT_QUERY_BUDGET }, 100)).toThrow(/maxTauSquared/);
  });

  it('reads budgets written as queries per window', () => {
    expect(parseQueryBudget('100/1h')).toEqual({ queries: 100, windowSeconds: 3600 });
    expect(parseQueryBudget('20/m')).toEqual({ queries: 20, windowSeconds: 60 });
    expect(parseQueryBudget(' 5 / 30s ')).toEqual({ queries: 5, windowSeconds: 30 });
    expect(parseQueryBudget('1000/7d')).toEqual({ queries: 1000, windowSeconds: 7 * 86400 });
    for (const bad of ['100', '0/1h', '10/1w', 'many/1h', '10/0h']) expect(() => parseQueryBudget(bad)).toThrow(InvalidInputError);
  });
});

describe("CS1's index format", () => {
  const templates = syntheticTemplates(40, 4, { kind: 'clustered', seed: 3, clusters: 3 });
  const idistance = buildIDistance(templates, { partitions: 3, random: seededRandom(4) });
  const segments = buildSegmentIndex(idistance.keys, { eps: 2 });
  const base: Cs1Index = {
    backend: 'bfv',
    keyId: '0123456789abcdef',
    recordBytes: 10,
    vectorsPerRecord: 4,
    metadata: { partitions: idistance.partitions, n: 40, offsets: idistance.offsets, dmax: idistance.dmax, partitionStarts: idistance.partitionStarts },
    segments,
    referenceRecords: new Uint8Array(10),
    templateIds: Array.from({ length: 40 }, (_, i) => `id-${i}`),
    policy: identificationPolicy({ maxTauSquared: 1234, maxK: 7, budget: { queries: 9, windowSeconds: 60 } }),
    shards: [{ templates: 25 }, { templates: 15, inherited: { version: '20260101T000000000Z-abcd', shard: 3 } }],
  };

  it('keeps the policy and the shard table (version 2)', () => {
    const bytes = encodeCs1Index(base);
    expect(cs1IndexFormatVersion(bytes)).toBe(2);
    expect(decodeCs1Index(bytes)).toEqual(base);
  });

  it('refuses shard tables that do not cover the templates, and bad policies', () => {
    expect(() => decodeCs1Index(encodeCs1Index({ ...base, shards: [{ templates: 39 }] }))).toThrow(MalformedDataError);
    expect(() => encodeCs1Index({ ...base, policy: { ...base.policy, maxK: 0 } })).toThrow(InvalidInputError);
    expect(() => encodeCs1Index({ ...base, shards: [{ templates: 40, inherited: { version: '../x', shard: 0 } }] })).toThrow(InvalidInputError);
  });

  it('still reads version 1 (one shard, the legacy policy)', () => {
    const writer = new BinaryWriter().header('TSIX', 1);
    writer.string(base.backend).string(base.keyId).u32(base.recordBytes).u32(base.vectorsPerRecord);
    writeIDistanceMetadata(writer, base.metadata);
    writeSegmentIndex(writer, base.segments);
    writer.blob(base.referenceRecords);
    writer.u32(40);
    for (const id of base.templateIds) writer.string(id);
    const decoded = decodeCs1Index(writer.finish());
    expect(decoded.policy).toEqual(LEGACY_POLICY);
    expect(decoded.shards).toEqual([{ templates: 40 }]);
    expect(decoded.templateIds).toEqual(base.templateIds);
  });
});
