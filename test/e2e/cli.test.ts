/**
 * The `blindsight` command line end to end: the real commander program run in-process with
 * argv (stdout and stderr captured), against the real local cloud (both accounts as child
 * processes, random ports, a temporary data folder), on 40 images of the bundled gallery plus
 * hostile files. The whole owner/user flow: init, request-key, index (SEI + two-server),
 * publish, enroll, import, search (decrypted results byte-identical to the originals),
 * K-anonymous search, add/delete seen by the next search, identify, revoke; file permissions;
 * hostile inputs; exit codes; --json output.
 */
import { copyFile, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../scripts/local-cloud/cloud';
import { startLocalCloud } from '../../scripts/local-cloud/cloud';
import { createFeatureProvider } from '../../scripts/cli/features';
import type { FeatureProvider } from '../../scripts/cli/features';
import { captureStream, silentReporter } from '../../scripts/cli/io';
import { runCli } from '../../scripts/cli/program';
import { balancedSubset, copySubset, GALLERY_DIR, galleryImages } from '../../scripts/demo/gallery';

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
  let features: FeatureProvider;
  let gallery: string;
  let extra: string;
  const ownerHome = () => join(work, 'owner-home');
  const userHome = () => join(work, 'user-home');

  const cli = async (...argv: string[]): Promise<Run> => {
    const stdout = captureStream();
    const stderr = captureStream();
    const code = await runCli(argv, { stdout, stderr, env: { BLINDSIGHT_DATA_DIR: dataDir }, cwd: work }, { features });
    let json: Record<string, unknown> = {};
    if (argv.includes('--json')) json = JSON.parse(stdout.text()) as Record<string, unknown>;
    return { code, stdout: stdout.text(), stderr: stderr.text(), json };
  };
  const owner = (...argv: string[]) => cli('owner', ...argv, '--home', ownerHome());
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
    features = createFeatureProvider(silentReporter);
    cloud = await startLocalCloud({ dataDir, onLog: () => {} });
  });

  afterAll(async () => {
    features?.dispose();
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

  it('owner index skips and lists unusable files, and builds both indexes', async () => {
    const run = await owner('index', 'gallery', '--two-server', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ ok: true, images: 40, d: 128, pcaComponents: 39, twoServer: { templates: 40, backend: 'bfv', embedding: 'cnn-pca' } });
    const skipped = (run.json.skipped as Array<{ file: string; reason: string }>).map((s) => s.file).sort();
    expect(skipped).toEqual(['broken-link.png', 'text-named.jpg', 'truncated.jpg']);
    expect(run.stderr).toMatch(/warning: 3 files were skipped/);
    expect(run.stderr).toMatch(/text-named\.jpg: /);
    expect(await mode(join(ownerHome(), 'owner', 'index', 'two-server', 'cs2-secret.bin'))).toBe(0o600);
  });

  it('owner publish uploads everything and hands CS2 its key', async () => {
    const run = await owner('publish', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ ok: true, images: { uploaded: 40 }, sei: { indexName: 'main', previousVersion: null }, twoServer: { indexName: 'main-identify', cs2: { imported: true } } });
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
    expect(imported.json).toMatchObject({ ok: true, userId: 'alice', index: 'main', identifyIndex: 'main-identify', endpoint: cloud.cs1Url });
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

  it('user search returns decrypted images byte-identical to the originals', async () => {
    const query = '0001-pullover.png';
    const run = await user('search', join('gallery', query), '--k', '5', '--out', 'results/plain', '--json');
    expect(run.code, run.stderr).toBe(0);
    const results = run.json.results as Array<{ rank: number; imageId: string; file: string }>;
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
    plainIds = results.map((r) => r.imageId);
  });

  it('a K-anonymous search returns the same results and downloads every list', async () => {
    const run = await user('search', join('gallery', '0001-pullover.png'), '--k', '5', '--anonymity', '3', '--out', 'results/anonymous', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect((run.json.results as Array<{ imageId: string }>).map((r) => r.imageId)).toEqual(plainIds);
    expect(run.json.anonymity).toBe(3);
    expect(run.json.downloaded as number).toBeGreaterThanOrEqual(5);

    // Decoys from the user's own folder instead of the grant's pool.
    const own = join(work, 'my-photos');
    await copySubset((await galleryImages()).filter((image) => image.label === 'coat').slice(20, 24), own);
    const mine = await user('search', join('gallery', '0001-pullover.png'), '--k', '5', '--anonymity', '4', '--decoys', own, '--out', 'results/own-decoys', '--json');
    expect(mine.code, mine.stderr).toBe(0);
    expect((mine.json.results as Array<{ imageId: string }>).map((r) => r.imageId)).toEqual(plainIds);
    const tooFew = await user('search', join('gallery', '0001-pullover.png'), '--anonymity', '8', '--decoys', own, '--out', 'results/x');
    expect(tooFew.code).toBe(1);
    expect(tooFew.stderr).toMatch(/--anonymity 8 needs 7 decoy images, the pool has 4: pass --decoys <folder> with more images, or a smaller --anonymity/);
  });

  it('owner add and delete are seen by the next search', async () => {
    const added = await owner('add', extra, '--json');
    expect(added.code).toBe(0);
    expect(added.json).toMatchObject({ ok: true, imageCount: 41 });
    const imageId = added.json.imageId as string;
    const found = await user('search', extra, '--k', '3', '--out', 'results/added', '--json');
    const results = found.json.results as Array<{ imageId: string; file: string }>;
    expect(results[0].imageId).toBe(imageId);
    expect(Buffer.compare(await readFile(results[0].file), await readFile(extra))).toBe(0);

    const deleted = await owner('delete', imageId, '--json');
    expect(deleted.json).toMatchObject({ ok: true, imageCount: 40 });
    const after = await user('search', extra, '--k', '3', '--out', 'results/deleted', '--json');
    expect((after.json.results as Array<{ imageId: string }>).map((r) => r.imageId)).not.toContain(imageId);
  });

  it('user identify finds the query image itself through CS1 and CS2', async () => {
    const query = '0002-trouser.png';
    const run = await user('identify', join('gallery', query), '--k', '2', '--json');
    expect(run.code, run.stderr).toBe(0);
    const matches = run.json.matches as Array<{ templateId: string; dist2: number }>;
    expect(matches).toHaveLength(2);
    expect(matches[0]).toMatchObject({ templateId: (await idsByFile()).get(query), dist2: 0 });
    expect(run.json.stats).toMatchObject({ cs2Calls: expect.any(Number) });
  });

  it('hostile and missing inputs give one clear line and exit 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['search', 'nope.png', '--out', 'r'], /^blindsight: error: cannot read query image .*nope\.png: no such file or folder\n$/],
      [['search', join(HOSTILE, 'text-named.jpg'), '--out', 'r'], /^blindsight: error: .*text-named\.jpg: .*\n$/],
      [['search', join(HOSTILE, 'truncated.jpg'), '--out', 'r'], /^blindsight: error: .*truncated\.jpg: .*\n$/],
      [['search', gallery, '--out', 'r'], /^blindsight: error: query image .*gallery is a folder, not a file\n$/],
      [['import', 'missing.grant.json'], /^blindsight: error: cannot read grant .*missing\.grant\.json: no such file or folder\n$/],
      [['import', join(HOSTILE, 'text-named.jpg')], /^blindsight: error: grant .* is not a JSON file\n$/],
    ];
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
    expect((await user('search', 'x.png')).code).toBe(2);
    const badK = await user('search', 'x.png', '--out', 'r', '--k', '0');
    expect(badK.code).toBe(2);
    expect(badK.stderr).toMatch(/--k must be an integer from 1 to 100/);
    expect((await user('identify', 'x.png', '--k', '2', '--tau-squared', '5')).code).toBe(2);
    expect((await cli('owner', 'frobnicate')).code).toBe(2);
    expect((await cli()).code).toBe(2);
    const help = await cli('user', 'search', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: blindsight user search \[options\] <image>/);
    const json = await user('search', 'x.png', '--json');
    expect(json.json).toMatchObject({ ok: false, error: { code: 'USAGE' } });
  });

  it('owner status reports the build, the served versions and the users', async () => {
    const run = await owner('status', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({
      ok: true,
      d: 128,
      build: { images: 40, skipped: 3, seiIndex: 'main', twoServerIndex: 'main-identify' },
      served: { main: { kind: 'sei' }, 'main-identify': { kind: 'two-server' } },
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
});
