/**
 * Owner-signed index manifests: the evidence a user checks that the index version CS1 searched
 * is one its owner published.
 *
 * At publish the owner's client hashes every part it uploads and signs, with the owner's
 * Ed25519 key, a manifest naming the owner, the index, the version CS1 assigned, the kind, the
 * version it replaces and each part's length and SHA-256 (a compact JWS, alg EdDSA, the public
 * key in the protected header). CS1 checks the signature and every part's digest against its
 * own copy before the version can serve, keeps the JWS with the version and hands it back with
 * every description, search and identification. A client verifies it against the owner id it
 * trusts (from the owner's grant): the id is the SHA-256 thumbprint of the owner's public key
 * (lib/auth/owner-id.ts), so no other key can sign for it, whatever CS1 serves.
 *
 * Only jose and WebCrypto: the same code runs in Node and in the browser.
 */
import { base64url, CompactSign, compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { ownerIdOf } from '../auth/owner-id';
import { assertEd25519PrivateJwk, assertEd25519PublicJwk, publicJwkOf } from '../auth/signing-key';
import type { Ed25519PrivateJwk, Ed25519PublicJwk } from '../auth/types';
import { MAX_SIGNED_MANIFEST_LENGTH } from '../api/limits';
import { IntegrityError, InvalidInputError } from '../core/errors';
import { sha256Hex } from '../crypto/digest';
import type { ImageId, IndexName, OwnerId, VersionId } from '../core/ids';

export const INDEX_MANIFEST_TYPE = 'blindsight-index-manifest';
/** JWS "typ" of a signed manifest, so no other owner signature (a token) passes as one. */
const MANIFEST_JWS_TYPE = 'blindsight-index-manifest+jws';
const ALGORITHM = 'EdDSA';
const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface ManifestPart {
  readonly bytes: number;
  /** Lowercase hex SHA-256 of the part's bytes. */
  readonly sha256: string;
}

/** What the owner signs for one published version. */
export interface IndexManifest {
  readonly type: typeof INDEX_MANIFEST_TYPE;
  readonly ownerId: OwnerId;
  readonly indexName: IndexName;
  /** The version CS1 named when the owner created it. */
  readonly version: VersionId;
  readonly kind: string;
  /** The version the owner expected to replace (null: the index's first). */
  readonly previousVersion: VersionId | null;
  /** ISO 8601, the owner's clock. */
  readonly signedAt: string;
  /** Every uploaded part, by name. */
  readonly parts: Readonly<Record<string, ManifestPart>>;
}

/**
 * What CS1 hands out with a version: the owner's signed manifest of the version it was
 * published as, and the single-image updates CS1 applied on the owner's token since (SEI only;
 * each made a new version). Updates carry no owner signature.
 */
export interface IndexProvenance {
  /** The compact JWS of the manifest. */
  readonly manifest: string;
  readonly updates?: IndexUpdateRecord[];
}

export interface IndexUpdateRecord {
  readonly version: VersionId;
  readonly previousVersion: VersionId;
  readonly operation: 'add' | 'delete';
  readonly imageId: ImageId;
}

/** The manifest of parts about to be uploaded for `version`. */
export async function indexManifestOf(
  binding: { readonly ownerId: OwnerId; readonly indexName: IndexName; readonly version: VersionId; readonly kind: string; readonly previousVersion: VersionId | null },
  parts: Readonly<Record<string, Uint8Array>>,
  now: Date = new Date(),
): Promise<IndexManifest> {
  const described: Record<string, ManifestPart> = {};
  for (const name of Object.keys(parts).sort()) described[name] = { bytes: parts[name].length, sha256: await sha256Hex(parts[name]) };
  return {
    type: INDEX_MANIFEST_TYPE,
    ownerId: binding.ownerId,
    indexName: binding.indexName,
    version: binding.version,
    kind: binding.kind,
    previousVersion: binding.previousVersion,
    signedAt: now.toISOString(),
    parts: described,
  };
}

/** Signs a manifest with the owner's private key (whose thumbprint must be manifest.ownerId). */
export async function signIndexManifest(manifest: IndexManifest, privateJwk: Ed25519PrivateJwk): Promise<string> {
  assertEd25519PrivateJwk(privateJwk);
  const publicJwk = publicJwkOf(privateJwk);
  if ((await ownerIdOf(publicJwk)) !== manifest.ownerId) {
    throw new InvalidInputError('the manifest names another owner than the signing key: sign with the key of owner ' + manifest.ownerId);
  }
  let key: CryptoKey;
  try {
    key = (await importJWK(privateJwk, ALGORITHM)) as CryptoKey;
  } catch {
    // No cause: the underlying error could describe the key.
    throw new InvalidInputError('the signing key could not be imported as an Ed25519 private key');
  }
  return new CompactSign(new TextEncoder().encode(JSON.stringify(manifest)))
    .setProtectedHeader({ alg: ALGORITHM, typ: MANIFEST_JWS_TYPE, jwk: { ...publicJwk } })
    .sign(key);
}

/** What the verifier must find in the manifest. */
export interface ExpectedManifest {
  /** The owner the verifier trusts (from its grant). */
  readonly ownerId: OwnerId;
  /** The owner's public key, when the verifier holds it; else the key in the JWS, checked against ownerId. */
  readonly ownerPublicKey?: Ed25519PublicJwk;
  readonly indexName: IndexName;
  /** The version CS1 says it served. */
  readonly version: VersionId;
  readonly kind?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseManifest(payload: Uint8Array, fail: (problem: string) => never): IndexManifest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    fail('its payload is not JSON');
  }
  if (!isRecord(value) || value.type !== INDEX_MANIFEST_TYPE) fail('its payload is not an index manifest');
  for (const field of ['ownerId', 'indexName', 'version', 'kind', 'signedAt'] as const) {
    if (typeof value[field] !== 'string') fail(`its "${field}" is not a string`);
  }
  if (value.previousVersion !== null && typeof value.previousVersion !== 'string') fail('its "previousVersion" is not a string or null');
  if (!isRecord(value.parts)) fail('it lists no parts');
  for (const [name, part] of Object.entries(value.parts)) {
    if (!isRecord(part) || !Number.isSafeInteger(part.bytes) || typeof part.sha256 !== 'string' || !SHA256_HEX.test(part.sha256)) {
      fail(`its part "${name.slice(0, 64)}" has no valid length and SHA-256`);
    }
  }
  return value as unknown as IndexManifest;
}

