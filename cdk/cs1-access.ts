/**
 * What each CS1 handler module may do, for least privilege: one row per module of the route
 * table (plus the authorizer). A handler added to the route table without a row here fails
 * synth, so nobody ships a function with guessed permissions.
 *
 * table:   the DynamoDB table (owners, users, index versions and chunks).
 * objects: object actions on the image bucket (encrypted images, bulky index parts): `get`
 *          (also allows ListBucket, so a missing key is a 404 rather than a 403), `put` (also
 *          what presigned PUT URLs are signed with), `delete`, and `stage`: put and delete
 *          under the short-lived `transfer/` prefix only (batches staged for CS2).
 * invokeCs2: may call CS2's decrypt function; exactly one module, run by the fixed identify role.
 * memorySize: MB; 1769 MB is one full vCPU, for the CPU-bound search and publish paths.
 */
import { CS1_AUTHORIZER_HANDLER } from '../functions/routes';

export type TableAccess = 'read' | 'readwrite';
export type ObjectAction = 'get' | 'put' | 'delete' | 'stage';

export interface HandlerAccess {
  readonly table: TableAccess;
  readonly objects: readonly ObjectAction[];
  readonly invokeCs2: boolean;
  readonly memorySize: number;
  readonly description: string;
}

const SMALL = 512;
const ONE_VCPU = 1769;

export const CS1_HANDLER_ACCESS: Readonly<Record<string, HandlerAccess>> = {
  [CS1_AUTHORIZER_HANDLER]: { table: 'read', objects: [], invokeCs2: false, memorySize: SMALL, description: 'Verifies owner and user tokens (HTTP API Lambda authorizer)' },
  'cs1/register-owner': { table: 'readwrite', objects: [], invokeCs2: false, memorySize: SMALL, description: 'Registers an owner and its public key' },
  'cs1/user-put': { table: 'readwrite', objects: [], invokeCs2: false, memorySize: SMALL, description: 'Registers a user of an owner' },
  'cs1/user-revoke': { table: 'readwrite', objects: [], invokeCs2: false, memorySize: SMALL, description: 'Revokes a user' },
  'cs1/image-uploads': { table: 'readwrite', objects: ['get', 'put'], invokeCs2: false, memorySize: SMALL, description: 'Uploads encrypted images (presigned PUT URLs)' },
  'cs1/image-downloads': { table: 'read', objects: ['get'], invokeCs2: false, memorySize: SMALL, description: 'Hands out encrypted result images (presigned GET URLs)' },
  'cs1/index-version-create': { table: 'readwrite', objects: ['get', 'put'], invokeCs2: false, memorySize: ONE_VCPU, description: 'Writes a new index version' },
  // put: publish derives the image directory object from the uploaded leaves.
  'cs1/index-version-publish': { table: 'readwrite', objects: ['get', 'put'], invokeCs2: false, memorySize: ONE_VCPU, description: 'Publishes a complete index version' },
  'cs1/index-get': { table: 'read', objects: ['get'], invokeCs2: false, memorySize: SMALL, description: 'Describes the published index' },
  // Copy-on-write: new leaf and directory objects; a version that lost a race is deleted.
  'cs1/index-image-add': { table: 'readwrite', objects: ['get', 'put', 'delete'], invokeCs2: false, memorySize: ONE_VCPU, description: 'Adds images to an index' },
  'cs1/index-image-delete': { table: 'readwrite', objects: ['get', 'put', 'delete'], invokeCs2: false, memorySize: ONE_VCPU, description: 'Deletes an image from an index' },
  'cs1/search': { table: 'read', objects: ['get'], invokeCs2: false, memorySize: ONE_VCPU, description: 'SEI top-k search' },
  // stage: batches too large for a 6 MB invocation are staged under transfer/ for CS2 to fetch.
  'cs1/identify': { table: 'read', objects: ['get', 'stage'], invokeCs2: true, memorySize: ONE_VCPU, description: 'Two-server identification (calls CS2)' },
};

export function accessOf(handler: string): HandlerAccess {
  const access = CS1_HANDLER_ACCESS[handler];
  if (access === undefined) {
    throw new Error(`CS1 handler ${handler} has no entry in cdk/cs1-access.ts: add one with the least permissions it needs`);
  }
  return access;
}
