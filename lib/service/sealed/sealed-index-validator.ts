/**
 * Publishing a sealed index version. CS1 cannot decrypt the parts, so it checks what it can
 * read: the public header at the start of the routing part (lib/sealed/format: key id, leaf
 * count, leaf size, leaves per query) and that the leaves part is exactly leafCount x leafBytes.
 * Whether the sealed bytes are what the owner sealed is every client's check (AES-GCM with the
 * version bound into the associated data): a part the cloud changes fails there, never silently.
 */
import { createHash } from 'node:crypto';
import { isBlindsightError, MalformedDataError } from '../../core/errors';
import { readLayout, SEAL_OVERHEAD } from '../../sealed/format';
import { SEALED_LEAVES_PART, SEALED_ROUTING_PART } from './sealed-index-kind';
import { sealedMetadataToJson } from './sealed-metadata';
import type { IndexKindValidator, IndexPartsReader, ValidatedIndexVersion } from '../types';

async function validateSealed(parts: IndexPartsReader): Promise<ValidatedIndexVersion> {
  const routingBytes = await parts.read(SEALED_ROUTING_PART);
  let layout;
  try {
    ({ layout } = readLayout(routingBytes));
  } catch (error) {
    if (isBlindsightError(error) && error.code === 'MALFORMED_DATA') throw new MalformedDataError(`part "${SEALED_ROUTING_PART}"`, error.message);
    throw error;
  }
  const leavesBytes = parts.size(SEALED_LEAVES_PART);
  if (leavesBytes !== layout.leafCount * layout.leafBytes) {
    throw new MalformedDataError(
      `part "${SEALED_LEAVES_PART}"`,
      `is ${leavesBytes} bytes, but its header describes ${layout.leafCount} leaves of ${layout.leafBytes} bytes (${layout.leafCount * layout.leafBytes})`,
    );
  }
  if (layout.leafBytes <= SEAL_OVERHEAD) throw new MalformedDataError(`part "${SEALED_ROUTING_PART}"`, 'leaves hold no sealed bytes');
  const metadata = sealedMetadataToJson({
    layout,
    routing: { ref: parts.ref(SEALED_ROUTING_PART), bytes: routingBytes.length, sha256: createHash('sha256').update(routingBytes).digest('hex') },
    leaves: { ref: parts.ref(SEALED_LEAVES_PART), bytes: leavesBytes },
  });
  return { metadata, blobs: {} };
}

export const sealedIndexValidator: IndexKindValidator = { validate: validateSealed };
