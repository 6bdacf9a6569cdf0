/**
 * The `blindsight` command line end to end: the real commander program run in-process with
 * argv (stdout and stderr captured), against the real local cloud (both accounts as child
 * processes, random ports, a temporary data folder), on 40 images of the bundled gallery plus
 * hostile files. The whole owner/user flow: init, request-key, index (sealed + SEI +
 * two-server), publish, enroll, import, search (sealed by default, decrypted results
 * byte-identical to the originals), SEI and K-anonymous SEI search, add/delete seen by the next
 * search of either kind and by identification, identify, revoke; file permissions;
 * hostile inputs; exit codes; --json output.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../scripts/local-cloud/cloud';
import { startLocalCloud } from '../../scripts/local-cloud/cloud';
import { createFeatureModels } from '../../lib/client/node/feature-models';
import type { NodeFeatureModels } from '../../lib/client/node/feature-models';
import { captureStream, silentListener } from '../../scripts/cli/io';
import { runCli } from '../../scripts/cli/program';
import { balancedSubset, copySubset, GALLERY_DIR, galleryImages } from '../../scripts/demo/gallery';

const execFileAsync = promisify(execFile);
const HOSTILE = join(import.meta.dirname, '..', 'fixtures', 'images', 'hostile');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The --json object. */
  readonly json: Record<string, unknown>;
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('blindsight CLI against the local cloud', () => {
  let dataDir: string;
  let work: string;
  let cloud: LocalCloud;
  let models: NodeFeatureModels;
  let registry: string;
  let gallery: string;
  let extra: string;
  const ownerHome = () => join(work, 'owner-home');
  const userHome = () => join(work, 'user-home');

  /** Runs a command line; progress lines are off unless an interval is given (they depend on timing). */
  const cliWith = async (env: Record<string, string>, progressLineMs: number, argv: string[]): Promise<Run> => {
    const stdout = captureStream();
    const stderr = captureStream();
    const code = await runCli(argv, { stdout, stderr, env, cwd: work }, { models, progress: { lineIntervalMs: progressLineMs } });
    let json: Record<string, unknown> = {};
    if (argv.includes('--json')) json = JSON.parse(stdout.text()) as Record<string, unknown>;
    return { code, stdout: stdout.text(), stderr: stderr.text(), json };
  };
  // The cloud is found the way a user's CLI finds it: through the registry of running clouds, not told its data folder.
  const cli = (...argv: string[]) => cliWith({ BLINDSIGHT_LOCAL_CLOUD_REGISTRY: registry }, Number.POSITIVE_INFINITY, argv);
  const owner = (...argv: string[]) => cli('owner', ...argv, '--home', ownerHome());
  /** The result ids of the first query of a --json search. */
  const idsOf = (run: Run, query = 0) => (run.json.queries as Array<{ results: Array<{ imageId: string }> }>)[query].results.map((r) => r.imageId);
  const user = (...argv: string[]) => cli('user', ...argv, '--home', userHome());

  /** Gallery file -> image id, from the owner's manifest. */
  const idsByFile = async (): Promise<Map<string, string>> => {
    const manifest = JSON.parse(await readFile(join(ownerHome(), 'owner', 'index', 'manifest.json'), 'utf8')) as {
      images: Array<{ imageId: string; relative: string }>;
    };
    return new Map(manifest.images.map((image) => [image.relative, image.imageId]));
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cli-cloud-'));
    work = await mkdtemp(join(tmpdir(), 'cli-work-'));
    gallery = join(work, 'gallery');
    const all = await galleryImages();
    const subset = balancedSubset(all, 40);
    await copySubset(subset, gallery);
    // Hostile files among the images: skipped and listed, never fatal.
    await copyFile(join(HOSTILE, 'text-named.jpg'), join(gallery, 'text-named.jpg'));
    await copyFile(join(HOSTILE, 'truncated.jpg'), join(gallery, 'truncated.jpg'));
    await symlink(join(work, 'does-not-exist.png'), join(gallery, 'broken-link.png'));
    const chosen = new Set(subset.map((image) => image.file));
    extra = join(work, all.find((image) => !chosen.has(image.file) && image.label === 'bag')!.file);
    await copyFile(join(GALLERY_DIR, extra.split('/').pop()!), extra);
    models = createFeatureModels(() => silentListener);
    registry = join(work, 'registry');
    cloud = await startLocalCloud({ dataDir, onLog: () => {}, registryDir: registry });
  });

  afterAll(async () => {
    models?.dispose();
    await cloud?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('owner init creates private keys and registers the owner', async () => {
    const run = await owner('init', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ ok: true, created: true, d: 128, endpoint: cloud.cs1Url });
    expect(run.json.ownerId).toMatch(/^[a-z2-7]{52}$/);
    expect(await mode(ownerHome())).toBe(0o700);
    expect(await mode(join(ownerHome(), 'owner'))).toBe(0o700);
    for (const file of ['signing-key.jwk', 'sei-owner.key', 'image.key', 'placement.key', 'owner.json']) {
      expect(await mode(join(ownerHome(), 'owner', file))).toBe(0o600);
    }
    // Secrets never reach the output.
    const jwk = JSON.parse(await readFile(join(ownerHome(), 'owner', 'signing-key.jwk'), 'utf8')) as { d: string };
    expect(run.stdout + run.stderr).not.toContain(jwk.d);
  });

  it('owner enroll before any index explains what to do', async () => {
    await user('request-key');
    const run = await owner('enroll', 'alice', '--request', join(userHome(), 'user', 'key-request.json'));
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toBe('blindsight: error: nothing indexed yet: run "blindsight owner index <folder>" first\n');
  });

  it('owner index of a folder of sub-folders hints at --recursive before loading any model', async () => {
    const nested = join(work, 'nested');
    await copySubset((await galleryImages()).slice(0, 3), join(nested, 'summer'));
    const run = await owner('index', 'nested');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`blindsight: error: ${nested} has 0 files; its sub-folder holds 3 images: add --recursive; an index needs at least 2 images\n`);
  });

  it('owner index skips and lists unusable files, builds every index asked for, and shows progress when piped', async () => {
    const run = await cliWith({ BLINDSIGHT_LOCAL_CLOUD_REGISTRY: registry }, 0, ['owner', 'index', 'gallery', '--kind', 'sealed,sei', '--two-server', '--json', '--home', ownerHome()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({
      ok: true,
      images: 40,
      d: 128,
      pcaComponents: 39,
      sealed: { indexName: 'main', leafCount: expect.any(Number) },
      sei: { indexName: 'main-sei', search: { probes: expect.any(Number) } },
      twoServer: { templates: 40, backend: 'bfv', embedding: 'cnn-pca' },
    });
    expect(await mode(join(ownerHome(), 'owner', 'index', 'sealed', 'index-key.bin'))).toBe(0o600);
    const skipped = (run.json.skipped as Array<{ file: string; reason: string }>).map((s) => s.file).sort();
    expect(skipped).toEqual(['broken-link.png', 'text-named.jpg', 'truncated.jpg']);
    expect(run.stderr).toMatch(/warning: 3 files were skipped/);
    expect(run.stderr).toMatch(/text-named\.jpg: /);
    expect(await mode(join(ownerHome(), 'owner', 'index', 'two-server', 'cs2-secret.bin'))).toBe(0o600);
    // Not a terminal: progress comes as lines on stderr (stdout stays one JSON object).
    expect(run.stderr).toMatch(/^features: \d+\/43 \(\d+%\)/m);
    expect(run.stderr).toMatch(/^encrypt images: 40\/40 \(100%\), done in /m);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('owner publish uploads everything and hands CS2 its key', async () => {
    const run = await owner('publish', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({
      ok: true,
      images: { uploaded: 40 },
      sealed: { indexName: 'main', previousVersion: null },
      sei: { indexName: 'main-sei', previousVersion: null },
      twoServer: { indexName: 'main-identify', cs2: { imported: true } },
    });
    expect(await mode((run.json.twoServer as { cs2: { path: string } }).cs2.path)).toBe(0o600);
  });

  it('enrolls a user through the GenKey files', async () => {
    const grant = join(work, 'alice.grant.json');
    const enrolled = await owner('enroll', 'alice', '--request', join(userHome(), 'user', 'key-request.json'), '--out', grant);
    expect(enrolled.code).toBe(0);
    expect(await mode(grant)).toBe(0o600);
    expect(enrolled.stdout).toMatch(/^grant for "alice" written to /);
    const imported = await user('import', grant, '--json');
    expect(imported.code).toBe(0);
    expect(imported.json).toMatchObject({ ok: true, userId: 'alice', index: 'main', sealedIndex: 'main', seiIndex: 'main-sei', identifyIndex: 'main-identify', endpoint: cloud.cs1Url });
    expect(await mode(join(userHome(), 'user', 'grant.json'))).toBe(0o600);
    expect(await mode(join(userHome(), 'user', 'user-secret.key'))).toBe(0o600);
  });

  it('a grant for another key request is refused', async () => {
    const other = join(work, 'other-home');
    await cli('user', 'request-key', '--home', other);
    const run = await cli('user', 'import', join(work, 'alice.grant.json'), '--home', other);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/was issued for another key request/);
  });

  let plainIds: string[] = [];

  it('user search (sealed by default) returns decrypted images byte-identical to the originals', async () => {
    const query = '0001-pullover.png';
    const run = await user('search', join('gallery', query), '--k', '5', '--out', 'results/plain', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ kind: 'sealed', index: 'main', sealed: { realLeaves: expect.any(Number), leavesPerQuery: expect.any(Number) } });
    const results = (run.json.queries as Array<{ results: Array<{ rank: number; imageId: string; file: string }> }>)[0].results;
    expect(results.map((r) => r.rank)).toEqual([1, 2, 3, 4, 5]);
    const ids = await idsByFile();
    const fileOf = new Map([...ids].map(([file, id]) => [id, file]));
    // The query image itself is in the index: it ranks first.
    expect(results[0].imageId).toBe(ids.get(query));
    for (const result of results) {
      const original = await readFile(join(gallery, fileOf.get(result.imageId)!));
      expect(Buffer.compare(await readFile(result.file), original)).toBe(0);
      expect(await mode(result.file)).toBe(0o600);
    }
    expect(await mode(join(work, 'results', 'plain'))).toBe(0o700);

    // The same search on the SEI index, with the same flags: the image itself first again.
    const sei = await user('search', join('gallery', query), '--kind', 'sei', '--k', '5', '--ids-only', '--json');
    expect(sei.code, sei.stderr).toBe(0);
    expect(sei.json).toMatchObject({ kind: 'sei', index: 'main-sei' });
    expect(idsOf(sei)[0]).toBe(ids.get(query));
    plainIds = idsOf(sei);
    // --probes means real leaves for a sealed index; more than it has is refused.
    const probes = await user('search', join('gallery', query), '--probes', '1000', '--ids-only');
    expect(probes.code).toBe(1);
    expect(probes.stderr).toMatch(/--probes must be an integer from 1 to \d+/);
  });

  it('a K-anonymous SEI search returns the same results and downloads every list', async () => {
    const run = await user('search', '--kind', 'sei', join('gallery', '0001-pullover.png'), '--k', '5', '--anonymity', '3', '--out', 'results/anonymous', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(idsOf(run)).toEqual(plainIds);
    expect(run.json.anonymity).toBe(3);
    expect(run.json.downloaded as number).toBeGreaterThanOrEqual(5);

    // Decoys from the user's own folder instead of the grant's pool.
    const own = join(work, 'my-photos');
    await copySubset((await galleryImages()).filter((image) => image.label === 'coat').slice(20, 24), own);
    const mine = await user('search', '--kind', 'sei', join('gallery', '0001-pullover.png'), '--k', '5', '--anonymity', '4', '--decoys', own, '--out', 'results/own-decoys', '--json');
    expect(mine.code, mine.stderr).toBe(0);
    expect(idsOf(mine)).toEqual(plainIds);
    const tooFew = await user('search', '--kind', 'sei', join('gallery', '0001-pullover.png'), '--anonymity', '8', '--decoys', own, '--out', 'results/x');
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr).toMatch(/--anonymity 8 needs 7 decoy images, the pool has 4: pass --decoys <folder> with more images, or a smaller --anonymity/);
  });

  it('searches many images in one run: a folder, ids only, one result list per query', async () => {
    const queries = join(work, 'queries');
    const chosen = ['0001-pullover.png', '0002-trouser.png', '0004-shirt.png'];
    await mkdir(queries, { recursive: true });
    for (const file of chosen) await copyFile(join(gallery, file), join(queries, file));
    await copyFile(join(HOSTILE, 'text-named.jpg'), join(queries, 'zz-not-an-image.jpg'));
    const run = await user('search', 'queries', '--k', '3', '--ids-only', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ ok: true, k: 3, idsOnly: true, downloaded: 0 });
    const lists = run.json.queries as Array<{ query: string; results: Array<{ imageId: string; file?: string }> }>;
    expect(lists.map((q) => q.query)).toEqual(chosen.map((file) => `queries/${file}`));
    const ids = await idsByFile();
    // Every query is in the index: each finds itself first; nothing was downloaded or written.
    lists.forEach((q, i) => {
      expect(q.results).toHaveLength(3);
      expect(q.results[0].imageId).toBe(ids.get(chosen[i]));
      expect(q.results[0].file).toBeUndefined();
    });
    expect(run.json.skipped).toEqual([{ file: 'queries/zz-not-an-image.jpg', reason: expect.any(String) }]);
    expect(run.stderr).toMatch(/warning: 1 query image could not be used and was skipped/);
    // The first query alone gives the same list as in the batch.
    expect(idsOf(await user('search', join('queries', chosen[0]), '--k', '3', '--ids-only', '--json'))).toEqual(lists[0].results.map((r) => r.imageId));

    // Without --out, results are decrypted into ./blindsight-results/<query>/.
    const files = await user('search', join('queries', chosen[1]), join('queries', chosen[2]), '--k', '2');
    expect(files.code, files.stderr).toBe(0);
    expect(files.stdout).toMatch(/^query queries\/0002-trouser\.png\n/);
    expect((await readdir(join(work, 'blindsight-results', '0002-trouser'))).sort()).toEqual([`01-${ids.get(chosen[1])}.png`, expect.stringMatching(/^02-[a-z2-7]{18}\.png$/)]);
    expect(await readdir(join(work, 'blindsight-results'))).toEqual(expect.arrayContaining(['0002-trouser', '0004-shirt']));
    expect((await user('search', 'queries', '--ids-only', '--out', 'x')).code).toBe(2);
  });

  /** The image deleted from every index by the add/delete test. */
  let deletedFromBoth = '';
  /** The image the add/delete test added, then deleted. */
  let addedThenDeleted = '';
  /** The template ids of the first query of a --json identify. */
  const matchesOf = (run: Run, query = 0) => (run.json.queries as Array<{ matches: string[] }>)[query].matches;

  it('owner add and delete keep every index in step: an added image every search and identify find, a deleted one none', async () => {
    const unchanged = await owner('status', '--json');
    const servedBefore = (unchanged.json.served as Record<string, { version: string }>).main.version;
    const added = await owner('add', extra, '--json');
    expect(added.code, added.stderr).toBe(0);
    const imageId = added.json.imageId as string;
    expect(added.json).toMatchObject({
      ok: true,
      imageCount: 41,
      sealed: { indexName: 'main', imageCount: 41, previousVersion: servedBefore },
      sei: { indexName: 'main-sei', imageCount: 41 },
      identification: { indexName: 'main-identify', templates: 41, shardsUploaded: 1 },
    });
    expect(added.json.staleIdentification).toBeUndefined();
    expect(await mode(join(ownerHome(), 'owner', 'index', 'two-server', 'provider-index.bin'))).toBe(0o600);
    // Both search kinds find the added image first (the sealed search decrypts it byte for byte), and so does identification.
    const found = await user('search', extra, '--k', '3', '--out', 'results/added', '--json');
    const results = (found.json.queries as Array<{ results: Array<{ imageId: string; file: string }> }>)[0].results;
    expect(results[0].imageId).toBe(imageId);
    expect(Buffer.compare(await readFile(results[0].file), await readFile(extra))).toBe(0);
    expect(idsOf(await user('search', extra, '--kind', 'sei', '--k', '3', '--ids-only', '--json'))[0]).toBe(imageId);
    const identified = await user('identify', extra, '--k', '1', '--json');
    expect(identified.code, identified.stderr).toBe(0);
    expect(matchesOf(identified)).toEqual([imageId]);

    // Deleted again: no search and no identification returns it.
    const deleted = await owner('delete', imageId, '--json');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.json).toMatchObject({ ok: true, imageCount: 40, sealed: { imageCount: 40 }, sei: { imageCount: 40 }, identification: { templates: 40 } });
    expect(deleted.json.staleIdentification).toBeUndefined();
    // Its envelope is to go once no version lists it (the clean-up test below).
    expect(deleted.json.envelopeRemoval).toEqual({ requestedAt: expect.any(String) });
    addedThenDeleted = imageId;
    expect(idsOf(await user('search', extra, '--k', '10', '--ids-only', '--json'))).not.toContain(imageId);
    expect(idsOf(await user('search', extra, '--kind', 'sei', '--k', '10', '--ids-only', '--json'))).not.toContain(imageId);
    const after = await user('identify', extra, '--k', '10', '--json');
    expect(after.code, after.stderr).toBe(0);
    expect(matchesOf(after)).toHaveLength(10);
    expect(matchesOf(after)).not.toContain(imageId);

    // An image of the original build: gone from every index, however many results a query asks for.
    const victim = (await idsByFile()).get('0003-trouser.png')!;
    deletedFromBoth = victim;
    expect(matchesOf(await user('identify', join('gallery', '0003-trouser.png'), '--k', '1', '--json'))).toEqual([victim]);
    const gone = await owner('delete', '0003-trouser.png', '--json');
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.json).toMatchObject({ ok: true, imageCount: 39, identification: { templates: 39 } });
    const leaves = ((await user('search', join('gallery', '0003-trouser.png'), '--ids-only', '--json')).json.sealed as { leavesPerQuery: number }).leavesPerQuery;
    for (const [kind, probes] of [['sealed', leaves], ['sei', 64]] as const) {
      const all = await user('search', join('gallery', '0003-trouser.png'), '--kind', kind, '--k', '40', '--probes', String(probes), '--ids-only', '--json');
      expect(all.code, all.stderr).toBe(0);
      expect(idsOf(all)).toHaveLength(39);
      expect(idsOf(all)).not.toContain(victim);
    }
    expect(matchesOf(await user('identify', join('gallery', '0003-trouser.png'), '--k', '10', '--json'))).not.toContain(victim);
    expect((await owner('status')).stdout).not.toMatch(/out of step/);

    // A build without its provider index (made before identification followed updates) refuses, naming what to do.
    const providerFile = join(ownerHome(), 'owner', 'index', 'two-server', 'provider-index.bin');
    await rename(providerFile, `${providerFile}.away`);
    const refused = await owner('add', extra);
    await rename(`${providerFile}.away`, providerFile);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the identification index "main-identify" cannot follow this add: its build keeps no provider index .*Re-index instead .*or pass --sei-only/);

    // --sei-only leaves identification as it is, and the gap is recorded.
    const shirt = (await idsByFile()).get('0004-shirt.png')!;
    const searchOnly = await owner('delete', '0004-shirt.png', '--sei-only', '--json');
    expect(searchOnly.code, searchOnly.stderr).toBe(0);
    expect(searchOnly.json).toMatchObject({ ok: true, imageCount: 38, staleIdentification: { indexName: 'main-identify', added: [], deleted: [shirt] } });
    expect(searchOnly.json.identification).toBeUndefined();
    // Identification may still return it: its envelope stays.
    expect(searchOnly.json.envelopeRemoval).toBeUndefined();
    expect(searchOnly.stderr).toMatch(/the encrypted image [a-z2-7]+ stays in storage: identification may still return its id/);
    expect(idsOf(await user('search', join('gallery', '0004-shirt.png'), '--k', '10', '--ids-only', '--json'))).not.toContain(shirt);
    const status = await owner('status');
    expect(status.stdout).toMatch(new RegExp(`identification index "main-identify" is out of step: misses added -; still returns deleted ${shirt}`));
  });

  it('user identify finds each query image itself through CS1 and CS2, several in one run', async () => {
    const run = await user('identify', join('gallery', '0002-trouser.png'), join('gallery', '0003-trouser.png'), join('gallery', '0004-shirt.png'), '--k', '2', '--json');
    expect(run.code, run.stderr).toBe(0);
    // Template ids only, nearest first: never distances.
    const queries = run.json.queries as Array<{ query: string; matches: string[] }>;
    expect(queries.map((q) => q.query)).toEqual(['gallery/0002-trouser.png', 'gallery/0003-trouser.png', 'gallery/0004-shirt.png']);
    const ids = await idsByFile();
    expect(queries[0].matches).toHaveLength(2);
    expect(queries[0].matches[0]).toBe(ids.get('0002-trouser.png'));
    expect(JSON.stringify(run.json)).not.toMatch(/dist2|distance/);
    expect(run.json.budget).toMatchObject({ limit: 100, remaining: expect.any(Number) });
    // 0003-trouser.png was deleted from both indexes; 0004-shirt.png with --sei-only: exactly the gap "owner status" reports.
    const manifest = JSON.parse(await readFile(join(ownerHome(), 'owner', 'index', 'manifest.json'), 'utf8')) as { twoServer: { stale: { deleted: string[] } } };
    expect(queries[1].matches).toHaveLength(2);
    expect(deletedFromBoth).not.toBe('');
    expect(queries[1].matches).not.toContain(deletedFromBoth);
    expect(queries[2].matches[0]).toBe(manifest.twoServer.stale.deleted[0]);
  });

  it("the clean-up (npm run cleanup) removes a deleted image's envelope once no kept version lists it, and every search still answers", async () => {
    const day = 24 * 60 * 60 * 1000;
    const cleanup = async (at: number) => {
      // What `npm run cleanup` runs, from the repository (where tsx resolves).
      const root = join(import.meta.dirname, '..', '..');
      const args = ['--import', 'tsx', join('scripts', 'local-cloud', 'cleanup.ts'), '--data-dir', dataDir, '--at', new Date(at).toISOString(), '--json'];
      const { stdout } = await execFileAsync(process.execPath, args, { cwd: root });
      return JSON.parse(stdout) as { imageRemovals: Array<{ imageId: string; outcome: string; heldBy?: Array<{ indexName: string }> }>; envelopesRemoved: number; failures: unknown[] };
    };
    // The first run finds the superseded versions retired; past the retention (7 days) they go.
    expect((await cleanup(Date.now() + day)).envelopesRemoved).toBe(0);
    const report = await cleanup(Date.now() + 30 * day);
    expect(report.failures).toEqual([]);
    const outcomes = new Map(report.imageRemovals.map((removal) => [removal.imageId, removal]));
    expect(addedThenDeleted).not.toBe('');
    // Every version that listed the added-then-deleted image went, and so did its envelope.
    expect(outcomes.get(addedThenDeleted)).toEqual({ ownerId: expect.any(String), imageId: addedThenDeleted, outcome: 'removed' });
    // Deleted from every index, but the identification version its delete replaced (kept until the next publish) still lists it: it stays.
    expect(outcomes.get(deletedFromBoth)).toMatchObject({ outcome: 'waiting', heldBy: [{ indexName: 'main-identify' }] });
    // Deleted with --sei-only (identification still returns it): no removal was asked for.
    const manifest = JSON.parse(await readFile(join(ownerHome(), 'owner', 'index', 'manifest.json'), 'utf8')) as { twoServer: { stale: { deleted: string[] } } };
    expect(outcomes.has(manifest.twoServer.stale.deleted[0])).toBe(false);
    expect(report.envelopesRemoved).toBe(1);

    // Nothing reachable went: both search kinds and identification answer as before, results decrypt.
    const sealed = await user('search', join('gallery', '0001-pullover.png'), '--k', '5', '--out', 'results/after-cleanup', '--json');
    expect(sealed.code, sealed.stderr).toBe(0);
    const ids = await idsByFile();
    expect(idsOf(sealed)[0]).toBe(ids.get('0001-pullover.png'));
    expect(idsOf(await user('search', join('gallery', '0001-pullover.png'), '--kind', 'sei', '--k', '5', '--ids-only', '--json'))[0]).toBe(ids.get('0001-pullover.png'));
    const identified = await user('identify', join('gallery', '0002-trouser.png'), '--k', '1', '--json');
    expect(identified.code, identified.stderr).toBe(0);
    expect(matchesOf(identified)).toEqual([ids.get('0002-trouser.png')]);
  });

  it('hostile and missing inputs give one clear line and exit 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['search', 'nope.png', '--out', 'r'], /^blindsight: error: cannot read query image .*nope\.png: no such file or folder\n$/],
      [['search', join(HOSTILE, 'text-named.jpg'), '--out', 'r'], /^blindsight: error: .*text-named\.jpg: .*\n$/],
      [['search', join(HOSTILE, 'truncated.jpg'), '--out', 'r'], /^blindsight: error: .*truncated\.jpg: .*\n$/],
      [['search', join(work, 'empty-folder')], /^blindsight: error: .*empty-folder holds no files\n$/],
      [['import', join(userHome(), 'user', 'key-request.json')], /^blindsight: error: .*key-request\.json is your key request, not a grant: send it to the owner/],
      [['import', 'missing.grant.json'], /^blindsight: error: cannot read grant .*missing\.grant\.json: no such file or folder\n$/],
      [['import', join(HOSTILE, 'text-named.jpg')], /^blindsight: error: grant .* is not a JSON file\n$/],
    ];
    await mkdir(join(work, 'empty-folder'), { recursive: true });
    for (const [argv, message] of cases) {
      const run = await user(...argv);
      expect(run.code, argv.join(' ')).toBe(1);
      expect(run.stderr, argv.join(' ')).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    const enroll = await owner('enroll', 'bob', '--request', join(HOSTILE, 'svg-named.png'));
    expect(enroll.code).toBe(1);
    expect(enroll.stderr).toMatch(/^blindsight: error: key request .*svg-named\.png is not a JSON file\n$/);
    const noHome = await cli('owner', 'status', '--home', join(work, 'nobody'));
    expect(noHome.stderr).toBe(`blindsight: error: no owner in ${join(work, 'nobody')}: run "blindsight owner init" first (or pass --home)\n`);
  });

  it('usage errors exit 2; help exits 0', async () => {
    expect((await user('search')).code).toBe(2);
    const badK = await user('search', 'x.png', '--out', 'r', '--k', '0');
    expect(badK.code).toBe(2);
    expect(badK.stderr).toMatch(/--k must be an integer from 1 to 100/);
    expect((await user('identify', 'x.png', '--k', '2', '--tau-squared', '5')).code).toBe(2);
    expect((await cli('owner', 'frobnicate')).code).toBe(2);
    expect((await cli()).code).toBe(2);
    const help = await cli('user', 'search', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: blindsight user search \[options\] <images\.\.\.>/);
    expect(help.stdout).toMatch(/--ids-only/);
    const json = await user('search', '--json');
    expect(json.json).toMatchObject({ ok: false, error: { code: 'USAGE' } });
  });

  it('a home whose saved endpoint has stopped answering uses the running local cloud, and says so', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const dead = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
    await new Promise<void>((done) => probe.close(() => done()));
    const home = join(work, 'moved-user');
    const { cp } = await import('node:fs/promises');
    await cp(userHome(), home, { recursive: true });
    const grantFile = join(home, 'user', 'grant.json');
    await writeFile(grantFile, JSON.stringify({ ...JSON.parse(await readFile(grantFile, 'utf8')), endpoint: dead }), { mode: 0o600 });
    const run = await cli('user', 'identify', join('gallery', '0002-trouser.png'), '--k', '1', '--home', home, '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`warning: the endpoint ${dead} saved in your grant (${grantFile}) does not answer (the local cloud that ran there has stopped); using the running local cloud at ${cloud.cs1Url}`);
    expect((run.json.queries as Array<{ matches: string[] }>)[0].matches[0]).toBe((await idsByFile()).get('0002-trouser.png'));
    // An explicit endpoint that does not answer: the error says where it came from.
    const explicit = await cli('user', 'search', join('gallery', '0002-trouser.png'), '--ids-only', '--home', home, '--endpoint', dead);
    expect(explicit.code).toBe(1);
    expect(explicit.stderr).toMatch(new RegExp(`^blindsight: error: cannot reach ${dead}: ECONNREFUSED; is the local cloud running\\? \\(npm start\\) \\(endpoint ${dead} from --endpoint\\)\n$`));
    // BLINDSIGHT_DATA_DIR names the cloud explicitly.
    const named = await cliWith({ BLINDSIGHT_DATA_DIR: dataDir }, Number.POSITIVE_INFINITY, ['user', 'search', join('gallery', '0002-trouser.png'), '--ids-only', '--k', '1', '--home', home]);
    expect(named.code, named.stderr).toBe(0);
  });

  it('run by npm (from the package root), takes relative paths from the folder the user typed the command in', async () => {
    const { spawn } = await import('node:child_process');
    const { REPO_ROOT } = await import('../../scripts/local-cloud/layout');
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'cli', 'main.ts'), 'user', 'search', join('gallery', '0001-pullover.png'), '--k', '1', '--ids-only', '--json', '--home', 'user-home'], {
        cwd: REPO_ROOT,
        env: { ...process.env, INIT_CWD: work, BLINDSIGHT_LOCAL_CLOUD_REGISTRY: registry, BLINDSIGHT_HOME: '', BLINDSIGHT_ENDPOINT: '', BLINDSIGHT_DATA_DIR: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { queries: Array<{ query: string; results: Array<{ imageId: string }> }> };
    expect(json.queries[0].results[0].imageId).toBe((await idsByFile()).get('0001-pullover.png'));
  });

  it('owner status reports the build, the served versions and the users', async () => {
    const run = await owner('status', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({
      ok: true,
      d: 128,
      build: { images: 38, skipped: 3, sealedIndex: 'main', seiIndex: 'main-sei', twoServerIndex: 'main-identify', published: true },
      served: { main: { kind: 'sealed' }, 'main-sei': { kind: 'sei' }, 'main-identify': { kind: 'two-server' } },
      users: { alice: { status: 'active' } },
    });
  });

  it("revocation takes effect on the user's next search", async () => {
    expect((await owner('revoke', 'alice')).code).toBe(0);
    const run = await user('search', join('gallery', '0001-pullover.png'), '--out', 'results/revoked', '--json');
    expect(run.code, run.stderr).toBe(1);
    expect(run.json).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(run.stderr).toMatch(/^blindsight: error: CS1 refused your token \(user "alice"\): the owner has revoked your access/);
    // Enrolling again (same key request) re-activates the user.
    const grant = join(work, 'alice-again.grant.json');
    expect((await owner('enroll', 'alice', '--request', join(userHome(), 'user', 'key-request.json'), '--out', grant)).code).toBe(0);
    expect((await user('import', grant)).code).toBe(0);
    expect((await user('search', join('gallery', '0001-pullover.png'), '--k', '1', '--out', 'results/again')).code).toBe(0);
  });

  it('refuses a secret file that others can read', async () => {
    const { chmod } = await import('node:fs/promises');
    const key = join(userHome(), 'user', 'user-secret.key');
    await chmod(key, 0o644);
    const run = await user('search', join('gallery', '0001-pullover.png'), '--out', 'r');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/is accessible by other users \(mode 644\): run "chmod 600 /);
    await chmod(key, 0o600);
  });

  it('tells a user whose grant belongs to an older build than the one served, not after mere updates', async () => {
    const before = await user('search', join('gallery', '0001-pullover.png'), '--k', '1', '--ids-only');
    expect(before.stderr).not.toMatch(/rebuilt/);
    expect((await owner('index', 'gallery', '--kind', 'sealed,sei')).code).toBe(0);
    expect((await owner('publish')).code).toBe(0);
    // Sealed: a new build has a new index key, which the old grant does not hold.
    const sealed = await user('search', join('gallery', '0001-pullover.png'), '--k', '1', '--ids-only');
    expect(sealed.code).toBe(1);
    expect(sealed.stderr).toMatch(/^blindsight: error: index "main" was rebuilt after your grant was issued .*ask the owner to enroll you again\n$/);
    // SEI: the old grant still searches, with a warning that its PCA is the old build's.
    const stale = await user('search', join('gallery', '0001-pullover.png'), '--kind', 'sei', '--k', '1', '--ids-only', '--json');
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.stderr).toMatch(/warning: index "main-sei" was rebuilt after your grant was issued .*ask the owner to enroll you again/);
    expect(stale.json.staleGrant).toMatch(/rebuilt/);
    const grant = join(work, 'alice-rebuilt.grant.json');
    expect((await owner('enroll', 'alice', '--request', join(userHome(), 'user', 'key-request.json'), '--out', grant)).code).toBe(0);
    expect((await user('import', grant)).code).toBe(0);
    for (const kind of ['sealed', 'sei']) {
      const fresh = await user('search', join('gallery', '0001-pullover.png'), '--kind', kind, '--k', '1', '--ids-only');
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(fresh.stderr).not.toMatch(/rebuilt/);
    }
  });
});
