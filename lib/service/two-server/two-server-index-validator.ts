/**
 * Publishing a two-server index version checks the parts (metadata.ts) completely before
 * anything is cataloged:
 * - cs1-index decodes fully (every invariant of decodeCs1Index, format version 2: with the
 *   owner's policy and the shard table);
 * - evaluation loads as HE evaluation material of the SAME key (key id, backend, record layout)
 *   as cs1-index;
 * - public loads as HE public material whose descriptor equals the evaluation material's (so
 *   clients encrypt queries CS1 can evaluate: same key, same query size);
 * - every shard the version uploads is a part records-NNNN of exactly
 *   ceil(templates / vectorsPerRecord) * recordBytes bytes, and no other records part is
 *   declared; every shard it inherits (copy-on-write) is a shard of an earlier complete
 *   version of this index with the same key, the same size and the SAME template ids in the
 *   same order (so an owner whose local state drifted cannot publish ids over the wrong
 *   records); the whole index passes the protocol's own consistency checks.
 * The records themselves are not read at publish (up to 5 GB of ciphertext per shard that only
 * CS2 could check); each is checked against the key when a query reads it.
 */
import { InvalidParametersError, isBlindsightError, MalformedDataError } from '../../core/errors';
import { SHE_IS_INSECURE, SHE_WARNING } from '../../he/backends';
import { loadHeClient } from '../../he/client';
import { loadHeEvaluator } from '../../he/evaluator';
import type { HeDescriptor } from '../../he/types';
import type { IndexVersion } from '../../storage/types';
import { checkCs1Index } from '../../twoserver/protocol/cs1';
import { cs1IndexFormatVersion, decodeCs1Index } from '../../twoserver/protocol/cs1-index-codec';
import type { Cs1Index } from '../../twoserver/protocol/types';
import { sha256Hex } from '../../twoserver/transport/decrypt-event';
import { ALLOW_INSECURE_PAPER_SCHEME_SETTING } from '../versions/publish-policy';
import type { IndexKindValidator, IndexPartsReader, IndexPublishPolicy, ValidatedIndexVersion } from '../types';
import {
  CS1_INDEX_BLOB,
  EVALUATION_BLOB,
  parseTwoServerMetadata,
  shardPartName,
  TWO_SERVER_EVALUATION_PART,
  TWO_SERVER_INDEX_PART,
  TWO_SERVER_PUBLIC_PART,
  TWO_SERVER_RECORDS_PART_PATTERN,
  twoServerMetadataToJson,
} from './metadata';
import type { ShardLocation } from './metadata';
import { parseVersionId } from '../../core/ids';
import type { VersionId } from '../../core/ids';

const WHAT_V1 = 'a two-server index of format version 1';

/** Rethrows decoder errors with the part they concern in front of the message. */
async function inPart<T>(part: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isBlindsightError(error) && ['MALFORMED_DATA', 'INVALID_INPUT', 'DIMENSION_MISMATCH', 'INVALID_PARAMETERS'].includes(error.code)) {
      throw new MalformedDataError(`part "${part}"`, error.message);
    }
    throw error;
  }
}


function checkSameKey(index: Cs1Index, evaluation: HeDescriptor): void {
  if (evaluation.keyId !== index.keyId || evaluation.backend !== index.backend) {
    throw new MalformedDataError(
      `part "${TWO_SERVER_EVALUATION_PART}"`,
      `belongs to ${evaluation.backend} key ${evaluation.keyId}, but the index was encrypted under ${index.backend} key ${index.keyId}`,
    );
  }
  if (evaluation.recordBytes !== index.recordBytes || evaluation.vectorsPerRecord !== index.vectorsPerRecord) {
    throw new MalformedDataError(`part "${TWO_SERVER_EVALUATION_PART}"`, 'describes another record layout than the index');
  }
}

