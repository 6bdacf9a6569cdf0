/**
 * Publishing a two-server index version checks the parts (metadata.ts) completely before
 * anything is cataloged:
 * - cs1-index decodes fully (every invariant of decodeCs1Index);
 * - evaluation loads as HE evaluation material of the SAME key (key id, backend, record layout)
 *   as cs1-index;
 * - public loads as HE public material whose descriptor equals the evaluation material's (so
 *   clients encrypt queries CS1 can evaluate: same key, same query size);
 * - records is exactly ceil(n / vectorsPerRecord) * recordBytes bytes, and the whole index
 *   passes the protocol's own consistency checks (Cs1Server's constructor).
 * The records themselves are not read at publish (they are up to 5 GB of ciphertext that only
 * CS2 could check); each is checked against the key when a query reads it.
 */
import { InvalidParametersError, isBlindsightError, MalformedDataError } from '../../core/errors';
import { SHE_IS_INSECURE, SHE_WARNING } from '../../he/backends';
import { loadHeClient } from '../../he/client';
import { loadHeEvaluator } from '../../he/evaluator';
import type { HeDescriptor } from '../../he/types';
import { Cs1Server } from '../../twoserver/protocol/cs1';
import { decodeCs1Index } from '../../twoserver/protocol/cs1-index-codec';
import type { Cs1Index } from '../../twoserver/protocol/types';
import { sha256Hex } from '../../twoserver/transport/decrypt-event';
import { ALLOW_INSECURE_PAPER_SCHEME_SETTING } from '../cs1/publish-policy';
import type { IndexKindValidator, IndexPartsReader, IndexPublishPolicy, ValidatedIndexVersion } from '../cs1/types';
import {
  CS1_INDEX_BLOB,
  EVALUATION_BLOB,
  TWO_SERVER_EVALUATION_PART,
  TWO_SERVER_INDEX_PART,
  TWO_SERVER_PUBLIC_PART,
  TWO_SERVER_RECORDS_PART,
  twoServerMetadataToJson,
} from './metadata';

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
  const index = await inPart(TWO_SERVER_INDEX_PART, () => decodeCs1Index(indexBytes));
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

    const n = index.metadata.n;
    const expected = Math.ceil(n / descriptor.vectorsPerRecord) * descriptor.recordBytes;
    const recordsBytes = parts.size(TWO_SERVER_RECORDS_PART);
    if (recordsBytes !== expected) {
      throw new MalformedDataError(
        `part "${TWO_SERVER_RECORDS_PART}"`,
        `is ${recordsBytes} bytes, but ${n} templates in records of ${descriptor.vectorsPerRecord} x ${descriptor.recordBytes} bytes take ${expected}`,
      );
    }
    // The protocol's own cross-checks (segments, ids, reference records, store size).
    await inPart(TWO_SERVER_INDEX_PART, () => {
      const unused = () => Promise.reject(new Error('not used at publish'));
      return new Cs1Server(evaluator, index, { size: recordsBytes, read: unused }, { decryptBatch: unused });
    });

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
      records: { ref: parts.ref(TWO_SERVER_RECORDS_PART), bytes: recordsBytes },
      publicMaterial: { ref: parts.ref(TWO_SERVER_PUBLIC_PART), bytes: publicBytes.length, sha256: sha256Hex(publicBytes) },
      publishedFrom: parts.version,
    });
    return { metadata, blobs: { [CS1_INDEX_BLOB]: indexBytes, [EVALUATION_BLOB]: evaluationBytes }, ...(warnings.length > 0 ? { warnings } : {}) };
  } finally {
    evaluator.dispose();
  }
}

export const twoServerIndexValidator: IndexKindValidator = { validate: validateTwoServer };
