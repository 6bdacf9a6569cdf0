/**
 * CS1's biometric identification over a published two-server index (paper section 5.4): the
 * client sends its query encrypted under the index's public HE material; CS1 runs the protocol
 * (lib/twoserver/protocol/cs1.ts) as the coordinator, has the shards holding candidates
 * evaluated by shard workers (shard-workers.ts), reaches CS2 through the configured transport,
 * and answers with the matching template ids, nearest first.
 *
 * What a caller gets is ids only: never a distance, a candidate count or any other number
 * derived from the templates, and only within the owner's policy (the index's largest k and
 * tauSquared; a request beyond them is a 400 naming the limit). A user's identifications count
 * against the per-user budget of the index (query-budget.ts; 429 with Retry-After when spent);
 * a query the service fails to answer (5xx) is given back.
 *
 * Every request reads the current-version pointer (a publish is seen at once) and then works on
 * that one version only, held by a lease on the loaded-version cache.
 *
 * Errors: the caller's mistakes (bad query size or format, both or neither of tauSquared and k,
 * unknown index, a SEI index, limits) are 4xx with a clear message; CS2 or a worker down, slow
 * or refusing is an UnavailableError (503; nothing cached, so the next request tries again);
 * stored data that cannot be read is INTERNAL. Nothing here logs; the result carries counts
 * for the handler's log.
 */
import type { IndexProvenance } from '../../client/index-manifest';
import { BlindsightError, InvalidInputError, isBlindsightError, NotFoundError, UnavailableError } from '../../core/errors';
import { VerifiedParts } from '../versions/verified-parts';
import type { IndexCatalog, ObjectStore } from '../../storage/types';
import { Cs1Server } from '../../twoserver/protocol/cs1';
import type { BlindingMode, QueryStats } from '../../twoserver/protocol/types';
import type { IdentificationPolicy } from '../../twoserver/policy';
import type { Cs2TransportFactory } from '../../invoke/cs2-transport-config';
import type { LoadedTwoServerIndex, TwoServerIndexCache } from './index-cache';
import { MAX_QUERY_BYTES, MAX_RANGE_MATCHES } from '../../api/limits';
import type { BudgetCharge, BudgetState, QueryBudgets } from './query-budget';
import type { ShardWorkersFactory } from './shard-workers';
import type { IndexName, OwnerId, UserId, VersionId } from '../../core/ids';

export interface IdentifyRequest {
  /** The client's encrypted query (IdentificationClient.encryptRequest). */
  readonly query: Uint8Array;
  /** Range query: every template with squared distance <= tauSquared (an integer >= 0). */
  readonly tauSquared?: number;
  /** Nearest query: the k nearest templates. */
  readonly k?: number;
}

export interface IdentifyResponse {
  readonly version: VersionId;
  /** Ids of the matching templates, nearest first (ties by id). */
  readonly templateIds: string[];
  /** Range queries: true when more than MAX_RANGE_MATCHES templates were within the threshold. */
  readonly truncated?: boolean;
  /** The owner's signed manifest of the version (absent: published unsigned). */
  readonly provenance?: IndexProvenance;
  /** Users: their budget on this index after this query. */
  readonly budget?: BudgetState;
}

/** Counts for the handler's log (never the query, distances or ids). */
export interface IdentifyLogStats extends QueryStats {
  readonly mode: 'range' | 'nearest';
  readonly k?: number;
  readonly matches: number;
  readonly stagedCalls: number;
  readonly retries: number;
  readonly warm: boolean;
  readonly backend: string;
  readonly keyId: string;
  readonly shards: number;
}

export interface IdentifyOptions {
  /** Epoch ms by which every CS2 call must be over (the function's deadline minus a margin). */
  readonly deadline?: number;
  /** The user whose token this is (absent for the owner): the query is counted against their budget. */
  readonly userId?: UserId;
}

