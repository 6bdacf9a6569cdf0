/**
 * CS1's biometric identification over a published two-server index (paper section 5.4): the
 * client sends its query encrypted under the index's public HE material; CS1 runs the protocol
 * (lib/twoserver/protocol/cs1.ts) with records read from S3 by byte range and CS2 reached
 * through the configured transport, and returns template ids with exact squared distances.
 *
 * Every request reads the current-version pointer (a publish is seen at once) and then works on
 * that one version only, held by a lease on the loaded-version cache.
 *
 * Errors: the caller's mistakes (bad query size or format, both or neither of tauSquared and k,
 * unknown index, a SEI index) are 4xx with a clear message; CS2 down, slow or refusing is an
 * UnavailableError (503; nothing cached, so the next request tries CS2 again); stored data that
 * cannot be read is INTERNAL. Nothing here logs; the result carries counts for the handler.
 */
import type { IndexProvenance } from '../../client/index-manifest';
import { BlindsightError, InvalidInputError, isBlindsightError, NotFoundError, UnavailableError } from '../../core/errors';
import { assertIndexName, assertOwnerId } from '../../storage/identifiers';
import { indexPartObjectKey } from '../../storage/object-keys';
import { VerifiedParts } from '../cs1/verified-parts';
import type { IndexCatalog, ObjectStore } from '../../storage/types';
import { Cs1Server } from '../../twoserver/protocol/cs1';
import type { BlindingMode, QueryStats } from '../../twoserver/protocol/types';
import type { Cs2TransportFactory } from '../../twoserver/transport/config';
import { ObjectStoreRecordStore } from '../../twoserver/transport/object-record-store';
import type { LoadedTwoServerIndex, TwoServerIndexCache } from './index-cache';
import { MAX_IDENTIFY_K, MAX_QUERY_BYTES, MAX_RANGE_MATCHES } from '../../api/limits';

export interface IdentifyRequest {
  /** The client's encrypted query (IdentificationClient.encryptRequest). */
  readonly query: Uint8Array;
  /** Range query: every template with squared distance <= tauSquared (an integer >= 0). */
  readonly tauSquared?: number;
  /** Nearest query: the k nearest templates (1..50). */
  readonly k?: number;
}

export interface IdentifyMatch {
  readonly templateId: string;
  /** Exact squared Euclidean distance in the quantized space. */
  readonly dist2: number;
}

export interface IdentifyResponse {
  readonly version: string;
  readonly matches: IdentifyMatch[];
  readonly stats: { readonly cs2Calls: number; readonly candidates: number };
  /** Range queries: true when more than MAX_RANGE_MATCHES templates were within the threshold. */
  readonly truncated?: boolean;
  /** The owner's signed manifest of the version (absent: published unsigned). */
  readonly provenance?: IndexProvenance;
}

/** Counts for the handler's log (never the query or distances). */
export interface IdentifyLogStats extends QueryStats {
  readonly mode: 'range' | 'nearest';
  readonly k?: number;
  readonly matches: number;
  readonly stagedCalls: number;
  readonly retries: number;
  readonly recordGets: number;
  readonly warm: boolean;
  readonly backend: string;
  readonly keyId: string;
}

export interface IdentifyOptions {
  /** Epoch ms by which every CS2 call must be over (the function's deadline minus a margin). */
  readonly deadline?: number;
}

export interface TwoServerIdentificationOptions {
  /** Default 'per-value' (each value statistically hidden from CS2). */
  readonly blinding?: BlindingMode;
  /** Concurrent record range GETs per stage. Default 8. */
  readonly recordReadConcurrency?: number;
}

/** Checks the request's shape (the service is also called without a schema in front). */
function checkRequest(request: IdentifyRequest): { mode: 'range'; tauSquared: number } | { mode: 'nearest'; k: number } {
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
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_IDENTIFY_K) throw new InvalidInputError(`k must be an integer from 1 to ${MAX_IDENTIFY_K}`);
  return { mode: 'nearest', k };
}

/** Opens the query once up front, so a malformed query is the caller's 400, not a server fault. */
function checkQuery(loaded: LoadedTwoServerIndex, query: Uint8Array, indexName: string): void {
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

/** Errors of the protocol run (the query itself was checked): CS2's fault, or stored data's. */
function runError(error: unknown, indexName: string, version: string): unknown {
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
    options: TwoServerIdentificationOptions = {},
  ) {
    this.blinding = options.blinding ?? 'per-value';
    this.recordReadConcurrency = options.recordReadConcurrency;
    this.verified = new VerifiedParts(stores.indexes);
  }

  async identify(
    ownerId: string,
    indexName: string,
    request: IdentifyRequest,
    options: IdentifyOptions = {},
  ): Promise<{ response: IdentifyResponse; log: IdentifyLogStats }> {
    assertOwnerId(ownerId);
    assertIndexName(indexName);
    const query = checkRequest(request);

    const current = await this.stores.indexes.getCurrent(ownerId, indexName);
    if (current === undefined) throw new NotFoundError(`index "${indexName}" does not exist or has no published version`);
    if (current.kind !== 'two-server') {
      throw new InvalidInputError(`index "${indexName}" is a "${current.kind}" index: identify works on two-server indexes (use search for SEI indexes)`);
    }
    const loadsBefore = this.cache.loads;
    const lease = await this.cache.acquire(ownerId, indexName, current.version);
    try {
      const { loaded } = lease;
      checkQuery(loaded, request.query, indexName);
      const { metadata } = loaded;
      const transport = this.transports()({ keyId: metadata.keyId, ownerId, objects: this.stores.objects, deadline: options.deadline });
      const store = new ObjectStoreRecordStore({
        objects: await this.verified.checkedStore(this.stores.objects, ownerId, indexName, metadata.records.ref),
        key: indexPartObjectKey(ownerId, indexName, metadata.records.ref.version, metadata.records.ref.part),
        size: metadata.records.bytes,
        concurrency: this.recordReadConcurrency,
      });
      let result;
      try {
        const server = new Cs1Server(loaded.evaluator, loaded.index, store, transport, { blinding: this.blinding });
        result = query.mode === 'range' ? await server.rangeQuery(request.query, query.tauSquared) : await server.nearest(request.query, query.k);
      } catch (error) {
        throw runError(error, indexName, current.version);
      }
      const truncated = query.mode === 'range' && result.matches.length > MAX_RANGE_MATCHES;
      const matches = (truncated ? result.matches.slice(0, MAX_RANGE_MATCHES) : result.matches).map((m) => ({ templateId: m.id, dist2: m.dist2 }));
      const response: IdentifyResponse = {
        version: current.version,
        matches,
        stats: { cs2Calls: result.stats.cs2Calls, candidates: result.stats.candidates },
        ...(query.mode === 'range' ? { truncated } : {}),
        ...(loaded.provenance !== undefined ? { provenance: loaded.provenance } : {}),
      };
      return {
        response,
        log: {
          ...result.stats,
          mode: query.mode,
          ...(query.mode === 'nearest' ? { k: query.k } : {}),
          matches: matches.length,
          stagedCalls: transport.stagedCalls,
          retries: transport.retries,
          recordGets: store.gets,
          warm: this.cache.loads === loadsBefore,
          backend: metadata.backend,
          keyId: metadata.keyId,
        },
      };
    } finally {
      lease.release();
    }
  }
}
