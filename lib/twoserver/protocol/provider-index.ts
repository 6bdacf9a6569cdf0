/**
 * The provider's (owner's) updatable index: the plaintext templates with their partitions and
 * storage order, shard by shard, and where each shard's encrypted records were published. It
 * makes the first version and every copy-on-write update:
 *
 * - add(id, template): the template joins its nearest reference point's partition (the
 *   iDistance rule), at its key position in the ONE shard that holds that key range;
 * - delete(id): the template leaves its shard (a partition or shard left empty is dropped);
 * - only the shards an update touched are re-encrypted (with a fresh in-record permutation);
 *   every other shard is inherited from the version that published it, so a new version costs
 *   one shard of records plus CS1's index (ids, metadata, segments, reference points).
 *
 * Why the other shards stay valid. A partition's keys are offset_p + dist(t, O_p). An update
 * may change dmax_p and therefore the offsets of later partitions, but that shifts all keys of
 * a partition by the same amount: the key ORDER, hence every untouched shard's storage order,
 * is unchanged. Positions after the changed shard shift by one; positions are not stored in
 * records (each shard is its own record space, ../shards.ts), so no record changes. Segments,
 * offsets, dmax and partition starts are recomputed from the plaintext keys at every version
 * (cheap: a million keys take about 100 ms).
 *
 * Never leaves the provider: it holds the plaintext templates. encodeProviderIndex /
 * decodeProviderIndex keep it between runs (a private file, like the HE provider key).
 */
import { BinaryReader, BinaryWriter } from '../../codec/binary';
import { InvalidInputError, InvalidParametersError, NotFoundError } from '../../core/errors';
import { secureRandom, shuffleInPlace } from '../../core/random';
import type { RandomSource } from '../../core/random';
import type { HeProvider } from '../../he/types';
import type { VectorSet } from '../../linalg/vectors';
import { squaredDistanceAt } from '../../linalg/vectors';
import { assertIntegerTemplates, iDistanceKey, partitionOffsets } from '../idistance';
import { validatePolicy } from '../policy';
import type { IdentificationPolicy } from '../policy';
import { buildSegmentIndex, validateSegmentOptions } from '../segments/build';
import type { SegmentationMethod } from '../segments/types';
import { planShards } from '../shards';
import type { IDistanceIndex, IDistanceMetadata } from '../types';
import type { Cs1Index, ShardEntry } from './types';

/** Where a shard's records were published: shard `shard` of version `version`. */
export interface ShardOrigin {
  readonly version: string;
  readonly shard: number;
}

interface Shard {
  /** Internal template numbers in storage order. */
  members: number[];
  /** Undefined until the shard's current content is published. */
  origin?: ShardOrigin;
}

export interface ProviderIndexOptions {
  readonly policy: IdentificationPolicy;
  /** Segment error bound and segmentation. */
  readonly eps: number;
  readonly method?: SegmentationMethod;
  /** Largest shard, in templates (whole records are kept together). */
  readonly maxShardTemplates: number;
  /** Templates per record of the HE key the shards are encrypted with. */
  readonly vectorsPerRecord: number;
}

/** Shards an update changed (to upload), and the rest. */
export interface PendingShards {
  readonly fresh: number[];
  readonly inherited: number[];
}

export const PROVIDER_INDEX_MAGIC = 'TSPI';

/**
 * Storage order of one run of key positions: key order with each run of vectorsPerRecord
 * positions (one record) shuffled, so the slot of a template inside its record is independent
 * of its key position.
 */
export function storageOrder(idistance: Pick<IDistanceIndex, 'order'>, vectorsPerRecord: number, random: RandomSource = secureRandom): Uint32Array {
  if (!Number.isInteger(vectorsPerRecord) || vectorsPerRecord < 1) {
    throw new InvalidInputError(`storage order: vectorsPerRecord = ${vectorsPerRecord} must be a positive integer`);
  }
  const out = Uint32Array.from(idistance.order);
  if (vectorsPerRecord === 1) return out;
  for (let start = 0; start < out.length; start += vectorsPerRecord) {
    const record = Array.from(out.subarray(start, Math.min(out.length, start + vectorsPerRecord)));
    out.set(shuffleInPlace(record, random), start);
  }
  return out;
}
const VERSION = 1;

