/**
 * Two-server identification end to end: the provider (the owner) encrypts templates with BFV,
 * hands the HE secret to CS2's operator, who imports it with scripts/cs2-import-key.ts into the
 * local CS2's key directory, and publishes the index at CS1; a user encrypts a query with the
 * index's public material and identifies through CS1, which asks CS2 over the local transport.
 * Range and k-nearest answers equal brute force. CS2 down -> 503 with a clear message, and
 * recovery when it is back; CS2 refuses every caller but CS1.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twoServerIndexParts } from '../../lib/client/index-parts';
import type { Cs1Client } from '../../lib/client/cs1-client';
import type { IdentifyResponse, TwoServerIndexSummary } from '../../lib/client/types';
import { seededRandom } from '../../lib/core/random';
import { createHeBackend } from '../../lib/he';
import type { VectorSet } from '../../lib/linalg/vectors';
import { allSquaredDistances } from '../../lib/twoserver/plain-search';
import { buildPlainIndex, encryptIndex, IdentificationClient } from '../../lib/twoserver/protocol';
import type { ProviderOutput } from '../../lib/twoserver/protocol';
import { noisyProbes, syntheticTemplates } from '../../lib/twoserver/synthetic';
import { errorMessageOf, indexPath, rawRequest, registerOwner, startE2eCloud } from '../support/e2e-cloud';
import type { E2eCloud, E2eOwner, RawResponse } from '../support/e2e-cloud';

const run = promisify(execFile);
const INDEX = 'faces';
/** d = 64 at N = 8192: 128 templates per record, so 300 templates span 3 records. */
const PARAMS = { d: 64, maxAbs: 999, polyModulusDegree: 8192 } as const;
const N = 300;
const REPO = join(import.meta.dirname, '..', '..');

interface Expected {
  templateId: string;
  dist2: number;
}

/** Every template by (squared distance, id): the protocol's order. */
function bruteForce(templates: VectorSet, ids: readonly string[], query: ArrayLike<number>): Expected[] {
  return Array.from(allSquaredDistances(templates, query), (dist2, i) => ({ templateId: ids[i], dist2 })).sort(
    (a, b) => a.dist2 - b.dist2 || (a.templateId < b.templateId ? -1 : a.templateId > b.templateId ? 1 : 0),
  );
}

