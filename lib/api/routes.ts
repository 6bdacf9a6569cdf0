/**
 * CS1's API in one table: for every route its method, path, who may call it, its request and
 * response schemas, its limits (body size, throttling) and what its function may touch in
 * storage. The handlers (functions/lib/http-handler.ts), the client (lib/client), the local
 * gateway (scripts/local-cloud) and the CDK stack (cdk/cs1-stack.ts) all read it, so adding or
 * changing a route is one entry here (plus the handler module it names).
 *
 * Paths use API Gateway's `{param}` syntax; every parameter is parsed by path-parameters.ts
 * before a handler runs. One handler module per route: each Lambda does one thing.
 */
import type { TSchema } from '@sinclair/typebox';
import { IDENTIFY_BODY_BYTES, SEARCH_BODY_BYTES, SMALL_BODY_BYTES, VECTOR_BODY_BYTES } from './limits';
import type { PathParameterName } from './path-parameters';
import {
  AddImageRequestSchema,
  CreateVersionRequestSchema,
  CreateVersionResponseSchema,
  IdentifyRequestSchema,
  IdentifyResponseSchema,
  ImageDownloadsRequestSchema,
  ImageDownloadsResponseSchema,
  ImageRemovalsRequestSchema,
  ImageRemovalsResponseSchema,
  ImageUploadsRequestSchema,
  ImageUploadsResponseSchema,
  IndexDescriptionSchema,
  PublishJobSchema,
  PublishRequestSchema,
  RegisterOwnerRequestSchema,
  RegisterOwnerResponseSchema,
  SealedLeavesRequestSchema,
  SealedLeavesResponseSchema,
  SearchRequestSchema,
  SearchResponseSchema,
  UpdateResponseSchema,
  UserRecordSchema,
} from './schemas';

/** Who may call a route: checked by the authorizer, then again in the handler. */
export type RouteAuth =
  /** No token (owner registration: the owner id is the fingerprint of the key it registers). */
  | 'none'
  /** A token the owner signed for itself (role "owner"). */
  | 'owner'
  /** An owner token, or a user token the owner issued and has not revoked. */
  | 'owner-or-user';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Object actions on the image bucket. */
export type ObjectAction = 'get' | 'put' | 'delete';

/**
 * Areas of the image bucket (lib/storage/object-keys.ts): `images` is owners/<ownerId>/images/,
 * `indexes` owners/<ownerId>/indexes/, `removals` owners/<ownerId>/image-removals/ (pending
 * removals of deleted images' envelopes), `transfer` the top-level transfer/ prefix of batches
 * staged for CS2.
 */
export type ObjectArea = 'images' | 'indexes' | 'removals' | 'transfer';

/** What a route's function may touch: the least it needs, granted by the CDK stack. */
export interface StorageAccess {
  /** The DynamoDB table (owners, users, index versions and chunks). */
  readonly table: 'read' | 'readwrite';
  readonly objects?: Readonly<Partial<Record<ObjectArea, readonly ObjectAction[]>>>;
  /** May call CS2's decrypt function (exactly one route, run by the fixed identify role). */
  readonly invokeCs2?: boolean;
  /** Functions of CS1_WORKERS it starts asynchronously (lambda:InvokeFunction on exactly those). */
  readonly invokes?: readonly Cs1WorkerName[];
  /** CPU-bound work (search, publish, updates) gets a full vCPU; the rest a small function. */
  readonly compute: 'small' | 'vcpu';
}

/** Requests per second (steady) and burst, per route and stage-wide. */
export interface Throttle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface RouteDefinition {
  readonly method: HttpMethod;
  readonly path: string;
  /** Handler module under functions/, without extension; it exports `handler`. */
  readonly handler: string;
  readonly auth: RouteAuth;
  /** One line for people (README, CDK descriptions). */
  readonly summary: string;
  /** JSON schema of the request body; routes without one take no body. */
  readonly body?: TSchema;
  /** Largest request body accepted (413 above it, before parsing). */
  readonly maxBodyBytes: number;
  /** Success statuses and the schema of their bodies (202: a job was started). */
  readonly responses: Readonly<Partial<Record<200 | 201 | 202, TSchema>>>;
  /** Tighter than the stage's throttle, where a route needs it. */
  readonly throttle?: Throttle;
  readonly access: StorageAccess;
}

/** The whole API's throttle (stage default). */
export const STAGE_THROTTLE: Throttle = { rateLimit: 200, burstLimit: 400 };