export class ProviderIndex {
  private readonly d: number;
  /** K x d integer reference points, partition i = row i (partitions in key order). */
  private reference: Float64Array;
  private vectors: Float64Array;
  private ids: string[] = [];
  private partitionOf: Uint32Array;
  private dist2: Float64Array;
  private readonly byId = new Map<string, number>();
  private readonly free: number[] = [];
  private shards: Shard[] = [];
  private readonly eps: number;
  private readonly method: SegmentationMethod;
  readonly maxShardTemplates: number;
  readonly vectorsPerRecord: number;
  private policyValue: IdentificationPolicy;

  private constructor(d: number, reference: Float64Array, capacity: number, options: ProviderIndexOptions) {
    this.d = d;
    this.reference = reference;
    this.vectors = new Float64Array(Math.max(1, capacity) * d);
    this.partitionOf = new Uint32Array(Math.max(1, capacity));
    this.dist2 = new Float64Array(Math.max(1, capacity));
    this.method = validateSegmentOptions({ eps: options.eps, method: options.method });
    this.eps = options.eps;
    this.policyValue = validatePolicy(options.policy);
    if (!Number.isSafeInteger(options.maxShardTemplates) || options.maxShardTemplates < 1) {
      throw new InvalidParametersError(`maxShardTemplates = ${options.maxShardTemplates} must be a positive integer`);
    }
    if (!Number.isInteger(options.vectorsPerRecord) || options.vectorsPerRecord < 1) {
      throw new InvalidParametersError('vectorsPerRecord must be a positive integer');
    }
    this.maxShardTemplates = options.maxShardTemplates;
    this.vectorsPerRecord = options.vectorsPerRecord;
  }

  /**
   * From a freshly built iDistance index of `templates` (input order; ids[i] names template i):
   * shards planned on the partitions, each in key order with its records permuted (`random`).
   */
  static fromIDistance(
    templates: VectorSet,
    idistance: IDistanceIndex,
    ids: readonly string[],
    options: ProviderIndexOptions,
    random: RandomSource = secureRandom,
  ): ProviderIndex {
    assertIntegerTemplates(templates);
    const { n, d } = templates;
    if (idistance.n !== n || ids.length !== n) throw new InvalidInputError('provider index: templates, ids and the iDistance index disagree on n');
    const index = new ProviderIndex(d, Float64Array.from(idistance.referencePoints.data), n, options);
    for (let i = 0; i < n; i++) index.place(i, ids[i], templates.data.subarray(i * d, (i + 1) * d), idistance.partitionOf[i]);
    const counts = planShards(idistance.partitionStarts, { maxTemplates: options.maxShardTemplates, vectorsPerRecord: options.vectorsPerRecord });
    let at = 0;
    for (const count of counts) {
      index.shards.push({ members: index.permuteRecords(Array.from(idistance.order.subarray(at, at + count)), random) });
      at += count;
    }
    return index;
  }

  get templateCount(): number {
    return this.byId.size;
  }

  get partitions(): number {
    return this.reference.length / this.d;
  }

  get dimension(): number {
    return this.d;
  }

  get shardCount(): number {
    return this.shards.length;
  }

  get policy(): IdentificationPolicy {
    return this.policyValue;
  }

