/**
 * The two files of the interactive GenKey step (paper 5.3.1), as versioned JSON with the key
 * material in its own binary formats (base64):
 *
 * - key request (user -> owner): the user's random invertible W ("BSUS"). The owner learns W;
 *   that is the scheme's GenKey, and why a request travels only to the owner.
 * - grant (owner -> user): the user key Abar = A W^-1 and U ("BSUK"), the image key ("BSIK"),
 *   the sealed index's name and index key ("BSXK") when the build has one,
 *   the PCA the index was projected with ("BSPC"), the feature model, a decoy pool for
 *   K-anonymous queries, the owner id, CS1's endpoint, the two-server index reference and a
 *   user token signed by the owner. It holds secrets: it is written 0600 and must travel over
 *   a private channel.
 *
 * Decoders check every field and name the first one that is wrong.
 */
import { base64ToBytes, isBase64 } from '../codec/base64';
import { MalformedDataError } from '../core/errors';
import { parseIndexName, parseOwnerId, parseStoredId, parseUserId, parseVersionId } from '../core/ids';
import type { IndexName, OwnerId, UserId, VersionId } from '../core/ids';
import type { BundledModelId, FeatureLayer } from '../features/models/types';
import type { FeatureSpec } from './features';

export const KEY_REQUEST_FORMAT = 'blindsight-key-request';
export const GRANT_FORMAT = 'blindsight-grant';
export const FORMAT_VERSION = 1;

export interface KeyRequest {
  readonly format: typeof KEY_REQUEST_FORMAT;
  readonly version: typeof FORMAT_VERSION;
  readonly createdAt: string;
  /** Feature dimension d the W was drawn for (the owner's index dimension). */
  readonly d: number;
  /** base64 of encodeUserSecret(W). */
  readonly userSecret: string;
}

/** How identification embeddings are made: PCA'd CNN features, or face descriptors. */
export type EmbeddingKind = 'cnn-pca' | 'face';

export interface TwoServerReference {
  readonly indexName: IndexName;
  readonly embedding: EmbeddingKind;
  /** Embeddings are multiplied by 10^decimals and rounded. */
  readonly decimals: number;
  readonly maxAbs: number;
  readonly backend: 'bfv' | 'she';
  /** The HE key the published index uses; its public material is fetched from CS1 and checked. */
  readonly keyId: string;
  readonly publicMaterialSha256: string;
  /** What `user identify` asks when neither --tau-squared nor --k is given. */
  readonly defaultQuery: { readonly tauSquared: number } | { readonly k: number };
}

export interface Grant {
  readonly format: typeof GRANT_FORMAT;
  readonly version: typeof FORMAT_VERSION;
  readonly issuedAt: string;
  readonly ownerId: OwnerId;
  readonly userId: UserId;
  readonly endpoint: string;
  /** Owner-signed user token (a JWT), and when it expires (ISO 8601). */
  readonly token: string;
  readonly tokenExpiresAt: string;
  /** SHA-256 (hex) of the key request's W bytes: the grant works only with that W. */
  readonly requestSha256: string;
  readonly features: FeatureSpec;
  /** base64 of encodePcaModel. */
  readonly pca: string;
  readonly sei: {
    /** Absent when the build has no SEI index (the user key still comes: it is the GenKey's). */
    readonly indexName?: IndexName;
    readonly d: number;
    /** base64 of encodeUserKey({Abar, U}). */
    readonly userKey: string;
    /**
     * The index version published from the build this grant's PCA belongs to (updates keep
     * it as their publishedFrom): another one serving means the owner re-indexed.
     */
    readonly publishedVersion?: VersionId;
  };
  /** The build's sealed index: its name, and the index key (base64 of encodeIndexKey) that opens it. */
  readonly sealed?: { readonly indexName: IndexName; readonly keyId: string; readonly indexKey: string };
  /** base64 of encodeImageKey. */
  readonly imageKey: string;
  /** Projected feature vectors of other images, for K-anonymous requests (float64 LE rows of d). */
  readonly decoys: { readonly n: number; readonly d: number; readonly data: string };
  readonly twoServer?: TwoServerReference;
}