export const CS1_API = {
  registerOwner: {
    method: 'POST',
    path: '/v1/owners',
    handler: 'cs1/register-owner',
    auth: 'none',
    summary: "register an owner's public key",
    body: RegisterOwnerRequestSchema,
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: RegisterOwnerResponseSchema, 201: RegisterOwnerResponseSchema },
    // Open to anyone: kept tight so nobody fills the table with registrations.
    throttle: { rateLimit: 5, burstLimit: 10 },
    access: { table: 'readwrite', compute: 'small' },
  },
  putUser: {
    method: 'PUT',
    path: '/v1/owners/{ownerId}/users/{userId}',
    handler: 'cs1/user-put',
    auth: 'owner',
    summary: 'enroll (or re-activate) a user',
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: UserRecordSchema },
    access: { table: 'readwrite', compute: 'small' },
  },
  revokeUser: {
    method: 'DELETE',
    path: '/v1/owners/{ownerId}/users/{userId}',
    handler: 'cs1/user-revoke',
    auth: 'owner',
    summary: 'revoke a user: its tokens are refused from the next request on',
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: UserRecordSchema },
    access: { table: 'readwrite', compute: 'small' },
  },
  imageUploads: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/images/uploads',
    handler: 'cs1/image-uploads',
    auth: 'owner',
    summary: 'presigned PUT URLs for encrypted images',
    body: ImageUploadsRequestSchema,
    maxBodyBytes: SMALL_BODY_BYTES * 2,
    responses: { 200: ImageUploadsResponseSchema },
    // removals: uploading an image again cancels a pending removal of its envelope.
    access: { table: 'readwrite', objects: { images: ['get', 'put'], removals: ['delete'] }, compute: 'small' },
  },
  imageDownloads: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/images/downloads',
    handler: 'cs1/image-downloads',
    auth: 'owner-or-user',
    summary: 'presigned GET URLs for result images',
    body: ImageDownloadsRequestSchema,
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: ImageDownloadsResponseSchema },
    access: { table: 'read', objects: { images: ['get'] }, compute: 'small' },
  },
  imageRemovals: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/images/removals',
    handler: 'cs1/image-removals',
    auth: 'owner',
    summary: "remove deleted images' envelopes once no index version may list them (by the scheduled clean-up)",
    body: ImageRemovalsRequestSchema,
    maxBodyBytes: SMALL_BODY_BYTES * 2,
    responses: { 200: ImageRemovalsResponseSchema },
    // get: the envelope (its ETag) and the named versions; put: the pending removal.
    access: { table: 'read', objects: { images: ['get'], removals: ['get', 'put'] }, compute: 'small' },
  },
  createIndexVersion: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/versions',
    handler: 'cs1/index-version-create',
    auth: 'owner',
    summary: 'stage a new index version (presigned part uploads)',
    body: CreateVersionRequestSchema,
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 201: CreateVersionResponseSchema },
    access: { table: 'readwrite', objects: { indexes: ['get', 'put'] }, compute: 'vcpu' },
  },
  publishIndexVersion: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish',
    handler: 'cs1/index-version-publish',
    auth: 'owner',
    summary: 'start publishing a version (a job validates it and flips atomically if expectedCurrent still serves)',
    body: PublishRequestSchema,
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 202: PublishJobSchema },
    // get: the version's manifest must exist before a job starts; the job does the rest.
    access: { table: 'readwrite', objects: { indexes: ['get'] }, invokes: ['publishWorker'], compute: 'small' },
  },
  publishStatus: {
    method: 'GET',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/versions/{version}/publish',
    handler: 'cs1/index-version-publish-status',
    auth: 'owner',
    summary: "a publish job's progress and outcome",
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: PublishJobSchema },
    access: { table: 'read', compute: 'small' },
  },
  getIndex: {
    method: 'GET',
    path: '/v1/owners/{ownerId}/indexes/{indexName}',
    handler: 'cs1/index-get',
    auth: 'owner-or-user',
    summary: 'the serving version and its public summary',
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: IndexDescriptionSchema },
    access: { table: 'read', objects: { indexes: ['get'] }, compute: 'small' },
  },
  addImage: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/images',
    handler: 'cs1/index-image-add',
    auth: 'owner',
    summary: 'add one image to a SEI index (copy-on-write version)',
    body: AddImageRequestSchema,
    maxBodyBytes: VECTOR_BODY_BYTES,
    responses: { 201: UpdateResponseSchema },
    // Copy-on-write: new leaf and directory objects; a version that lost a race is deleted.
    access: { table: 'readwrite', objects: { indexes: ['get', 'put', 'delete'] }, compute: 'vcpu' },
  },
  deleteImage: {
    method: 'DELETE',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/images/{imageId}',
    handler: 'cs1/index-image-delete',
    auth: 'owner',
    summary: 'delete one image from a SEI index (copy-on-write version)',
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: UpdateResponseSchema },
    access: { table: 'readwrite', objects: { indexes: ['get', 'put', 'delete'] }, compute: 'vcpu' },
  },
  search: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/search',
    handler: 'cs1/search',
    auth: 'owner-or-user',
    summary: 'SEI top-k for 1..16 trapdoors (K-anonymity)',
    body: SearchRequestSchema,
    maxBodyBytes: SEARCH_BODY_BYTES,
    responses: { 200: SearchResponseSchema },
    access: { table: 'read', objects: { indexes: ['get'] }, compute: 'vcpu' },
  },
  sealedLeaves: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/leaves',
    handler: 'cs1/sealed-leaves',
    auth: 'owner-or-user',
    summary: 'exactly L leaves of a sealed index, as stored (the client ranks)',
    body: SealedLeavesRequestSchema,
    maxBodyBytes: SMALL_BODY_BYTES,
    responses: { 200: SealedLeavesResponseSchema },
    // Reads by byte range and signs ranged GETs; no scoring, so a small function does.
    access: { table: 'read', objects: { indexes: ['get'] }, compute: 'small' },
  },
  identify: {
    method: 'POST',
    path: '/v1/owners/{ownerId}/indexes/{indexName}/identify',
    handler: 'cs1/identify',
    auth: 'owner-or-user',
    summary: 'two-server identification (CS1 asks CS2)',
    body: IdentifyRequestSchema,
    maxBodyBytes: IDENTIFY_BODY_BYTES,
    responses: { 200: IdentifyResponseSchema },
    // transfer: batches too large for a 6 MB invocation are staged for CS2 to fetch.
    access: { table: 'read', objects: { indexes: ['get'], transfer: ['put', 'delete'] }, invokeCs2: true, compute: 'vcpu' },
  },
} as const satisfies Record<string, RouteDefinition>;