  /** A new policy: the next version inherits every shard (nothing to re-encrypt). */
  setPolicy(policy: IdentificationPolicy): void {
    this.policyValue = validatePolicy(policy);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Template ids in storage order. */
  templateIds(): string[] {
    return this.shards.flatMap((shard) => shard.members.map((m) => this.ids[m]));
  }

  /** Which shards must be uploaded with the next version (changed since published) and which are inherited. */
  pending(): PendingShards {
    const fresh: number[] = [];
    const inherited: number[] = [];
    this.shards.forEach((shard, s) => (shard.origin === undefined ? fresh : inherited).push(s));
    return { fresh, inherited };
  }

  /** Records that the next version was published as `version`: its uploaded shards now live there. */
  markPublished(version: string): void {
    this.shards.forEach((shard, s) => {
      if (shard.origin === undefined) shard.origin = { version, shard: s };
    });
  }

  /** Adds a template to its nearest partition, in the shard holding its key. */
  add(id: string, template: ArrayLike<number>): void {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidInputError('add: a template id is required');
    if (this.byId.has(id)) throw new InvalidInputError(`add: template "${id}" is already in the index`);
    const vector = this.checkTemplate(template);
    // Nearest reference point, exact integers, lowest partition on ties.
    let partition = 0;
    let best = Infinity;
    for (let p = 0; p < this.partitions; p++) {
      const dist2 = squaredDistanceAt(this.reference, p * this.d, vector, 0, this.d);
      if (dist2 < best) {
        best = dist2;
        partition = p;
      }
    }
    const member = this.place(this.allocate(), id, vector, partition);
    const key = this.dist2[member];
    // The last shard holding the partition whose smallest key of it is <= the new key (else
    // the first shard holding it): key order across shards stays intact.
    let target = -1;
    for (let s = 0; s < this.shards.length; s++) {
      let min = Infinity;
      for (const m of this.shards[s].members) if (this.partitionOf[m] === partition && this.dist2[m] < min) min = this.dist2[m];
      if (min === Infinity) continue;
      if (target === -1 || min <= key) target = s;
      if (min > key) break;
    }
    this.shards[target].members.push(member);
    this.rebuildShard(target);
  }

  /** Removes a template (NotFoundError if it is not in the index). */
  delete(id: string): void {
    const member = this.byId.get(id);
    if (member === undefined) throw new NotFoundError(`template "${id}" is not in the index`);
    if (this.byId.size === 1) throw new InvalidInputError('delete: an index keeps at least one template (delete the index instead)');
    const s = this.shards.findIndex((shard) => shard.members.includes(member));
    const shard = this.shards[s];
    shard.members.splice(shard.members.indexOf(member), 1);
    const partition = this.partitionOf[member];
    this.byId.delete(id);
    this.ids[member] = '';
    this.free.push(member);
    if (shard.members.length === 0) this.shards.splice(s, 1);
    else this.rebuildShard(s);
    if (![...this.byId.values()].some((m) => this.partitionOf[m] === partition)) this.dropPartition(partition);
  }

  /**
   * CS1's index for the next version: reference points encrypted afresh, metadata and segments
   * recomputed from the plaintext keys, and the shard table (inherited shards named by origin).
   */
  cs1Index(he: HeProvider): Cs1Index {
    const descriptor = he.descriptor;
    this.checkKey(he);
    const { metadata, keys } = this.metadata();
    const segments = buildSegmentIndex(keys, { eps: this.eps, method: this.method });
    const shards: ShardEntry[] = this.shards.map((shard) =>
      shard.origin === undefined ? { templates: shard.members.length } : { templates: shard.members.length, inherited: { ...shard.origin } },
    );
    return {
      backend: descriptor.backend,
      keyId: descriptor.keyId,
      recordBytes: descriptor.recordBytes,
      vectorsPerRecord: descriptor.vectorsPerRecord,
      metadata,
      segments,
      referenceRecords: he.encryptRecords({ n: this.partitions, d: this.d, data: this.reference }),
      templateIds: this.templateIds(),
      policy: this.policyValue,
      shards,
    };
  }

  /** Records in shard s. */
  shardRecordCount(s: number): number {
    return Math.ceil(this.shardMembers(s).length / this.vectorsPerRecord);
  }

  /** Templates of shard s, in storage order. */
  shardTemplates(s: number): VectorSet {
    const members = this.shardMembers(s);
    const { d } = this;
    const data = new Float64Array(members.length * d);
    members.forEach((m, k) => data.set(this.vectors.subarray(m * d, (m + 1) * d), k * d));
    return { n: members.length, d, data };
  }

  /**
   * Shard s's records encrypted chunk by chunk (whole records, `chunkRecords` per chunk): one
   * chunk in memory at a time. Concatenated: shardRecordCount(s) * recordBytes bytes.
   */
  *shardChunks(he: HeProvider, s: number, chunkRecords: number): Generator<Uint8Array, void, undefined> {
    this.checkKey(he);
    const members = this.shardMembers(s);
    const { d } = this;
    const vpr = this.vectorsPerRecord;
    for (let first = 0; first < members.length; first += chunkRecords * vpr) {
      const count = Math.min(members.length - first, chunkRecords * vpr);
      const data = new Float64Array(count * d);
      for (let k = 0; k < count; k++) data.set(this.vectors.subarray(members[first + k] * d, (members[first + k] + 1) * d), k * d);
      yield he.encryptRecords({ n: count, d, data });
    }
  }

  /** Shard s's records in one buffer. */
  encryptShard(he: HeProvider, s: number): Uint8Array {
    this.checkKey(he);
    return he.encryptRecords(this.shardTemplates(s));
  }

  // -------------------------------------------------------------------------------------------

  private shardMembers(s: number): number[] {
    if (!Number.isInteger(s) || s < 0 || s >= this.shards.length) throw new InvalidInputError(`no shard ${s}`);
    return this.shards[s].members;
  }

  private checkKey(he: HeProvider): void {
    const descriptor = he.descriptor;
    if (descriptor.d !== this.d || descriptor.vectorsPerRecord !== this.vectorsPerRecord) {
      throw new InvalidInputError(`provider index: the HE key is for d = ${descriptor.d} with ${descriptor.vectorsPerRecord} vectors per record, the index d = ${this.d} with ${this.vectorsPerRecord}`);
    }
    let maxAbs = 0;
    for (const m of this.byId.values()) {
      for (let j = 0; j < this.d; j++) maxAbs = Math.max(maxAbs, Math.abs(this.vectors[m * this.d + j]));
    }
    for (const v of this.reference) maxAbs = Math.max(maxAbs, Math.abs(v));
    if (maxAbs > descriptor.maxAbs) throw new InvalidInputError(`provider index: coordinates exceed the key's bound ${descriptor.maxAbs}`);
  }

  private checkTemplate(template: ArrayLike<number>): Float64Array {
    if (template === null || typeof template !== 'object' || template.length !== this.d) {
      throw new InvalidInputError(`template: ${this.d} integers are required`);
    }
    const vector = Float64Array.from(template);
    assertIntegerTemplates({ n: 1, d: this.d, data: vector }, 'template');
    return vector;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const member = this.ids.length;
    if (member >= this.partitionOf.length) {
      const capacity = Math.max(16, this.partitionOf.length * 2);
      const vectors = new Float64Array(capacity * this.d);
      vectors.set(this.vectors);
      this.vectors = vectors;
      const partitionOf = new Uint32Array(capacity);
      partitionOf.set(this.partitionOf);
      this.partitionOf = partitionOf;
      const dist2 = new Float64Array(capacity);
      dist2.set(this.dist2);
      this.dist2 = dist2;
    }
    return member;
  }

  private place(member: number, id: string, vector: ArrayLike<number>, partition: number): number {
    if (this.byId.has(id)) throw new InvalidInputError(`template id "${id}" is a duplicate`);
    this.vectors.set(vector, member * this.d);
    this.partitionOf[member] = partition;
    this.dist2[member] = squaredDistanceAt(this.vectors, member * this.d, this.reference, partition * this.d, this.d);
    this.ids[member] = id;
    this.byId.set(id, member);
    return member;
  }

  /** A fresh permutation inside each record of a key-ordered run. */
  private permuteRecords(members: number[], random: RandomSource): number[] {
    return Array.from(storageOrder({ order: Uint32Array.from(members) }, this.vectorsPerRecord, random));
  }

  /** Re-sorts shard s by key, splits it if it outgrew the bound, and marks it for upload. */
  private rebuildShard(s: number): void {
    const sorted = [...this.shards[s].members].sort(
      (a, b) => this.partitionOf[a] - this.partitionOf[b] || this.dist2[a] - this.dist2[b] || (this.ids[a] < this.ids[b] ? -1 : this.ids[a] > this.ids[b] ? 1 : 0),
    );
    const parts: number[][] = [];
    if (sorted.length > this.maxShardTemplates) {
      const starts = [0];
      for (let k = 1; k < sorted.length; k++) if (this.partitionOf[sorted[k]] !== this.partitionOf[sorted[k - 1]]) starts.push(k);
      starts.push(sorted.length);
      let at = 0;
      for (const count of planShards(starts, { maxTemplates: this.maxShardTemplates, vectorsPerRecord: this.vectorsPerRecord })) {
        parts.push(sorted.slice(at, at + count));
        at += count;
      }
    } else {
      parts.push(sorted);
    }
    this.shards.splice(s, 1, ...parts.map((members) => ({ members: this.permuteRecords(members, secureRandom) })));
  }

  private dropPartition(partition: number): void {
    const { d } = this;
    const reference = new Float64Array(this.reference.length - d);
    reference.set(this.reference.subarray(0, partition * d));
    reference.set(this.reference.subarray((partition + 1) * d), partition * d);
    this.reference = reference;
    for (const m of this.byId.values()) if (this.partitionOf[m] > partition) this.partitionOf[m]--;
  }

  /** Public metadata and the sorted keys, from the plaintext. */
  private metadata(): { metadata: IDistanceMetadata; keys: Float64Array } {
    const partitions = this.partitions;
    const n = this.byId.size;
    const dmax = new Float64Array(partitions);
    const sizes = new Uint32Array(partitions);
    for (const m of this.byId.values()) {
      const p = this.partitionOf[m];
      sizes[p]++;
      const dist = Math.sqrt(this.dist2[m]);
      if (dist > dmax[p]) dmax[p] = dist;
    }
    const offsets = partitionOffsets(dmax);
    const partitionStarts = new Uint32Array(partitions + 1);
    for (let p = 0; p < partitions; p++) partitionStarts[p + 1] = partitionStarts[p] + sizes[p];
    // Storage order is key order up to the permutation inside each record: sorted, the keys
    // are those of the key positions, and every record keeps its run of them.
    const keys = new Float64Array(n);
    let at = 0;
    for (const shard of this.shards) for (const m of shard.members) keys[at++] = iDistanceKey(offsets[this.partitionOf[m]], this.dist2[m]);
    keys.sort();
    return { metadata: { partitions, n, offsets, dmax, partitionStarts }, keys };
  }

  // ----------------------------------------------------------------------------------- codec

  /** The private state file: templates in plaintext (keep it like the provider key). */
  encode(): Uint8Array {
    const { d } = this;
    const n = this.byId.size;
    const writer = new BinaryWriter(64 + (n * (d * 4 + 24)) + this.reference.length * 4).header(PROVIDER_INDEX_MAGIC, VERSION);
    writer.u32(d).u32(this.vectorsPerRecord).u32(this.eps).string(this.method).f64(this.maxShardTemplates);
    writer.u32(this.policyValue.maxK).f64(this.policyValue.maxTauSquared).u32(this.policyValue.budget.queries).u32(this.policyValue.budget.windowSeconds);
    writer.u32(this.partitions).i32Array(Int32Array.from(this.reference));
    writer.u32(this.shards.length);
    for (const shard of this.shards) {
      writer.string(shard.origin?.version ?? '').u32(shard.origin?.shard ?? 0).u32(shard.members.length);
      for (const m of shard.members) {
        writer.string(this.ids[m]).u32(this.partitionOf[m]).i32Array(Int32Array.from(this.vectors.subarray(m * d, (m + 1) * d)));
      }
    }
    return writer.finish();
  }

  private static create(reader: BinaryReader, d: number, reference: Float64Array, options: ProviderIndexOptions): ProviderIndex {
    try {
      return new ProviderIndex(d, reference, 16, options);
    } catch (error) {
      reader.fail(error instanceof Error ? error.message : 'invalid options');
    }
  }

  static decode(bytes: Uint8Array): ProviderIndex {
    const reader = new BinaryReader(bytes, 'two-server provider index');
    reader.header(PROVIDER_INDEX_MAGIC, [VERSION]);
    const d = reader.u32InRange('d', 1, 1 << 16);
    const vectorsPerRecord = reader.u32InRange('vectors per record', 1, 1 << 20);
    const eps = reader.u32('eps');
    const method = reader.string('segmentation') as SegmentationMethod;
    const maxShardTemplates = reader.f64('max shard templates');
    const policy = { maxK: reader.u32('maxK'), maxTauSquared: reader.f64('maxTauSquared'), budget: { queries: reader.u32('budget'), windowSeconds: reader.u32('window') } };
    const partitions = reader.u32InRange('partitions', 1, 1 << 24);
    const reference = Float64Array.from(reader.i32Array(partitions * d, 'reference points'));
    const index = ProviderIndex.create(reader, d, reference, { policy, eps, method, maxShardTemplates, vectorsPerRecord });
    const shardCount = reader.u32('shards');
    for (let s = 0; s < shardCount; s++) {
      const version = reader.string('shard origin');
      const originShard = reader.u32('shard origin index');
      const count = reader.u32('shard templates');
      if (count * (d * 4 + 7) > reader.remaining) reader.fail(`truncated: shard ${s} does not fit`);
      const members: number[] = [];
      for (let k = 0; k < count; k++) {
        const id = reader.string('template id');
        const partition = reader.u32('partition');
        const vector = reader.i32Array(d, 'template');
        if (partition >= partitions || id.length === 0 || index.byId.has(id)) reader.fail(`template ${k} of shard ${s} is invalid or a duplicate`);
        members.push(index.place(index.allocate(), id, vector, partition));
      }
      if (count === 0) reader.fail(`shard ${s} is empty`);
      index.shards.push(version === '' ? { members } : { members, origin: { version, shard: originShard } });
    }
    reader.end();
    if (index.byId.size === 0) reader.fail('the index holds no template');
    return index;
  }
}
