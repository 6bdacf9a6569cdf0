/**
 * Owner-signed index manifests and the client's verifier, attacked directly: forged, altered,
 * re-signed, replayed and rolled-back manifests must all fail with an IntegrityError naming the
 * index and version; what the verifier cannot detect is shown too.
 */
import { base64url } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import { issueToken } from '../../../lib/auth/tokens';
import type { OwnerSigningKey } from '../../../lib/auth/types';
import { indexManifestOf, readIndexManifest, signIndexManifest, verifyIndexManifest } from '../../../lib/client/index-manifest';
import type { IndexProvenance } from '../../../lib/client/index-manifest';
import { IndexVerifier } from '../../../lib/client/index-verifier';
import { IntegrityError } from '../../../lib/core/errors';
import { toImageId, toIndexName, toOwnerId, toVersionId } from '../../support/ids';

const PARTS = { skeleton: new Uint8Array([1, 2, 3]), leaves: new Uint8Array(1000).fill(7) };
const V1 = '20261202T100000000Z-000000000001';
const V2 = '20261202T110000000Z-000000000002';
const V3 = '20261202T120000000Z-000000000003';

describe('signed index manifests', () => {
  let owner: OwnerSigningKey;
  let ownerId: string;
  let other: OwnerSigningKey;
  const signed: Record<string, string> = {};

  async function sign(version: string, previousVersion: string | null, key = owner, id = ownerId): Promise<string> {
    return signIndexManifest(await indexManifestOf({ ownerId: toOwnerId(id), indexName: toIndexName('main'), version: toVersionId(version), kind: 'sei', previousVersion: previousVersion === null ? null : toVersionId(previousVersion) }, PARTS), key.privateJwk);
  }

  beforeAll(async () => {
    owner = await generateOwnerSigningKey();
    ownerId = await ownerIdOf(owner.publicJwk);
    other = await generateOwnerSigningKey();
    signed[V1] = await sign(V1, null);
    signed[V2] = await sign(V2, V1);
    signed[V3] = await sign(V3, V2);
  });

  it('verifies a manifest the owner signed, with the key from the grant or from the owner id alone', async () => {
    const manifest = await verifyIndexManifest(signed[V1], { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1), kind: 'sei' });
    expect(manifest.parts.leaves).toEqual({ bytes: 1000, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Object.keys(manifest.parts)).toEqual(['leaves', 'skeleton']);
    await expect(verifyIndexManifest(signed[V1], { ownerId: toOwnerId(ownerId), ownerPublicKey: owner.publicJwk, indexName: toIndexName('main'), version: toVersionId(V1) })).resolves.toEqual(manifest);
  });

  it('refuses every changed byte of the payload and of the signature', async () => {
    const [header, payload, signature] = signed[V1].split('.');
    for (const [part, which] of [
      [payload, 1],
      [signature, 2],
    ] as const) {
      const bytes = base64url.decode(part);
      for (let i = 0; i < bytes.length; i += Math.max(1, Math.floor(bytes.length / 40))) {
        const changed = bytes.slice();
        changed[i] ^= 0x01;
        const pieces = [header, payload, signature];
        pieces[which] = base64url.encode(changed);
        const error = await verifyIndexManifest(pieces.join('.'), { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1) }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(IntegrityError);
        expect((error as Error).message).toContain(`index "main" version "${V1}"`);
      }
    }
  });

  it("refuses another key's signature, even one carrying the owner's id, and the owner's key under another id", async () => {
    // Another key signing a manifest that claims to be this owner's.
    const forged = await signIndexManifest(await indexManifestOf({ ownerId: await ownerIdOf(other.publicJwk), indexName: toIndexName('main'), version: toVersionId(V1), kind: 'sei', previousVersion: null }, PARTS), other.privateJwk);
    await expect(verifyIndexManifest(forged, { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1) })).rejects.toThrow(/signed by a key that is not owner/);
    // The forger puts the owner's public key in the header: the signature then fails.
    const [, payload, signature] = forged.split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'EdDSA', typ: 'blindsight-index-manifest+jws', jwk: owner.publicJwk }));
    await expect(verifyIndexManifest(`${header}.${payload}.${signature}`, { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1) })).rejects.toThrow(/does not verify/);
    // A grant's pinned key refuses a manifest signed by any other key.
    await expect(verifyIndexManifest(forged, { ownerId: toOwnerId(ownerId), ownerPublicKey: owner.publicJwk, indexName: toIndexName('main'), version: toVersionId(V1) })).rejects.toThrow(IntegrityError);
    // The signing helper refuses to sign for an owner id that is not the key's.
    await expect(sign(V1, null, other, ownerId)).rejects.toThrow(/another owner/);
  });

  it('refuses a manifest of another version, index or kind, an unsigned JWS and an owner token', async () => {
    await expect(verifyIndexManifest(signed[V1], { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V2) })).rejects.toThrow(`names version "${V1}"`);
    await expect(verifyIndexManifest(signed[V1], { ownerId: toOwnerId(ownerId), indexName: toIndexName('other'), version: toVersionId(V1) })).rejects.toThrow('names index "main"');
    await expect(verifyIndexManifest(signed[V1], { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1), kind: 'sealed' })).rejects.toThrow('names kind "sei"');
    const payload = signed[V1].split('.')[1];
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'blindsight-index-manifest+jws' }))}.${payload}.`;
    await expect(verifyIndexManifest(none, { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1) })).rejects.toThrow(/not an EdDSA index manifest/);
    const token = await issueToken(owner.privateJwk, { ownerId, role: 'owner', expiresInSeconds: 60, audience: 'x' });
    await expect(verifyIndexManifest(token, { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1) })).rejects.toThrow(IntegrityError);
    for (const garbage of [undefined, '', 'a.b.c', 'x'.repeat(20_000), 42]) {
      await expect(verifyIndexManifest(garbage, { ownerId: toOwnerId(ownerId), indexName: toIndexName('main'), version: toVersionId(V1) })).rejects.toThrow(IntegrityError);
    }
    expect(readIndexManifest(signed[V2])).toMatchObject({ version: V2, previousVersion: V1 });
  });

  describe('IndexVerifier', () => {
    const provenance = (version: string): IndexProvenance => ({ manifest: signed[version] });

    it('refuses a version CS1 sends with no signed manifest, or with the manifest of another version (replay)', async () => {
      const verifier = new IndexVerifier();
      await expect(verifier.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V1), undefined)).rejects.toThrow(`CS1 sent no owner-signed manifest with index "main" version "${V1}"`);
      // CS1 serves V2 but hands out V1's valid manifest.
      await expect(verifier.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V2), provenance(V1))).rejects.toThrow(`names version "${V1}" (an older or other version's manifest)`);
      await expect(verifier.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V2), provenance(V2), 'sei')).resolves.toMatchObject({ version: V2, updates: [] });
    });

    it('detects a rollback to an older signed version once a newer one was verified, except the one it replaced', async () => {
      const verifier = new IndexVerifier();
      await verifier.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V3), provenance(V3));
      // V1 is older than V3 and not what V3 replaced: refused.
      await expect(verifier.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V1), provenance(V1))).rejects.toThrow(`older than version "${V3}" this client already verified`);
      // V2 is what V3 replaced (warm functions may serve it for a pointer-cache TTL): accepted.
      await expect(verifier.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V2), provenance(V2))).resolves.toMatchObject({ version: V2 });
      // NOT detected: a client that never saw V3 accepts V1 (it is validly signed).
      await expect(new IndexVerifier().verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V1), provenance(V1))).resolves.toMatchObject({ version: V1 });
    });

    const U1 = '20261202T130000000Z-0000000000u1';
    const U2 = '20261202T140000000Z-0000000000u2';
    const updated: IndexProvenance = {
      manifest: '',
      updates: [
        { version: toVersionId(U1), previousVersion: toVersionId(V3), operation: 'add', imageId: toImageId('new-1') },
        { version: toVersionId(U2), previousVersion: toVersionId(U1), operation: 'delete', imageId: toImageId('old-7') },
      ],
    };

    it("refuses versions CS1 derived by updates the owner did not sign, unless told to accept them; checks the chain", async () => {
      const chain = { ...updated, manifest: signed[V3] };
      await expect(new IndexVerifier().verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(U2), chain, 'sei')).rejects.toThrow(
        `index "main" version "${U2}" was made by CS1 from the owner's signed version "${V3}" by 2 image update(s) the owner did not sign (add "new-1", delete "old-7")`,
      );
      const accepting = new IndexVerifier({ unsignedUpdates: 'accept' });
      await expect(accepting.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(U2), chain, 'sei')).resolves.toMatchObject({ version: U2, updates: chain.updates });
      // A broken chain (an update dropped) or a chain ending elsewhere is refused even then.
      await expect(accepting.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(U2), { ...chain, updates: [chain.updates![1]] })).rejects.toThrow(IntegrityError);
      await expect(accepting.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(U1), chain)).rejects.toThrow(/end at version/);
      await expect(accepting.verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(U2), { ...chain, manifest: signed[V2] })).rejects.toThrow(`names version "${V2}"`);
    });

    it('checks a part downloaded whole against the signed digest', async () => {
      const verified = await new IndexVerifier().verify(toOwnerId(ownerId), toIndexName('main'), toVersionId(V1), provenance(V1));
      const { sha256, bytes } = verified.manifest.parts.leaves;
      expect(() => IndexVerifier.checkPart(verified, 'leaves', bytes, sha256)).not.toThrow();
      expect(() => IndexVerifier.checkPart(verified, 'leaves', bytes, '0'.repeat(64))).toThrow(`part "leaves" of index "main" version "${V1}" is not what the owner signed`);
      expect(() => IndexVerifier.checkPart(verified, 'routing', bytes, sha256)).toThrow('is not in the owner\'s signed manifest');
    });
  });
});
