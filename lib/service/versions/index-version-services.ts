/**
 * The index-version service of the process (create, publish, describe) on the stores of
 * cs1Services(), with the roles of the index kinds the calling function plays: the publish
 * function passes INDEX_KIND_VALIDATORS, the describe function INDEX_KIND_SUMMARIZERS, the
 * create function neither. Each function then bundles only its own kinds' code
 * (index-kinds.ts), and services.ts stays free of all of it. What publish accepts comes from CS1's settings (publish-policy.ts).
 */
import { createIndexKinds } from '../index-kinds/index-kinds';
import type { IndexKindRoles } from '../index-kinds/index-kind-registry';
import { IndexVersionService } from './index-versions';
import { readPublishPolicy } from './publish-policy';
import { cs1Services } from '../cs1-services';
import type { Cs1Stores } from '../types';

const NO_ROLES: IndexKindRoles = {};

let cached: { stores: Cs1Stores; services: Map<IndexKindRoles, IndexVersionService> } | undefined;

/** One service per roles object (module constants), rebuilt when the process's stores change. */
export function cs1IndexVersions(roles: IndexKindRoles = NO_ROLES): IndexVersionService {
  const { stores, pointers } = cs1Services();
  if (cached?.stores !== stores) cached = { stores, services: new Map() };
  let service = cached.services.get(roles);
  if (service === undefined) {
    service = new IndexVersionService(stores, createIndexKinds(roles), undefined, pointers, readPublishPolicy());
    cached.services.set(roles, service);
  }
  return service;
}
