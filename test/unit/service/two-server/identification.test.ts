/**
 * Two-server identification end to end at the service level, on dynalite + s3rver, with CS2
 * as the real decrypt handler behind a real HTTP server on 127.0.0.1: the provider builds and
 * encrypts an index (bfv and she), the owner publishes it as a "two-server" index version, a
 * client downloads the public material and encrypts queries, and CS1 answers range and
 * k-nearest queries exactly as brute force does, while CS2 only ever sees blinded values.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerIdOf } from '../../../../lib/auth/owner-id';
import { generateOwnerSigningKey } from '../../../../lib/auth/signing-key';
import { indexManifestOf, signIndexManifest } from '../../../../lib/client/index-manifest';
import { sha256Hex as sha256HexOf } from '../../../../lib/crypto/digest';
import { IndexVerifier } from '../../../../lib/client/index-verifier';
import { IntegrityError, InvalidInputError, MalformedDataError, NotFoundError, UnavailableError } from '../../../../lib/core/errors';
import { indexPartObjectKey } from '../../../../lib/storage/object-keys';
import { resetCs2DecryptService } from '../../../../lib/service/cs2/services';
import { createTwoServerServices } from '../../../../lib/service/two-server/services';
import type { TwoServerServices } from '../../../../lib/service/two-server/services';
import type { IdentifyRequest } from '../../../../lib/service/two-server/identification';
import { IdentificationClient } from '../../../../lib/twoserver/protocol';
import { decodeCs1Index, encodeCs1Index } from '../../../../lib/twoserver/protocol/cs1-index-codec';
import { createCs2TransportFactory, readCs2TransportConfig } from '../../../../lib/invoke/cs2-transport-config';
import { transferPrefix } from '../../../../lib/twoserver/transport/batch-staging';
import { sha256Hex } from '../../../../lib/twoserver/transport/decrypt-event';
import { seiUploadParts } from '../../../../lib/service/sei/sei-upload';
import { startLocalAws } from '../../../support/local-aws';
import type { LocalAws } from '../../../support/local-aws';
import { seiWorld } from '../../../support/sei-fixture';
import { storageSnapshot } from '../../functions/support';
import { OWNER_A, OWNER_B, serviceWorld, uploadVersion } from '../support';
import type { ServiceWorld } from '../support';
import { bruteForce, buildFixture, cs2KeyDir, idsOf, probeNear, SHE_SMALL, startCs2HttpServer, trueDistances } from './support';
import type { Cs2TestServer, DirectHandler, TwoServerFixture } from './support';
import { toIndexName, toOwnerId, toVersionId } from '../../../support/ids';

const CREDENTIAL = 'identify-test-credential-0123456789';
/** d = 64 with N = 8192 packs 128 templates per record: 300 templates span 3 records. */
const BFV_PARAMS = { d: 64, maxAbs: 999, polyModulusDegree: 8192 } as const;

