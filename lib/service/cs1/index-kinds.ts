/**
 * The index kinds this deployment serves. To add a kind, implement IndexKindHandler (types.ts)
 * and add it to the list below, e.g. `twoServerIndexKind` next to `seiIndexKind`: index-version
 * create, publish and get then accept it (schemas included).
 */
import { IndexKindRegistry } from './index-kind-registry';
import { seiIndexKind } from './sei-index-kind';
import { twoServerIndexKind } from '../twoserver/two-server-index-kind';

export function createIndexKinds(): IndexKindRegistry {
  return new IndexKindRegistry([seiIndexKind, twoServerIndexKind]);
}
