/**
 * Ids in CS1's answers, parsed where an answer enters the client. The contract (lib/api/schemas.ts)
 * types them as branded ids; this makes that true before anything uses them: a version, an image
 * id or an owner id the client will put into a later request's path or show to a person passed
 * the same parser as ids typed by people. A bad one is MalformedDataError naming the answer.
 *
 * The ids are found by field name, at any depth (search hits, publish results, provenance
 * updates): one rule for every route, so a new route's ids cannot be forgotten.
 */
import { parseImageId, parseIndexName, parseOwnerId, parseStoredId, parseUserId, parseVersionId } from '../core/ids';

/** The parser of each id field CS1's answers use (null allowed where the contract allows it). */
const ID_FIELDS: Readonly<Record<string, (value: unknown) => unknown>> = {
  ownerId: parseOwnerId,
  userId: parseUserId,
  indexName: parseIndexName,
  version: parseVersionId,
  previousVersion: parseVersionId,
  expectedCurrent: parseVersionId,
  imageId: parseImageId,
};

/** Fields that hold a list of ids (identification answers image ids). */
const ID_LIST_FIELDS: Readonly<Record<string, (value: unknown) => unknown>> = {
  templateIds: parseImageId,
};

function parseIdsIn(value: unknown, what: string): void {
  if (Array.isArray(value)) {
    for (const item of value) parseIdsIn(item, what);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [field, fieldValue] of Object.entries(value)) {
    const parse = ID_FIELDS[field];
    const parseEach = ID_LIST_FIELDS[field];
    if (parseEach !== undefined && Array.isArray(fieldValue)) for (const id of fieldValue) parseStoredId(parseEach, id, what);
    else if (parse === undefined) parseIdsIn(fieldValue, what);
    else if (fieldValue !== null) parseStoredId(parse, fieldValue, what);
  }
}

/** The answer itself, once every id in it parsed; `what` names the answer in errors. */
export function withParsedIds<T>(answer: T, what: string): T {
  parseIdsIn(answer, what);
  return answer;
}