type Json = Record<string, unknown>;

class Checker {
  constructor(private readonly what: string) {}

  fail(problem: string): never {
    throw new MalformedDataError(this.what, problem);
  }

  /** An id, by its parser (lib/core/ids.ts): a bad one is this file's malformed data. */
  id<T>(parse: (value: unknown) => T, value: unknown, field: string): T {
    return parseStoredId(parse, value, `${this.what}: ${field}`);
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(`${field} must be an object`);
    return value as Json;
  }

  string(value: unknown, field: string, max = 4096): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > max) this.fail(`${field} must be a non-empty string`);
    return value;
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) this.fail(`${field} must be an integer from ${min} to ${max}`);
    return value;
  }

  bytes(value: unknown, field: string): Uint8Array {
    if (typeof value !== 'string' || !isBase64(value)) this.fail(`${field} must be base64`);
    return base64ToBytes(value, field);
  }

  header(value: Json, format: string): void {
    if (value.format !== format) this.fail(`it is not a ${format} file (format is ${JSON.stringify(value.format ?? null).slice(0, 60)})`);
    if (value.version !== FORMAT_VERSION) this.fail(`version ${JSON.stringify(value.version ?? null).slice(0, 20)} is not supported (this tool reads version ${FORMAT_VERSION})`);
  }
}

export function decodeKeyRequest(value: unknown, what = 'key request'): { request: KeyRequest; userSecret: Uint8Array } {
  const check = new Checker(what);
  const json = check.object(value, 'the file');
  check.header(json, KEY_REQUEST_FORMAT);
  const d = check.integer(json.d, 'd', 1, 4096);
  const userSecret = check.bytes(json.userSecret, 'userSecret');
  const createdAt = check.string(json.createdAt, 'createdAt', 64);
  return { request: { format: KEY_REQUEST_FORMAT, version: FORMAT_VERSION, createdAt, d, userSecret: json.userSecret as string }, userSecret };
}

export interface DecodedGrant {
  readonly grant: Grant;
  readonly pca: Uint8Array;
  readonly userKey: Uint8Array;
  readonly imageKey: Uint8Array;
  readonly indexKey?: Uint8Array;
  readonly decoys: { readonly n: number; readonly d: number; readonly data: Float64Array };
}

function decodeFeatures(check: Checker, value: unknown): FeatureSpec {
  const json = check.object(value, 'features');
  return {
    model: check.string(json.model, 'features.model', 64) as BundledModelId,
    layer: check.string(json.layer, 'features.layer', 16) as FeatureLayer,
    inputSize: check.integer(json.inputSize, 'features.inputSize', 16, 4096),
    modelId: check.string(json.modelId, 'features.modelId', 200),
    modelVersion: check.string(json.modelVersion, 'features.modelVersion', 200),
    dimension: check.integer(json.dimension, 'features.dimension', 1, 1 << 16),
  };
}

function decodeTwoServer(check: Checker, value: unknown): TwoServerReference | undefined {
  if (value === undefined || value === null) return undefined;
  const json = check.object(value, 'twoServer');
  const embedding = json.embedding;
  if (embedding !== 'cnn-pca' && embedding !== 'face') check.fail('twoServer.embedding must be "cnn-pca" or "face"');
  const backend = json.backend;
  if (backend !== 'bfv' && backend !== 'she') check.fail('twoServer.backend must be "bfv" or "she"');
  const query = check.object(json.defaultQuery, 'twoServer.defaultQuery');
  const defaultQuery =
    query.tauSquared !== undefined
      ? { tauSquared: check.integer(query.tauSquared, 'twoServer.defaultQuery.tauSquared', 0, Number.MAX_SAFE_INTEGER) }
      : { k: check.integer(query.k, 'twoServer.defaultQuery.k', 1, 50) };
  return {
    indexName: check.id(parseIndexName, json.indexName, 'twoServer.indexName'),
    embedding,
    decimals: check.integer(json.decimals, 'twoServer.decimals', 0, 9),
    maxAbs: check.integer(json.maxAbs, 'twoServer.maxAbs', 1, 1 << 30),
    backend,
    keyId: check.string(json.keyId, 'twoServer.keyId', 128),
    publicMaterialSha256: check.string(json.publicMaterialSha256, 'twoServer.publicMaterialSha256', 64),
    defaultQuery,
  };
}