/** Every field of the two descriptors (whatever fields the HE layer defines) must agree. */
function checkSameDescriptor(evaluation: HeDescriptor, publicKey: HeDescriptor): void {
  const fields = new Set([...Object.keys(evaluation), ...Object.keys(publicKey)]) as Set<keyof HeDescriptor>;
  for (const field of fields) {
    if (evaluation[field] !== publicKey[field]) {
      throw new MalformedDataError(
        `part "${TWO_SERVER_PUBLIC_PART}"`,
        field === 'keyId'
          ? `belongs to key ${publicKey.keyId}, but the index and evaluation material to key ${evaluation.keyId}`
          : `its ${String(field)} differs from the evaluation material's`,
      );
    }
  }
}

/** The earlier versions an index inherits shards from, each decoded once. */
class PriorVersions {
  private readonly loaded = new Map<string, Promise<{ metadata: ReturnType<typeof parseTwoServerMetadata>; index: Cs1Index } | undefined>>();

  constructor(private readonly parts: IndexPartsReader) {}

  get(version: VersionId) {
    let entry = this.loaded.get(version);
    if (entry === undefined) {
      entry = this.load(version);
      this.loaded.set(version, entry);
    }
    return entry;
  }

  private async load(version: VersionId) {
    const prior: IndexVersion | undefined = await this.parts.priorVersion(version);
    if (prior === undefined || prior.kind !== 'two-server') return undefined;
    // Stored, validated data: a failure here is a server fault, reported as such by the caller.
    return { metadata: parseTwoServerMetadata(prior.metadata), index: decodeCs1Index(await prior.readBlob(CS1_INDEX_BLOB)) };
  }
}

/**
 * Where every shard's records are: this version's part records-NNNN, or the object an earlier
 * version's shard lives in (after checking it holds the same templates in the same order).
 */
async function locateShards(parts: IndexPartsReader, index: Cs1Index, recordBases: Uint32Array, recordBytes: number): Promise<ShardLocation[]> {
  const uploaded = new Set(parts.names.filter((name) => TWO_SERVER_RECORDS_PART_PATTERN.test(name)));
  const priors = new PriorVersions(parts);
  const locations: ShardLocation[] = [];
  let position = 0;
  for (let s = 0; s < index.shards.length; s++) {
    const shard = index.shards[s];
    const bytes = (recordBases[s + 1] - recordBases[s]) * recordBytes;
    const ids = index.templateIds.slice(position, position + shard.templates);
    position += shard.templates;
    if (shard.inherited === undefined) {
      const name = shardPartName(s);
      if (!uploaded.delete(name)) {
        throw new MalformedDataError(`part "${TWO_SERVER_INDEX_PART}"`, `shard ${s} is not inherited, so part "${name}" (${bytes} bytes) must be uploaded`);
      }
      if (parts.size(name) !== bytes) {
        throw new MalformedDataError(`part "${name}"`, `is ${parts.size(name)} bytes, but shard ${s} holds ${shard.templates} templates: ${bytes} bytes of records`);
      }
      locations.push({ ref: parts.ref(name), bytes, templates: shard.templates });
      continue;
    }
    const { version, shard: from } = shard.inherited;
    const what = `shard ${s} (inherited from shard ${from} of version "${version}")`;
    // The uploaded index names the version: parsed here, where it enters.
    const prior = await priors.get(parseVersionId(version));
    if (prior === undefined) throw new MalformedDataError(`part "${TWO_SERVER_INDEX_PART}"`, `${what}: this index has no such complete two-server version`);
    const location = prior.metadata.shards[from];
    if (prior.index.keyId !== index.keyId || location === undefined || location.bytes !== bytes || location.templates !== shard.templates) {
      throw new MalformedDataError(`part "${TWO_SERVER_INDEX_PART}"`, `${what}: that version has no such shard of this key and size`);
    }
    const start = prior.metadata.shards.slice(0, from).reduce((sum, l) => sum + l.templates, 0);
    const priorIds = prior.index.templateIds.slice(start, start + shard.templates);
    if (priorIds.some((id, i) => id !== ids[i])) {
      throw new MalformedDataError(`part "${TWO_SERVER_INDEX_PART}"`, `${what}: its template ids differ from that shard's (re-sync the owner's index)`);
    }
    locations.push(location);
  }
  if (uploaded.size > 0) {
    throw new MalformedDataError(`part "${[...uploaded][0]}"`, 'belongs to no shard of this version (the shard is inherited or does not exist)');
  }
  return locations;
}