/**
 * Verifies a signed manifest: the signature under the owner's key, and that it names the
 * expected owner, index, version (and kind). Returns the manifest; IntegrityError naming the
 * index and version otherwise, never a partial answer.
 */
export async function verifyIndexManifest(jws: unknown, expected: ExpectedManifest): Promise<IndexManifest> {
  const what = `index "${expected.indexName}" version "${expected.version}"`;
  const fail = (problem: string): never => {
    throw new IntegrityError(`the owner's signed manifest of ${what} ${problem}: do not trust results from this version; the owner must publish the index again`);
  };
  if (typeof jws !== 'string' || jws.length === 0) fail('is missing');
  const compact = jws as string;
  if (compact.length > MAX_SIGNED_MANIFEST_LENGTH) fail('is too long to be one');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(compact);
  } catch {
    return fail('is not a compact JWS');
  }
  if (header.alg !== ALGORITHM || header.typ !== MANIFEST_JWS_TYPE) fail('is not an EdDSA index manifest signature');
  let publicJwk: Ed25519PublicJwk;
  if (expected.ownerPublicKey !== undefined) {
    publicJwk = expected.ownerPublicKey;
  } else {
    try {
      assertEd25519PublicJwk(header.jwk, 'key');
    } catch {
      fail('carries no Ed25519 public key');
    }
    publicJwk = header.jwk as Ed25519PublicJwk;
  }
  // The owner id is the key's thumbprint: a key that is not the owner's cannot pass.
  if ((await ownerIdOf(publicJwk)) !== expected.ownerId) fail(`is signed by a key that is not owner ${expected.ownerId}'s`);
  let payload: Uint8Array;
  try {
    const key = (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x } as JWK, ALGORITHM)) as CryptoKey;
    ({ payload } = await compactVerify(compact, key, { algorithms: [ALGORITHM] }));
  } catch {
    return fail('has a signature that does not verify under the owner\'s key');
  }
  const manifest = parseManifest(payload, fail);
  if (manifest.ownerId !== expected.ownerId) fail(`names owner ${manifest.ownerId.slice(0, 64)}`);
  if (manifest.indexName !== expected.indexName) fail(`names index "${manifest.indexName.slice(0, 64)}"`);
  if (manifest.version !== expected.version) fail(`names version "${manifest.version.slice(0, 64)}" (an older or other version's manifest)`);
  if (expected.kind !== undefined && manifest.kind !== expected.kind) fail(`names kind "${manifest.kind.slice(0, 32)}", CS1 serves "${expected.kind}"`);
  return manifest;
}

/**
 * The payload of a signed manifest, unverified.
 * @internal Exported for the tests, which read a signed manifest's payload without the owner's
 * key; CS1 and the client read it only through verifyIndexManifest, with the same parseManifest.
 */
export function readIndexManifest(jws: string): IndexManifest {
  const payload = jws.split('.')[1] ?? '';
  const fail = (problem: string): never => {
    throw new InvalidInputError(`the signed manifest ${problem}`);
  };
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(payload);
  } catch {
    return fail('is not a compact JWS');
  }
  return parseManifest(bytes, fail);
}
