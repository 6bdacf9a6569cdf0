/**
 * The HTTP API of each account, in one table read by the CDK stacks (API Gateway routes, one
 * Lambda per handler module) and by the local cloud's gateway (same handlers, same events).
 * Paths use API Gateway's `{param}` syntax. One route per handler module: each Lambda does one
 * thing, with one body schema.
 */

/** Who may call a route: checked by the authorizer, then again in the handler. */
export type RouteAuth =
  /** No token (owner registration: the owner id is the fingerprint of the key it registers). */
  | 'none'
  /** A token the owner signed for itself (role "owner"). */
  | 'owner'
  /** An owner token, or a user token the owner issued and has not revoked. */
  | 'owner-or-user';

export interface RouteDefinition {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  /** Handler module under functions/, without extension; it exports `handler`. */
  readonly handler: string;
  readonly auth: RouteAuth;
}

export const CS1_ROUTES: readonly RouteDefinition[] = [
  { method: 'POST', path: '/v1/owners', handler: 'cs1/register-owner', auth: 'none' },
  { method: 'PUT', path: '/v1/owners/{ownerId}/users/{userId}', handler: 'cs1/user-put', auth: 'owner' },
  { method: 'DELETE', path: '/v1/owners/{ownerId}/users/{userId}', handler: 'cs1/user-revoke', auth: 'owner' },
  { method: 'POST', path: '/v1/owners/{ownerId}/images/uploads', handler: 'cs1/image-uploads', auth: 'owner' },
  { method: 'POST', path: '/v1/owners/{ownerId}/images/downloads', handler: 'cs1/image-downloads', auth: 'owner-or-user' },
  { method: 'POST', path: '/v1/owners/{ownerId}/indexes/{indexName}/versions', handler: 'cs1/index-version-create', auth: 'owner' },
  {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish',
    handler: 'cs1/index-version-publish',
    auth: 'owner',
  },
  { method: 'GET', path: '/v1/owners/{ownerId}/indexes/{indexName}', handler: 'cs1/index-get', auth: 'owner-or-user' },
  { method: 'POST', path: '/v1/owners/{ownerId}/indexes/{indexName}/images', handler: 'cs1/index-image-add', auth: 'owner' },
  {
    method: 'DELETE',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/images/{imageId}',
    handler: 'cs1/index-image-delete',
    auth: 'owner',
  },
  { method: 'POST', path: '/v1/owners/{ownerId}/indexes/{indexName}/search', handler: 'cs1/search', auth: 'owner-or-user' },
  {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/identify',
    handler: 'cs1/identify',
    auth: 'owner-or-user',
  },
];

/**
 * CS2 has no public HTTP API in AWS: CS1 invokes its decrypt function directly, allowed by a
 * resource policy naming CS1's role. The local cloud exposes the same handler over HTTP behind
 * a credential only the local CS1 holds.
 */
export const CS2_DECRYPT_HANDLER = 'cs2/decrypt';
export const CS1_AUTHORIZER_HANDLER = 'cs1/authorizer';
