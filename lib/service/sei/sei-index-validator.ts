/**
 * Publishing an SEI index version: decodes the skeleton and EVERY leaf block at the offsets the
 * skeleton's leaf directory implies, checks ids (valid image ids, unique), writes the image
 * directory derived from the leaves, and catalogs the version: skeleton and leaf-locations
 * blobs plus metadata.
 */
import { isBlindsightError, MalformedDataError } from '../../core/errors';
import { decodeIndexSkeleton, decodeLeafBlock } from '../../sei/index-tree/format';
import type { IndexSkeleton } from '../../sei/index-tree/format';
import { SLOT_RANGE } from '../../sei/index-tree/search';
import { SUBSPACE_TOLERANCE, subspaceDeviation } from '../../sei/score-reduction';
import { mapLimited } from '../../core/concurrency';
import { parseImageId } from '../../core/ids';
import { directoryShardCount, encodeDirectoryShard, shardOf } from './sei-image-directory';
import type { DirectoryShard } from './sei-image-directory';
import { SEI_DIRECTORY_OBJECT, SEI_LEAVES_PART, SEI_SKELETON_PART } from './sei-index-kind';
import { encodeSeiLocations, LEAF_LOCATIONS_BLOB } from './sei-locations';
import type { BlockLocation, SeiLocations } from './sei-locations';
import { seiMetadataToJson } from './sei-metadata';
import type { IndexKindValidator, IndexPartsReader, ValidatedIndexVersion } from '../types';
import { assertScoreOperands } from '../../sei/score';

/** Leaf blocks are read for validation in ranges of about this size, a few at a time. */
const VALIDATION_RANGE_BYTES = 8 * 1024 * 1024;
const VALIDATION_CONCURRENCY = 4;

/** Rethrows decoder errors with the part (and leaf) they concern in front of the message. */
async function inPart<T>(where: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isBlindsightError(error) && (error.code === 'MALFORMED_DATA' || error.code === 'INVALID_INPUT')) {
      throw new MalformedDataError(where, error.message);
    }
    throw error;
  }
}

/** Consecutive leaves grouped into range reads of about VALIDATION_RANGE_BYTES. */
function validationBatches(skeleton: IndexSkeleton): Array<{ first: number; end: number; offset: number; length: number }> {
  const batches: Array<{ first: number; end: number; offset: number; length: number }> = [];
  let offset = 0;
  let leaf = 0;
  const directory = skeleton.leafDirectory;
  while (leaf < directory.length) {
    const batch = { first: leaf, end: leaf, offset, length: 0 };
    while (batch.end < directory.length && (batch.length === 0 || batch.length + directory[batch.end].byteLength <= VALIDATION_RANGE_BYTES)) {
      batch.length += directory[batch.end].byteLength;
      batch.end++;
    }
    batches.push(batch);
    offset += batch.length;
    leaf = batch.end;
  }
  return batches;
}

/** Every node vector must lie on the skeleton's score reduction, or searches would score wrongly. */
function checkNodesOnReduction(skeleton: IndexSkeleton): void {
  const { reduction, m } = skeleton;
  if (reduction === undefined) return;
  for (let node = 0; node < skeleton.leafOf.length; node++) {
    if (!(subspaceDeviation(reduction, skeleton.nodeVectors, node * m) <= SUBSPACE_TOLERANCE)) {
      throw new MalformedDataError(`part "${SEI_SKELETON_PART}"`, `node ${node} does not lie on the score reduction (the reduction belongs to another key)`);
    }
  }
}