/** she indexes only when the deployment allows them; returns the warnings to give back. */
function checkBackendAllowed(index: Cs1Index, policy: IndexPublishPolicy): string[] {
  if (index.backend !== 'she') return [];
  if (!policy.allowInsecurePaperScheme) {
    throw new InvalidParametersError(
      `this CS1 does not accept two-server indexes of the 'she' backend: ${SHE_IS_INSECURE}. ` +
        `Rebuild the index with the bfv backend; CS1's operator can allow she for experiments with ${ALLOW_INSECURE_PAPER_SCHEME_SETTING}=true`,
    );
  }
  return [`the index uses the 'she' backend (${ALLOW_INSECURE_PAPER_SCHEME_SETTING} is on): ${SHE_WARNING}`];
}

async function validateTwoServer(parts: IndexPartsReader, policy: IndexPublishPolicy): Promise<ValidatedIndexVersion> {
  const indexBytes = await parts.read(TWO_SERVER_INDEX_PART);
  const index = await inPart(TWO_SERVER_INDEX_PART, () => {
    if (cs1IndexFormatVersion(indexBytes) < 2) throw new MalformedDataError(WHAT_V1, 'rebuild the index with this version of Blindsight (it sets the owner\'s limits and shards)');
    return decodeCs1Index(indexBytes);
  });
  // Before any HE material is loaded; checkSameKey below makes the evaluation material's backend the same.
  const warnings = checkBackendAllowed(index, policy);

  const evaluationBytes = await parts.read(TWO_SERVER_EVALUATION_PART);
  const evaluator = await inPart(TWO_SERVER_EVALUATION_PART, () => loadHeEvaluator(evaluationBytes));
  try {
    const descriptor = evaluator.descriptor;
    checkSameKey(index, descriptor);

    const publicBytes = await parts.read(TWO_SERVER_PUBLIC_PART);
    const client = await inPart(TWO_SERVER_PUBLIC_PART, () => loadHeClient(publicBytes));
    try {
      checkSameDescriptor(descriptor, client.descriptor);
    } finally {
      client.dispose();
    }

    const layout = await inPart(TWO_SERVER_INDEX_PART, () => checkCs1Index(index, evaluator));
    const shards = await locateShards(parts, index, layout.recordBases, descriptor.recordBytes);
    const n = index.metadata.n;

    const metadata = twoServerMetadataToJson({
      backend: descriptor.backend,
      keyId: descriptor.keyId,
      d: descriptor.d,
      maxAbs: descriptor.maxAbs,
      vectorsPerRecord: descriptor.vectorsPerRecord,
      recordBytes: descriptor.recordBytes,
      queryBytes: descriptor.queryBytes,
      dist2Max: descriptor.dist2Max,
      templateCount: n,
      partitions: index.metadata.partitions,
      shards,
      policy: index.policy,
      publicMaterial: { ref: parts.ref(TWO_SERVER_PUBLIC_PART), bytes: publicBytes.length, sha256: sha256Hex(publicBytes) },
      publishedFrom: parts.version,
    });
    return { metadata, blobs: { [CS1_INDEX_BLOB]: indexBytes, [EVALUATION_BLOB]: evaluationBytes }, ...(warnings.length > 0 ? { warnings } : {}) };
  } finally {
    evaluator.dispose();
  }
}

export const twoServerIndexValidator: IndexKindValidator = { validate: validateTwoServer };