export interface TwoServerIdentificationOptions {
  /** Default 'per-value' (each value statistically hidden from CS2). */
  readonly blinding?: BlindingMode;
  /** Concurrent record range GETs per shard and stage. Default 8. */
  readonly recordReadConcurrency?: number;
}

type CheckedRequest = { mode: 'range'; tauSquared: number } | { mode: 'nearest'; k: number };

/** Checks the request's shape (the service is also called without a schema in front). */
function checkRequest(request: IdentifyRequest): CheckedRequest {
  if (!(request.query instanceof Uint8Array) || request.query.length === 0) throw new InvalidInputError('query must be the encrypted query bytes (base64 in JSON)');
  if (request.query.length > MAX_QUERY_BYTES) throw new InvalidInputError(`query is larger than ${MAX_QUERY_BYTES} bytes`);
  const hasTau = request.tauSquared !== undefined && request.tauSquared !== null;
  const hasK = request.k !== undefined && request.k !== null;
  if (hasTau === hasK) {
    throw new InvalidInputError('send exactly one of tauSquared (range query: every template within that squared distance) and k (the k nearest templates)');
  }
  if (hasTau) {
    const tau = request.tauSquared as number;
    if (typeof tau !== 'number' || !Number.isSafeInteger(tau) || tau < 0) {
      throw new InvalidInputError('tauSquared must be an integer >= 0 (the squared distance threshold in the quantized space)');
    }
    return { mode: 'range', tauSquared: tau };
  }
  const k = request.k as number;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw new InvalidInputError('k must be an integer >= 1');
  return { mode: 'nearest', k };
}

/** The owner's limits of the index version (400 naming the limit). */
function checkPolicy(query: CheckedRequest, policy: IdentificationPolicy, indexName: IndexName): void {
  if (query.mode === 'nearest' && query.k > policy.maxK) {
    throw new InvalidInputError(`k must be <= ${policy.maxK}: the owner of index "${indexName}" allows at most ${policy.maxK} nearest templates per query`);
  }
  if (query.mode === 'range' && query.tauSquared > policy.maxTauSquared) {
    throw new InvalidInputError(
      `tauSquared must be <= ${policy.maxTauSquared}: the owner of index "${indexName}" allows range queries up to that squared distance`,
    );
  }
}

/** Opens the query once up front, so a malformed query is the caller's 400, not a server fault. */
function checkQuery(loaded: LoadedTwoServerIndex, query: Uint8Array, indexName: IndexName): void {
  const { queryBytes, keyId } = loaded.metadata;
  if (query.length !== queryBytes) {
    throw new InvalidInputError(
      `query is ${query.length} bytes, but index "${indexName}" takes queries of exactly ${queryBytes} bytes: ` +
        `encrypt it with the index's public material (key ${keyId})`,
    );
  }
  try {
    loaded.evaluator.openQuery(query).dispose();
  } catch (error) {
    if (isBlindsightError(error) && error.code !== 'INTERNAL') {
      throw new InvalidInputError(`query is not a query for index "${indexName}" (key ${keyId}): ${error.message}`);
    }
    throw error;
  }
}

/** Errors of the protocol run (the query itself was checked): CS2's or a worker's fault, or stored data's. */
function runError(error: unknown, indexName: IndexName, version: VersionId): unknown {
  if (!isBlindsightError(error)) return error;
  if (error.code === 'UNAVAILABLE' || error.code === 'INTERNAL' || error.code === 'INTEGRITY_FAILED') return error;
  if (error.code === 'DECRYPTION_FAILED') {
    return new UnavailableError(`CS2's answer does not match the batch CS1 sent (${error.message}): does CS2 hold the right key?`);
  }
  if (error.code === 'PAYLOAD_TOO_LARGE') return new UnavailableError(`CS2 cannot take this batch: ${error.message}`);
  return new BlindsightError('INTERNAL', `stored data of index "${indexName}" version "${version}" is unreadable: ${error.message}`, { cause: error });
}

