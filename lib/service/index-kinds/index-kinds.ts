/**
 * The index kinds this deployment serves: each kind's name and parts. A kind's validator
 * (publish, ./index-kind-validators) and summarizer (GET index, ./index-kind-summarizers) are
 * loaded on first use, and only by the functions that import their loaders: the read-only
 * functions bundle no kind's validation code (and so, for two-server, no HE library).
 * To add a kind: its spec here, its validator and summarizer in those two files.
 */
import { IndexKindRegistry } from './index-kind-registry';
import type { IndexKindRoles } from './index-kind-registry';
import { sealedIndexKind } from '../sealed/sealed-index-kind';
import { seiIndexKind } from '../sei/sei-index-kind';
import { twoServerIndexKind } from '../two-server/two-server-index-kind';
import type { IndexKindSpec } from '../types';

export const INDEX_KINDS: readonly IndexKindSpec[] = [seiIndexKind, twoServerIndexKind, sealedIndexKind];

/** The kinds, with the roles this process plays (none: names and parts only). */
export function createIndexKinds(roles: IndexKindRoles = {}): IndexKindRegistry {
  return new IndexKindRegistry(INDEX_KINDS, roles);
}