describe('two-server identification service', () => {
  let aws: LocalAws;
  let world: ServiceWorld;
  let cs2: Cs2TestServer;
  let keys: { dir: string; remove(): Promise<void> };
  let fixtures: Record<'bfv' | 'she', TwoServerFixture>;
  let stranger: TwoServerFixture;
  let twoServer: TwoServerServices;
  const versions: Record<string, string> = {};
  const savedEnv = { ...process.env };

  function services(inlineMaxBytes?: number): TwoServerServices {
    const config = readCs2TransportConfig({
      BLINDSIGHT_CS2_MODE: 'http',
      BLINDSIGHT_CS2_URL: cs2.url,
      BLINDSIGHT_CS2_CREDENTIAL: CREDENTIAL,
      ...(inlineMaxBytes !== undefined ? { BLINDSIGHT_CS2_INLINE_MAX_BYTES: String(inlineMaxBytes) } : {}),
    });
    return createTwoServerServices({ ...world.stores, budgets: world.budgets }, { transports: createCs2TransportFactory(config) });
  }

  async function publish(ownerId: string, indexName: string, parts: Record<string, Uint8Array>, expectedCurrent: string | null = null): Promise<string> {
    const version = await uploadVersion(world.services, ownerId, indexName, parts, 'two-server');
    await world.services.versions.publishVersion(toOwnerId(ownerId), toIndexName(indexName), toVersionId(version), expectedCurrent === null ? null : toVersionId(expectedCurrent));
    return version;
  }

  async function transferObjects(ownerId: string): Promise<string[]> {
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucketName, Prefix: transferPrefix(toOwnerId(ownerId)) }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '');
  }

  beforeAll(async () => {
    aws = await startLocalAws();
    // The she fixtures need CS1's opt-in (off by default; the refusal is tested in she-publish.test.ts).
    world = serviceWorld(aws, { publishPolicy: { allowInsecurePaperScheme: true } });
    const [bfv, she, other] = await Promise.all([
      buildFixture({ backend: 'bfv', params: BFV_PARAMS, n: 300, partitions: 6, eps: 2, seed: 41 }),
      buildFixture({ backend: 'she', params: SHE_SMALL, n: 300, partitions: 6, eps: 2, seed: 42 }),
      buildFixture({ backend: 'she', params: SHE_SMALL, n: 40, partitions: 2, eps: 2, seed: 43 }),
    ]);
    fixtures = { bfv, she };
    stranger = other;
    keys = await cs2KeyDir(bfv, she, other);
    Object.assign(process.env, { BLINDSIGHT_LOG_LEVEL: 'SILENT', BLINDSIGHT_CS2_KEY_DIR: keys.dir, BLINDSIGHT_CS2_ALLOW_LOOPBACK_FETCH: 'true' });
    resetCs2DecryptService();
    const handler = (await import('../../../../functions/cs2/decrypt')).handler as unknown as DirectHandler;
    cs2 = await startCs2HttpServer({ credential: CREDENTIAL, handler });
    twoServer = services();
    versions.bfv = await publish(OWNER_A, 'faces-bfv', bfv.parts);
    versions.she = await publish(OWNER_A, 'faces-she', she.parts);
  });

  afterAll(async () => {
    process.env = savedEnv;
    resetCs2DecryptService();
    twoServer?.cache.clear();
    for (const fixture of [fixtures?.bfv, fixtures?.she, stranger]) fixture?.client.dispose();
    await cs2?.stop();
    await keys?.remove();
    await aws?.stop();
  });

  for (const backend of ['bfv', 'she'] as const) {
    describe(backend, () => {
      const indexName = toIndexName(`faces-${backend}`);

      it('range queries return exactly the brute-force matches in two CS2 calls, and CS2 sees no true distance', async () => {
        const fixture = fixtures[backend];
        for (const [q, near] of [
          [0, 5],
          [1, 150],
        ] as const) {
          const query = probeNear(fixture, near, 100 + q);
          const all = bruteForce(fixture, query);
          const distances = trueDistances(fixture, query);
          for (const tauSquared of [0, all[4].dist2, all[19].dist2]) {
            const seen = cs2.decrypted.length;
            const { response, log } = await twoServer.identification.identify(toOwnerId(OWNER_A), indexName, { query: fixture.client.encryptRequest(query), tauSquared });
            expect(response.version).toBe(versions[backend]);
            expect(response.templateIds).toEqual(idsOf(all.filter((m) => m.dist2 <= tauSquared)));
            expect(response.truncated).toBe(false);
            expect(log).toMatchObject({ mode: 'range', cs2Calls: 2, backend, keyId: fixture.keyId });
            const values = cs2.decrypted.slice(seen).flat();
            expect(cs2.decrypted.length - seen).toBe(2);
            expect(values.length).toBeGreaterThanOrEqual(6 + log.candidates);
            for (const value of values) expect(distances.has(value)).toBe(false);
          }
        }
      });

      it('k-nearest returns exactly the brute-force k nearest (ties by id)', async () => {
        const fixture = fixtures[backend];
        for (const [q, near] of [
          [0, 17],
          [1, 299],
        ] as const) {
          const query = probeNear(fixture, near, 200 + q);
          const all = bruteForce(fixture, query);
          for (const k of [1, 5, 20]) {
            const { response, log } = await twoServer.identification.identify(toOwnerId(OWNER_A), indexName, { query: fixture.client.encryptRequest(query), k });
            expect(response.templateIds).toEqual(idsOf(all.slice(0, k)));
            expect(log.cs2Calls).toBe(1 + log.rounds);
            expect(response.truncated).toBeUndefined();
          }
        }
        // An exact template is its own nearest neighbour at distance 0.
        const exact = Array.from(fixture.templates.data.slice(7 * fixture.templates.d, 8 * fixture.templates.d));
        const { response } = await twoServer.identification.identify(toOwnerId(OWNER_A), indexName, { query: fixture.client.encryptRequest(exact), k: 1 });
        expect(response.templateIds).toEqual([fixture.ids[7]]);
      });

      it('a client needs only GET index: the public material downloads from a presigned URL and its digest matches', async () => {
        const fixture = fixtures[backend];
        const described = await world.services.versions.describe(toOwnerId(OWNER_A), indexName);
        expect(described).toMatchObject({ kind: 'two-server', version: versions[backend] });
        const summary = described.summary as {
          keyId: string;
          backend: string;
          d: number;
          queryBytes: number;
          templateCount: number;
          publicMaterial: { bytes: number; sha256: string; download: { url: string; method: string } };
        };
        expect(summary).toMatchObject({ keyId: fixture.keyId, backend, d: fixture.templates.d, templateCount: 300 });
        const downloaded = new Uint8Array(await (await fetch(summary.publicMaterial.download.url)).arrayBuffer());
        expect(downloaded.length).toBe(summary.publicMaterial.bytes);
        expect(sha256Hex(downloaded)).toBe(summary.publicMaterial.sha256);
        const client = await IdentificationClient.load(downloaded);
        try {
          const request = client.encryptRequest(probeNear(fixture, 3, 9));
          expect(request.length).toBe(summary.queryBytes);
          const { response } = await twoServer.identification.identify(toOwnerId(OWNER_A), indexName, { query: request, k: 3 });
          expect(response.templateIds).toEqual(idsOf(bruteForce(fixture, probeNear(fixture, 3, 9)).slice(0, 3)));
        } finally {
          client.dispose();
        }
      });

      it('large batches travel through S3 behind presigned URLs and give the same answers', async () => {
        const fixture = fixtures[backend];
        const staged = services(backend === 'bfv' ? 0 : 2048);
        try {
          const query = probeNear(fixture, 40, 300);
          const all = bruteForce(fixture, query);
          const before = cs2.events.length;
          const { response, log } = await staged.identification.identify(toOwnerId(OWNER_A), indexName, { query: fixture.client.encryptRequest(query), tauSquared: all[29].dist2 });
          expect(response.templateIds).toEqual(idsOf(all.filter((m) => m.dist2 <= all[29].dist2)));
          expect(log.stagedCalls).toBeGreaterThanOrEqual(1);
          expect(cs2.events.slice(before).some((e) => e.staged)).toBe(true);
          expect(await transferObjects(OWNER_A)).toEqual([]);
        } finally {
          staged.cache.clear();
        }
      });
    });
  }

  it('CS2 down -> UnavailableError with a clear message; CS2 back -> the next request succeeds', async () => {
    const fixture = fixtures.she;
    const query = probeNear(fixture, 10, 400);
    const request = { query: fixture.client.encryptRequest(query), k: 3 };
    await cs2.stop();
    try {
      const error = await twoServer.identification.identify(toOwnerId(OWNER_A), toIndexName('faces-she'), request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toMatch(/^CS2 is unavailable: connection refused at 127\.0\.0\.1:\d+ \(is CS2 running\?\)$/);
    } finally {
      await cs2.start();
    }
    const { response } = await twoServer.identification.identify(toOwnerId(OWNER_A), toIndexName('faces-she'), request);
    expect(response.templateIds).toEqual(idsOf(bruteForce(fixture, query).slice(0, 3)));
  });

  it('a signed two-server version verifies; a changed byte or a swapped records object gives INTEGRITY_FAILED, never matches', async () => {
    const fixture = fixtures.bfv;
    const signing = await generateOwnerSigningKey();
    const owner = await ownerIdOf(signing.publicJwk);
    const version = await uploadVersion(world.services, owner, 'signed-faces', fixture.parts, 'two-server');
    const manifest = await indexManifestOf({ ownerId: owner, indexName: toIndexName('signed-faces'), version: toVersionId(version), kind: 'two-server', previousVersion: null }, fixture.parts);
    await world.services.versions.publishVersion(owner, toIndexName('signed-faces'), toVersionId(version), null, await signIndexManifest(manifest, signing.privateJwk));

    const query = probeNear(fixture, 7, 900);
    const all = bruteForce(fixture, query);
    // A range that covers every template: every record is evaluated, so every byte is read.
    const request = (): IdentifyRequest => ({ query: fixture.client.encryptRequest(query), tauSquared: all[all.length - 1].dist2 });
    const { response } = await services().identification.identify(owner, toIndexName('signed-faces'), request());
    expect(response.templateIds).toEqual(idsOf(all.slice(0, response.templateIds.length)));
    expect(response.templateIds).toHaveLength(Math.min(all.length, 1000));
    await expect(new IndexVerifier().verify(owner, toIndexName('signed-faces'), response.version, response.provenance, 'two-server')).resolves.toMatchObject({ version });
    const described = await world.services.versions.describe(owner, toIndexName('signed-faces'));
    const verified = await new IndexVerifier().verify(owner, toIndexName('signed-faces'), described.version, described.provenance, 'two-server');
    IndexVerifier.checkPart(verified, 'public', fixture.parts.public.length, await sha256HexOf(fixture.parts.public));

    const key = indexPartObjectKey(owner, toIndexName('signed-faces'), toVersionId(version), 'records-0000');
    const original = await world.stores.objects.get(key);
    for (const at of [0, Math.floor(original.length / 2), original.length - 1]) {
      const changed = original.slice();
      changed[at] ^= 0x01;
      await world.stores.objects.put(key, changed);
      const error = await services().identification.identify(owner, toIndexName('signed-faces'), request()).catch((e: unknown) => e);
      expect(error, `byte ${at}`).toBeInstanceOf(IntegrityError);
      expect((error as Error).message).toContain(`index "signed-faces" version "${version}" object "records-0000"`);
    }
    // Another index's records (validly published elsewhere) swapped in.
    await world.stores.objects.put(key, await world.stores.objects.get(indexPartObjectKey(toOwnerId(OWNER_A), toIndexName('faces-she'), toVersionId(versions.she), 'records-0000')));
    await expect(services().identification.identify(owner, toIndexName('signed-faces'), request())).rejects.toMatchObject({ code: 'INTEGRITY_FAILED' });
    await world.stores.objects.put(key, original);
    await expect(services().identification.identify(owner, toIndexName('signed-faces'), request())).resolves.toMatchObject({ response: { version } });
  });

  it('keeps the loaded version across requests, and serves a newly published version at once', async () => {
    const fixture = fixtures.she;
    const fresh = services();
    const request = (): IdentifyRequest => ({ query: fixture.client.encryptRequest(probeNear(fixture, 1, 500)), k: 2 });
    await fresh.identification.identify(toOwnerId(OWNER_A), toIndexName('faces-she'), request());
    const second = await fresh.identification.identify(toOwnerId(OWNER_A), toIndexName('faces-she'), request());
    expect(fresh.cache.loads).toBe(1);
    expect(second.log.warm).toBe(true);
    // Republish the same templates under a new version: the next request uses it.
    const next = await publish(OWNER_A, 'faces-she', fixture.parts, versions.she);
    const third = await fresh.identification.identify(toOwnerId(OWNER_A), toIndexName('faces-she'), request());
    expect(third.response.version).toBe(next);
    expect(fresh.cache.loads).toBe(2);
    versions.she = next;
    fresh.cache.clear();
  });

  it('refuses bad requests with clear messages and changes nothing', async () => {
    const fixture = fixtures.she;
    const good = fixture.client.encryptRequest(probeNear(fixture, 2, 600));
    await world.services.versions.publishVersion(
      toOwnerId(OWNER_A),
      toIndexName('photos'),
      toVersionId(await uploadVersion(world.services, OWNER_A, 'photos', seiUploadParts(seiWorld(60, 4, 7, { maxLeafSize: 16 }).tree).parts)),
      null,
    );
    const cases: Array<[string, IdentifyRequest, new (...args: never[]) => Error, RegExp]> = [
      ['faces-she', { query: good.subarray(1), k: 1 }, InvalidInputError, new RegExp(`^query is ${good.length - 1} bytes, but index "faces-she" takes queries of exactly ${good.length} bytes`)],
      ['faces-she', { query: good, k: 1, tauSquared: 5 }, InvalidInputError, /^send exactly one of tauSquared .* and k/],
      ['faces-she', { query: good }, InvalidInputError, /^send exactly one of tauSquared/],
      ['faces-she', { query: good, tauSquared: -1 }, InvalidInputError, /^tauSquared must be an integer >= 0/],
      ['faces-she', { query: good, tauSquared: 1.5 }, InvalidInputError, /^tauSquared must be an integer >= 0/],
      ['faces-she', { query: good, k: 0 }, InvalidInputError, /^k must be an integer >= 1$/],
      ['faces-she', { query: good, k: 101 }, InvalidInputError, /^k must be <= 100: the owner of index "faces-she" allows at most 100 nearest templates per query$/],
      ['faces-she', { query: new Uint8Array(0), k: 1 }, InvalidInputError, /^query must be the encrypted query bytes/],
      ['nothing-here', { query: good, k: 1 }, NotFoundError, /^index "nothing-here" does not exist or has no published version$/],
      ['photos', { query: good, k: 1 }, InvalidInputError, /^index "photos" is a "sei" index: identify works on two-server indexes \(use search for SEI indexes\)$/],
      ['faces-bfv', { query: good, k: 1 }, InvalidInputError, /^query is \d+ bytes, but index "faces-bfv" takes queries of exactly \d+ bytes: encrypt it with the index's public material/],
    ];
    // A query of the right size under another key (same parameters, so the same query size).
    const foreign = stranger.client.encryptRequest(probeNear(stranger, 0, 1));
    expect(foreign.length).toBe(good.length);
    cases.push(['faces-she', { query: foreign, k: 1 }, InvalidInputError, /^query is not a query for index "faces-she" \(key [0-9a-f]{16}\): /]);
    const before = await storageSnapshot(aws);
    const decryptedBefore = cs2.decrypted.length;
    for (const [indexName, request, type, message] of cases) {
      const error = await twoServer.identification.identify(toOwnerId(OWNER_A), toIndexName(indexName), request).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `${indexName} ${message}`).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    }
    // Another owner cannot reach owner A's index by name.
    await expect(twoServer.identification.identify(toOwnerId(OWNER_B), toIndexName('faces-she'), { query: good, k: 1 })).rejects.toThrow(NotFoundError);
    expect(cs2.decrypted.length).toBe(decryptedBefore);
    expect(await storageSnapshot(aws)).toEqual(before);
  });

  it('publishing refuses parts that do not belong together, and the serving version stays', async () => {
    const fixture = fixtures.she;
    const index = decodeCs1Index(fixture.parts['cs1-index']);
    const garbage = fixture.parts['cs1-index'].slice();
    garbage[garbage.length - 1] ^= 0xff;
    const cases: Array<[string, Record<string, Uint8Array>, RegExp]> = [
      ['evaluation', { ...fixture.parts, evaluation: stranger.parts.evaluation }, /^part "evaluation": belongs to she key [0-9a-f]{16}, but the index was encrypted under she key/],
      ['public', { ...fixture.parts, public: stranger.parts.public }, /^part "public": belongs to key [0-9a-f]{16}, but the index and evaluation material to key/],
      [
        'records',
        { ...fixture.parts, 'records-0000': fixture.parts['records-0000'].subarray(index.recordBytes) },
        /^part "records-0000": is \d+ bytes, but shard 0 holds 300 templates: \d+ bytes of records$/,
      ],
      ['cs1-index truncated', { ...fixture.parts, 'cs1-index': fixture.parts['cs1-index'].subarray(0, 100) }, /^part "cs1-index": two-server index: /],
      ['cs1-index ids', { ...fixture.parts, 'cs1-index': encodeCs1Index({ ...index, templateIds: index.templateIds.slice(1) }) }, /^part "cs1-index": .*template ids for 300 templates/],
      ['evaluation garbage', { ...fixture.parts, evaluation: new Uint8Array([1, 2, 3, 4]) }, /^part "evaluation": /],
      ['public = secret', { ...fixture.parts, public: fixture.output.secretMaterial }, /^part "public": /],
    ];
    for (const [what, parts, message] of cases) {
      const version = await uploadVersion(world.services, OWNER_A, 'faces-she', parts, 'two-server');
      const error = await world.services.versions.publishVersion(toOwnerId(OWNER_A), toIndexName('faces-she'), toVersionId(version), toVersionId(versions.she)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(MalformedDataError);
      expect((error as Error).message, what).toMatch(message);
      expect((await world.stores.indexes.getCurrent(toOwnerId(OWNER_A), toIndexName('faces-she')))?.version).toBe(versions.she);
    }
    const { response } = await twoServer.identification.identify(toOwnerId(OWNER_A), toIndexName('faces-she'), { query: fixture.client.encryptRequest(probeNear(fixture, 4, 700)), k: 1 });
    expect(response.version).toBe(versions.she);
  });
});