export class TwoServerIdentificationService {
  private readonly blinding: BlindingMode;
  private readonly recordReadConcurrency?: number;
  /** Record reads are checked against the digests fixed at publish. */
  private readonly verified: VerifiedParts;

  constructor(
    private readonly stores: { readonly objects: ObjectStore; readonly indexes: IndexCatalog },
    private readonly cache: TwoServerIndexCache,
    private readonly transports: () => Cs2TransportFactory,
    private readonly workers: () => ShardWorkersFactory,
    private readonly budgets: QueryBudgets,
    options: TwoServerIdentificationOptions = {},
  ) {
    this.blinding = options.blinding ?? 'per-value';
    this.recordReadConcurrency = options.recordReadConcurrency;
    this.verified = new VerifiedParts(stores.indexes);
  }

  async identify(
    ownerId: OwnerId,
    indexName: IndexName,
    request: IdentifyRequest,
    options: IdentifyOptions = {},
  ): Promise<{ response: IdentifyResponse; log: IdentifyLogStats }> {
    const query = checkRequest(request);

    const current = await this.stores.indexes.getCurrent(ownerId, indexName);
    if (current === undefined) throw new NotFoundError(`index "${indexName}" does not exist or has no published version`);
    if (current.kind !== 'two-server') {
      throw new InvalidInputError(`index "${indexName}" is a "${current.kind}" index: identify works on two-server indexes (use search for SEI indexes)`);
    }
    const loadsBefore = this.cache.loads;
    const lease = await this.cache.acquire(ownerId, indexName, current.version);
    let charge: BudgetCharge | undefined;
    try {
      const { loaded } = lease;
      const { metadata } = loaded;
      checkPolicy(query, loaded.index.policy, indexName);
      checkQuery(loaded, request.query, indexName);
      // Counted only once the request is one the service will run.
      if (options.userId !== undefined) charge = await this.budgets.charge(ownerId, options.userId, indexName, loaded.index.policy.budget);
      const transport = this.transports()({ keyId: metadata.keyId, ownerId, objects: this.stores.objects, deadline: options.deadline });
      const workers = this.workers()({
        ownerId,
        indexName,
        version: current.version,
        metadata,
        evaluator: loaded.evaluator,
        objects: this.stores.objects,
        verified: this.verified,
        deadline: options.deadline,
        recordReadConcurrency: this.recordReadConcurrency,
      });
      let result;
      try {
        const server = new Cs1Server(loaded.evaluator, loaded.index, workers, transport, { blinding: this.blinding });
        result = query.mode === 'range' ? await server.rangeQuery(request.query, query.tauSquared) : await server.nearest(request.query, query.k);
      } catch (error) {
        throw runError(error, indexName, current.version);
      }
      const truncated = query.mode === 'range' && result.matches.length > MAX_RANGE_MATCHES;
      const templateIds = (truncated ? result.matches.slice(0, MAX_RANGE_MATCHES) : result.matches).map((m) => m.id);
      const response: IdentifyResponse = {
        version: current.version,
        templateIds,
        ...(query.mode === 'range' ? { truncated } : {}),
        ...(loaded.provenance !== undefined ? { provenance: loaded.provenance } : {}),
        ...(charge !== undefined ? { budget: charge.state } : {}),
      };
      return {
        response,
        log: {
          ...result.stats,
          mode: query.mode,
          ...(query.mode === 'nearest' ? { k: query.k } : {}),
          matches: templateIds.length,
          stagedCalls: transport.stagedCalls,
          retries: transport.retries,
          warm: this.cache.loads === loadsBefore,
          backend: metadata.backend,
          keyId: metadata.keyId,
          shards: metadata.shards.length,
        },
      };
    } catch (error) {
      // A query the service could not answer does not use up the user's budget.
      if (charge !== undefined && (!isBlindsightError(error) || error.code === 'UNAVAILABLE' || error.code === 'INTERNAL' || error.code === 'INTEGRITY_FAILED')) await charge.refund();
      throw error;
    } finally {
      lease.release();
    }
  }
}