/** Decodes every leaf block of the `leaves` part; returns id -> leaf. */
async function validateLeaves(parts: IndexPartsReader, skeleton: IndexSkeleton): Promise<Map<string, number>> {
  const directory = skeleton.leafDirectory;
  const locations = new Map<string, number>();
  await mapLimited(validationBatches(skeleton), VALIDATION_CONCURRENCY, async (batch) => {
    const bytes = await parts.readRange(SEI_LEAVES_PART, batch.offset, batch.offset + batch.length);
    let at = 0;
    for (let leafIndex = batch.first; leafIndex < batch.end; leafIndex++) {
      const { count, byteLength } = directory[leafIndex];
      const where = `part "${SEI_LEAVES_PART}", leaf ${leafIndex} (bytes ${batch.offset + at}-${batch.offset + at + byteLength - 1})`;
      const block = bytes.subarray(at, at + byteLength);
      at += byteLength;
      const leaf = await inPart(where, () => decodeLeafBlock(block, skeleton.m, count));
      await inPart(where, () => assertScoreOperands(leaf.vectors, 'encrypted vectors'));
      if (leaf.count >= SLOT_RANGE) throw new MalformedDataError(where, `holds ${leaf.count} images; a leaf holds fewer than ${SLOT_RANGE}`);
      // A sample per leaf (checking every vector would cost (d+1)^2 each): enough to catch a wrong key or reduction.
      if (skeleton.reduction !== undefined && leaf.count > 0 && !(subspaceDeviation(skeleton.reduction, leaf.vectors, 0) <= SUBSPACE_TOLERANCE)) {
        throw new MalformedDataError(where, 'its first vector does not lie on the score reduction of the skeleton (a different owner key?)');
      }
      for (const id of leaf.ids) {
        await inPart(where, () => parseImageId(id));
        const other = locations.get(id);
        if (other !== undefined) throw new MalformedDataError(where, `image id "${id}" appears twice (also in leaf ${other})`);
        locations.set(id, leafIndex);
      }
    }
  });
  return locations;
}

/** Writes the image directory object (all shards) and returns where each shard lies. */
async function writeImageDirectory(parts: IndexPartsReader, locations: Map<string, number>): Promise<BlockLocation[]> {
  const shardCount = directoryShardCount(locations.size);
  const shards: DirectoryShard[] = Array.from({ length: shardCount }, () => new Map());
  for (const [id, leaf] of locations) shards[shardOf(id, shardCount)].set(id, leaf);
  const encoded = shards.map(encodeDirectoryShard);
  const bytes = new Uint8Array(encoded.reduce((sum, block) => sum + block.length, 0));
  const blocks: BlockLocation[] = [];
  let offset = 0;
  encoded.forEach((block, i) => {
    bytes.set(block, offset);
    // Object 1 of the locations table (object 0 is the leaves part).
    blocks.push({ object: 1, offset, length: block.length, count: shards[i].size });
    offset += block.length;
  });
  await parts.writeDerived(SEI_DIRECTORY_OBJECT, bytes);
  return blocks;
}

async function validateSei(parts: IndexPartsReader): Promise<ValidatedIndexVersion> {
  const skeletonBytes = await parts.read(SEI_SKELETON_PART);
  const skeleton = await inPart(`part "${SEI_SKELETON_PART}"`, () => decodeIndexSkeleton(skeletonBytes));
  // Stored vectors are score operands: bounded, so that no accepted trapdoor makes a score overflow.
  await inPart(`part "${SEI_SKELETON_PART}"`, () => assertScoreOperands(skeleton.nodeVectors, 'node vectors'));
  checkNodesOnReduction(skeleton);
  const expected = skeleton.leafDirectory.reduce((sum, entry) => sum + entry.byteLength, 0);
  const actual = parts.size(SEI_LEAVES_PART);
  if (actual !== expected) {
    throw new MalformedDataError(
      `part "${SEI_LEAVES_PART}"`,
      `is ${actual} bytes, but the skeleton's leaf directory describes ${expected} bytes of leaf blocks`,
    );
  }
  const locations = await validateLeaves(parts, skeleton);
  const shards = await writeImageDirectory(parts, locations);

  let offset = 0;
  const leaves: BlockLocation[] = skeleton.leafDirectory.map((entry) => {
    const block = { object: 0, offset, length: entry.byteLength, count: entry.count };
    offset += entry.byteLength;
    return block;
  });
  const table: SeiLocations = { objects: [parts.ref(SEI_LEAVES_PART), parts.ref(SEI_DIRECTORY_OBJECT)], leaves, shards };
  const metadata = seiMetadataToJson({
    d: skeleton.d,
    m: skeleton.m,
    ownerKeyId: skeleton.ownerKeyId,
    imageCount: locations.size,
    leafCount: leaves.length,
    nodeCount: skeleton.leafOf.length,
    shardCount: shards.length,
    updates: { ...skeleton.updates },
    search: skeleton.search,
    publishedFrom: parts.version,
    // A cold search function reads the skeleton as one S3 object (its copy, digest-checked),
    // not as chunks of one DynamoDB partition.
    skeleton: parts.ref(SEI_SKELETON_PART),
  });
  return { metadata, blobs: { [LEAF_LOCATIONS_BLOB]: encodeSeiLocations(table) } };
}

export const seiIndexValidator: IndexKindValidator = { validate: validateSei };