export function decodeGrant(value: unknown, what = 'grant'): DecodedGrant {
  const check = new Checker(what);
  const json = check.object(value, 'the file');
  check.header(json, GRANT_FORMAT);
  const sei = check.object(json.sei, 'sei');
  const decoysJson = check.object(json.decoys, 'decoys');
  const decoyN = check.integer(decoysJson.n, 'decoys.n', 0, 1 << 20);
  const decoyD = check.integer(decoysJson.d, 'decoys.d', 1, 4096);
  const decoyBytes = check.bytes(decoysJson.data, 'decoys.data');
  if (decoyBytes.length !== decoyN * decoyD * 8) check.fail(`decoys.data holds ${decoyBytes.length} bytes, not ${decoyN} x ${decoyD} float64 values`);
  const decoyData = new Float64Array(decoyN * decoyD);
  new Uint8Array(decoyData.buffer).set(decoyBytes);
  if (!decoyData.every(Number.isFinite)) check.fail('decoys.data holds non-finite numbers');
  const seiD = check.integer(sei.d, 'sei.d', 1, 4096);
  const sealed = json.sealed === undefined || json.sealed === null ? undefined : check.object(json.sealed, 'sealed');
  if (sealed === undefined && sei.indexName === undefined) check.fail('it names no index (neither sealed nor sei.indexName)');
  if (decoyN > 0 && decoyD !== seiD) check.fail(`decoys have dimension ${decoyD}, the index ${seiD}`);
  const grant: Grant = {
    format: GRANT_FORMAT,
    version: FORMAT_VERSION,
    issuedAt: check.string(json.issuedAt, 'issuedAt', 64),
    ownerId: check.id(parseOwnerId, json.ownerId, 'ownerId'),
    userId: check.id(parseUserId, json.userId, 'userId'),
    endpoint: check.string(json.endpoint, 'endpoint', 2048),
    token: check.string(json.token, 'token', 4096),
    tokenExpiresAt: check.string(json.tokenExpiresAt, 'tokenExpiresAt', 64),
    requestSha256: check.string(json.requestSha256, 'requestSha256', 64),
    features: decodeFeatures(check, json.features),
    pca: json.pca as string,
    sei: {
      ...(sei.indexName !== undefined ? { indexName: check.id(parseIndexName, sei.indexName, 'sei.indexName') } : {}),
      d: seiD,
      userKey: sei.userKey as string,
      ...(sei.publishedVersion !== undefined ? { publishedVersion: check.id(parseVersionId, sei.publishedVersion, 'sei.publishedVersion') } : {}),
    },
    ...(sealed
      ? { sealed: { indexName: check.id(parseIndexName, sealed.indexName, 'sealed.indexName'), keyId: check.string(sealed.keyId, 'sealed.keyId', 128), indexKey: sealed.indexKey as string } }
      : {}),
    imageKey: json.imageKey as string,
    decoys: { n: decoyN, d: decoyD, data: decoysJson.data as string },
    twoServer: decodeTwoServer(check, json.twoServer),
  };
  return {
    grant,
    pca: check.bytes(json.pca, 'pca'),
    userKey: check.bytes(sei.userKey, 'sei.userKey'),
    imageKey: check.bytes(json.imageKey, 'imageKey'),
    ...(sealed ? { indexKey: check.bytes(sealed.indexKey, 'sealed.indexKey') } : {}),
    decoys: { n: decoyN, d: decoyD, data: decoyData },
  };
}

/** The bytes of float64 rows, little-endian (checked: the formats are little-endian). */
export function float64Bytes(data: Float64Array): Uint8Array {
  if (new Uint8Array(new Float64Array([1]).buffer)[7] !== 0x3f) throw new Error('big-endian platforms are not supported');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