/**
 * CS1's functions that no route runs: routes start them asynchronously (`access.invokes`).
 * Each has its own handler module, what it may touch, and its timeout (Lambda's at most 15 min).
 */
export interface WorkerDefinition {
  readonly handler: string;
  /** The variable that names this function (its ARN in AWS) to the functions that invoke it. */
  readonly functionEnv: string;
  readonly summary: string;
  readonly access: StorageAccess;
  readonly timeoutMs: number;
}

export const CS1_WORKERS = {
  publishWorker: {
    handler: 'cs1/index-version-publish-worker',
    functionEnv: 'BLINDSIGHT_PUBLISH_WORKER_FUNCTION',
    summary: 'publish job: checks, copies and validates the parts of a version, stages it and flips the pointer',
    // put: copies of the uploads and derived objects; delete: the uploads after, the copies after a refusal.
    access: { table: 'readwrite', objects: { indexes: ['get', 'put', 'delete'] }, compute: 'vcpu' },
    timeoutMs: 15 * 60_000,
  },
} as const satisfies Record<string, WorkerDefinition>;

export type Cs1WorkerName = keyof typeof CS1_WORKERS;

export type Cs1RouteName = keyof typeof CS1_API;

/** Every route, in table order. */
export const CS1_ROUTES: readonly RouteDefinition[] = Object.values(CS1_API);

/**
 * The REQUEST authorizer in front of every route whose auth is not `none`: it verifies the
 * bearer token of the Authorization header and hands {ownerId, role, userId} to the route.
 */
export const CS1_AUTHORIZER = {
  handler: 'cs1/authorizer',
  /** The identity source: a request without it is refused with 401 before the authorizer runs. */
  header: 'Authorization',
  summary: 'Verifies owner and user tokens (REST API Lambda REQUEST authorizer)',
  access: { table: 'read', compute: 'small' },
} as const satisfies { handler: string; header: string; summary: string; access: StorageAccess };

/**
 * CS1's scheduled clean-up (lib/service/versions/cleanup.ts): not behind the API; an EventBridge
 * schedule invokes it. It lists and removes index versions no search can reach any more, and
 * the envelopes of deleted images once no kept version may list them.
 */
export const CS1_CLEANUP = {
  handler: 'cs1/cleanup',
  summary: "Removes index versions no search can reach any more, and deleted images' envelopes no version lists (scheduled, not behind the API)",
  // get implies listing the bucket (cdk/cs1-stack.ts), which the clean-up needs.
  access: { table: 'readwrite', objects: { indexes: ['get', 'put', 'delete'], images: ['get', 'delete'], removals: ['get', 'delete'] }, compute: 'small' },
  /** How often it runs: a superseded version goes between its retention and retention + 2 periods. */
  everyMinutes: 60,
} as const satisfies { handler: string; summary: string; access: StorageAccess; everyMinutes: number };

/**
 * CS1's identify worker has no route: the identify function invokes it directly, once per shard
 * holding a query's candidates, all in parallel (only the identify function's role may).
 */
export const CS1_IDENTIFY_WORKER = {
  handler: 'cs1/identify-worker',
  summary: 'Evaluates the candidates of one shard of a two-server identification (invoked by identify)',
  // transfer: a batch too large for a 6 MB invocation result is staged for the identify function.
  access: { table: 'read', objects: { indexes: ['get'], transfer: ['put'] }, compute: 'vcpu' },
} as const satisfies { handler: string; summary: string; access: StorageAccess };

/** API Gateway's route key: `POST /v1/owners`. */
export function routeKeyOf(route: Pick<RouteDefinition, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** The `{param}` names of a path, in order. */
export function pathParameterNamesOf(path: string): PathParameterName[] {
  return [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1] as PathParameterName);
}

/** A route's path with its parameters filled in (percent-encoded). */
export function pathOf(route: Pick<RouteDefinition, 'path'>, parameters: Readonly<Record<string, string>>): string {
  return route.path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const value = parameters[name];
    if (value === undefined) throw new Error(`path ${route.path} needs parameter ${name}`);
    return encodeURIComponent(value);
  });
}