describe('two-server identification end to end (bfv): CS1 -> CS2', () => {
  let e2e: E2eCloud;
  let owner: E2eOwner;
  let user: Cs1Client;
  let userToken: string;
  let templates: VectorSet;
  let ids: string[];
  let output: ProviderOutput;
  let client: IdentificationClient;
  let probes: VectorSet;
  let keyId: string;

  const identifyPath = () => `${indexPath(owner.ownerId, INDEX)}/identify`;
  const identifyRaw = (query: Uint8Array, body: Record<string, unknown>): Promise<RawResponse> =>
    rawRequest(e2e.url, identifyPath(), { token: userToken, body: { query: Buffer.from(query).toString('base64'), ...body } });

  beforeAll(async () => {
    const cloudStarting = startE2eCloud('identify');
    // The provider's side: templates, plaintext index, BFV encryption (seeded data).
    templates = syntheticTemplates(N, PARAMS.d, { kind: 'clustered', seed: 301, clusters: 6, spread: 0.2 });
    ids = Array.from({ length: N }, (_, i) => `person-${String(i).padStart(3, '0')}`);
    const he = await createHeBackend('bfv', PARAMS);
    try {
      keyId = he.descriptor.keyId;
      const plain = buildPlainIndex(templates, { partitions: 6, eps: 2, random: seededRandom(302) });
      output = encryptIndex(he, templates, plain, ids);
    } finally {
      he.dispose();
    }
    probes = noisyProbes(templates, 4, 0.05, seededRandom(303));
    e2e = await cloudStarting;

    // CS2's operator imports the secret it was handed, with the operator's tool.
    const handover = await mkdtemp(join(tmpdir(), 'blindsight-handover-'));
    try {
      const file = join(handover, 'cs2-secret.bin');
      await writeFile(file, output.secretMaterial, { mode: 0o600 });
      const keyDir = join(e2e.dataDir, 'cs2', 'keys');
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'cs2-import-key.ts'), '--file', file, '--key-dir', keyDir], { cwd: REPO });
      expect(stdout).toContain(`imported key ${keyId} (bfv, d = 64)`);
      const stored = join(keyDir, `${keyId}.secret`);
      expect((await stat(stored)).mode & 0o777).toBe(0o600);
      expect(Buffer.from(await readFile(stored)).equals(Buffer.from(output.secretMaterial))).toBe(true);
      // Importing the same secret again changes nothing.
      const again = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'cs2-import-key.ts'), '--file', file, '--key-dir', keyDir], { cwd: REPO });
      expect(again.stdout).toContain('already imported');
    } finally {
      await rm(handover, { recursive: true, force: true });
    }

    // The owner publishes at CS1: records, CS1's index and evaluation key, the public material.
    owner = await registerOwner(e2e);
    const parts = twoServerIndexParts(output);
    await owner.client.publishIndex(owner.ownerId, INDEX, 'two-server', parts);
    const added = await owner.addUser('gate-7');
    user = added.client;
    userToken = added.token;

    // The user's client encrypts with the public material CS1 hands out (checked against its SHA-256).
    const description = await user.getIndex<TwoServerIndexSummary>(owner.ownerId, INDEX);
    client = await IdentificationClient.load(await user.downloadPublicMaterial(description));
  });

  afterAll(async () => {
    client?.dispose();
    await e2e?.stop();
  });

  it('describes the index: backend, key id, sizes; never the secret', async () => {
    const description = await user.getIndex<TwoServerIndexSummary>(owner.ownerId, INDEX);
    expect(description.kind).toBe('two-server');
    expect(description.summary).toMatchObject({ backend: 'bfv', keyId, d: 64, maxAbs: 999, templateCount: N });
    // CS1's bucket holds no copy of the secret.
    const listing = (await e2e.snapshot()).objects.join('\n');
    expect(listing).not.toMatch(/secret/i);
  });

  it('answers range queries exactly like brute force', async () => {
    for (let p = 0; p < 2; p++) {
      const probe = probes.data.subarray(p * PARAMS.d, (p + 1) * PARAMS.d);
      const expected = bruteForce(templates, ids, probe);
      // A threshold that takes in the 4 nearest (and ties).
      const tauSquared = expected[3].dist2;
      const response = await user.identify(owner.ownerId, INDEX, { query: client.encryptRequest(probe), tauSquared });
      expect(response.matches).toEqual(expected.filter((m) => m.dist2 <= tauSquared));
      expect(response.matches.length).toBeGreaterThanOrEqual(4);
      expect(response.truncated).toBe(false);
      expect(response.stats.cs2Calls).toBeGreaterThan(0);
    }
  });

  it('answers k-nearest queries exactly like brute force', async () => {
    for (let p = 2; p < 4; p++) {
      const probe = probes.data.subarray(p * PARAMS.d, (p + 1) * PARAMS.d);
      const response = await user.identify(owner.ownerId, INDEX, { query: client.encryptRequest(probe), k: 5 });
      expect(response.matches).toEqual(bruteForce(templates, ids, probe).slice(0, 5));
    }
  });

  it('finds an enrolled template at distance 0', async () => {
    const enrolled = templates.data.subarray(42 * PARAMS.d, 43 * PARAMS.d);
    const response = await user.identify(owner.ownerId, INDEX, { query: client.encryptRequest(enrolled), tauSquared: 0 });
    expect(response.matches.map((m) => m.dist2)).toEqual(response.matches.map(() => 0));
    expect(response.matches.map((m) => m.templateId)).toContain('person-042');
  });

  it('refuses malformed identification requests with 400 and changes nothing', async () => {
    const before = await e2e.snapshot();
    const probe = probes.data.subarray(0, PARAMS.d);
    const query = client.encryptRequest(probe);
    const both = await identifyRaw(query, { tauSquared: 10, k: 3 });
    expect(both.status).toBe(400);
    expect(errorMessageOf(both)).toMatch(/exactly one of tauSquared .* and k/);
    const short = await identifyRaw(query.subarray(0, query.length - 16), { k: 3 });
    expect(short.status).toBe(400);
    expect(errorMessageOf(short)).toMatch(/takes queries of exactly \d+ bytes/);
    const garbage = await identifyRaw(new Uint8Array(query.length).fill(7), { k: 3 });
    expect(garbage.status).toBe(400);
    expect(errorMessageOf(garbage)).toMatch(/is not a query for index "faces"/);
    const tooMany = await identifyRaw(query, { k: 51 });
    expect(tooMany.status).toBe(400);
    expect(errorMessageOf(tooMany)).toMatch(/k must be <= 50/);
    expect(await e2e.snapshot()).toEqual(before);
  });

  it('answers 503 with a clear message while CS2 is down, and recovers when it is back', async () => {
    const probe = probes.data.subarray(PARAMS.d, 2 * PARAMS.d);
    const query = client.encryptRequest(probe);
    const expected = bruteForce(templates, ids, probe).slice(0, 3);

    await e2e.cloud.stopAccount('cs2');
    try {
      const down = await identifyRaw(query, { k: 3 });
      expect(down.status, down.text).toBe(503);
      expect((down.json as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
      expect(errorMessageOf(down)).toMatch(/CS2/);
      // The typed client reports it as a transient service error.
      const error = await user.identify(owner.ownerId, INDEX, { query, k: 3 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 503, code: 'UNAVAILABLE', transient: true });
      // SEI-independent routes of CS1 keep working meanwhile.
      expect((await rawRequest(e2e.url, indexPath(owner.ownerId, INDEX), { token: userToken })).status).toBe(200);
    } finally {
      await e2e.cloud.startAccount('cs2');
    }
    const back: IdentifyResponse = await user.identify(owner.ownerId, INDEX, { query, k: 3 });
    expect(back.matches).toEqual(expected);
  });

  describe('CS2 accepts only CS1', () => {
    const decrypt = (headers: Record<string, string>) =>
      rawRequest(e2e.cloud.cs2Url, '/v1/decrypt', { headers, body: { keyId, batch: Buffer.from(output.records.subarray(0, 64)).toString('base64') } });

    it('refuses a caller without the credential, with a wrong one, and with a user or owner token', async () => {
      const logged = e2e.logs.length;
      for (const headers of [{} as Record<string, string>, { authorization: 'Bearer not-the-cs1-credential' }, { authorization: `Bearer ${userToken}` }, { authorization: `Bearer ${owner.ownerToken}` }]) {
        const response = await decrypt(headers);
        expect(response.status, response.text).toBe(403);
        expect(errorMessageOf(response)).toMatch(/only from CS1/);
      }
      // Nothing was decrypted for them.
      expect(e2e.logs.slice(logged).some((line) => line.includes('batch decrypted'))).toBe(false);
    });

    it('is not reachable through CS1 either except by the identify route', async () => {
      const response = await rawRequest(e2e.url, '/v1/decrypt', { token: userToken, body: { keyId, batch: 'AAAA' } });
      expect(response.status).toBe(404);
    });
  });
});
