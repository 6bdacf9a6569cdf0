/**
 * The CLI's and the client workflows' building blocks without a cloud: the GenKey file formats
 * and their decoders, the private-file helpers, endpoint resolution and local cloud discovery,
 * the projection (PCA + zero padding keeps distances), image ids, folder listings and their
 * hints, progress lines off a terminal, the user's folder under npm, error lines and the demo
 * gallery's balanced subsets.
 */
import { createHmac } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedDataError, NotFoundError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { imageKeyFromRaw } from '../../support/image-keys';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { fitPca, transformPca } from '../../../lib/ml/pca';
import { encodeUserSecret } from '../../../lib/sei/key-formats';
import { generateUserSecret } from '../../../lib/sei/user-key';
import { bytesToBase64 as toBase64 } from '../../../lib/codec/base64';
import type { WorkflowEvent } from '../../../lib/client/events';
import { projectFeatures, quantizeEmbeddings, unitRows } from '../../../lib/client/features';
import { decodeGrant, decodeKeyRequest, float64Bytes } from '../../../lib/client/formats';
import { float64FromBytes } from '../../support/formats';
import { imageIdOf } from '../../../lib/client/image-ids';
import { fileError } from '../../../lib/client/node/file-errors';
import { collectImages, emptyFolderHint, listImageFolder, uniqueStem } from '../../../lib/client/node/folder-images';
import { parseJson, readPrivateFile, writePrivateFile } from '../../../lib/client/node/private-files';
import { localCs2KeyDir, resolveEndpoint } from '../../../scripts/cli/endpoint';
import { describeError, EXIT_FAILURE, EXIT_USAGE, UsageError } from '../../../scripts/cli/errors';
import { hintForWrongFile } from '../../../scripts/cli/hints';
import { captureStream, formatTable, streamReporter } from '../../../scripts/cli/io';
import { commandCwd } from '../../../scripts/user-cwd';
import { REPO_ROOT } from '../../../scripts/local-cloud/layout';
import { registerLocalCloud, runningLocalClouds } from '../../../scripts/local-cloud/registry';
import type { LocalCloudEndpoints } from '../../../scripts/local-cloud/cloud';
import { balancedSubset } from '../../../scripts/demo/gallery';

function randomSet(n: number, d: number, seed: number): VectorSet {
  const random = seededRandom(seed);
  return { n, d, data: Float64Array.from({ length: n * d }, () => random.gaussian()) };
}

describe('private files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-files-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes 0600 files in 0700 folders and reads them back', async () => {
    const path = join(dir, 'a', 'b', 'secret.bin');
    await writePrivateFile(path, new Uint8Array([1, 2, 3]));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'a', 'b'))).mode & 0o777).toBe(0o700);
    expect([...(await readPrivateFile(path, 'the secret'))]).toEqual([1, 2, 3]);
    // Rewriting replaces the content atomically and keeps the mode.
    await writePrivateFile(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('refuses secrets others can read, naming the fix', async () => {
    const path = join(dir, 'open.key');
    await writeFile(path, 'x');
    await chmod(path, 0o640);
    await expect(readPrivateFile(path, 'the key')).rejects.toThrow(`the key ${path} is accessible by other users (mode 640): run "chmod 600 ${path}"`);
    await expect(readPrivateFile(join(dir, 'missing.key'), 'the key')).rejects.toThrow(`cannot read the key ${join(dir, 'missing.key')}: no such file or folder`);
    await expect(readPrivateFile(dir, 'the key')).rejects.toThrow(`the key ${dir} is a folder, not a file`);
  });

  it('names a file that is not JSON', () => {
    expect(() => parseJson(new Uint8Array([0xff, 0xfe]), '/x/grant.json', 'grant')).toThrow('grant /x/grant.json is not a JSON file');
  });
});

describe('GenKey file formats', () => {
  const secret = encodeUserSecret(generateUserSecret(4));
  const request = { format: 'blindsight-key-request', version: 1, createdAt: '2026-01-01T00:00:00Z', d: 4, userSecret: toBase64(secret) };

  it('decodes a key request and refuses other files', () => {
    const decoded = decodeKeyRequest(request);
    expect(decoded.request.d).toBe(4);
    expect(Buffer.compare(Buffer.from(decoded.userSecret), Buffer.from(secret))).toBe(0);
    expect(() => decodeKeyRequest({ ...request, format: 'blindsight-grant' })).toThrow('key request: it is not a blindsight-key-request file (format is "blindsight-grant")');
    expect(() => decodeKeyRequest({ ...request, version: 2 })).toThrow(/version 2 is not supported/);
    expect(() => decodeKeyRequest({ ...request, d: 0 })).toThrow('key request: d must be an integer from 1 to 4096');
    expect(() => decodeKeyRequest({ ...request, userSecret: 'not base64!' })).toThrow('key request: userSecret must be base64');
    expect(() => decodeKeyRequest([])).toThrow(MalformedDataError);
  });

  it('checks the decoy pool of a grant', () => {
    const decoys = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const grant = {
      format: 'blindsight-grant',
      version: 1,
      issuedAt: 'now',
      ownerId: 'o'.repeat(52),
      userId: 'u',
      endpoint: 'http://127.0.0.1:4510',
      token: 't',
      tokenExpiresAt: 'later',
      requestSha256: 'x',
      features: { model: 'mobilenet_v2_mid', layer: 'mid', inputSize: 128, modelId: 'm', modelVersion: 'v', dimension: 816 },
      pca: 'AAAA',
      sei: { indexName: 'main', d: 4, userKey: 'AAAA' },
      imageKey: 'AAAA',
      decoys: { n: 2, d: 4, data: toBase64(float64Bytes(decoys)) },
    };
    expect([...decodeGrant(grant).decoys.data]).toEqual([...decoys]);
    expect(() => decodeGrant({ ...grant, decoys: { n: 3, d: 4, data: grant.decoys.data } })).toThrow('grant: decoys.data holds 64 bytes, not 3 x 4 float64 values');
    expect(() => decodeGrant({ ...grant, decoys: { n: 2, d: 4, data: toBase64(float64Bytes(new Float64Array([1, 2, 3, Number.NaN, 5, 6, 7, 8]))) } })).toThrow(
      'grant: decoys.data holds non-finite numbers',
    );
    expect(() => decodeGrant({ ...grant, twoServer: { indexName: 'x', embedding: 'iris' } })).toThrow('grant: twoServer.embedding must be "cnn-pca" or "face"');
    // A sealed-only grant: its index key comes out decoded; a grant naming no index is refused.
    const sealedOnly = { ...grant, sei: { d: 4, userKey: 'AAAA' }, sealed: { indexName: 'main', keyId: 'k1', indexKey: 'AQID' } };
    const decoded = decodeGrant(sealedOnly);
    expect(decoded.grant.sealed).toEqual({ indexName: 'main', keyId: 'k1', indexKey: 'AQID' });
    expect(decoded.grant.sei.indexName).toBeUndefined();
    expect([...decoded.indexKey!]).toEqual([1, 2, 3]);
    expect(() => decodeGrant({ ...sealedOnly, sealed: undefined })).toThrow('grant: it names no index (neither sealed nor sei.indexName)');
    expect(() => decodeGrant({ ...sealedOnly, sealed: { indexName: 'main', keyId: 'k1', indexKey: '***' } })).toThrow('grant: sealed.indexKey must be base64');
  });

  it('round-trips float64 rows and refuses partial rows', () => {
    const data = new Float64Array([0.5, -1, 1e-300, 3]);
    expect([...float64FromBytes(float64Bytes(data), 2, 'rows')]).toEqual([...data]);
    expect(() => float64FromBytes(new Uint8Array(24), 2, 'rows')).toThrow('rows: holds 24 bytes, not whole rows of 2 float64 values');
  });
});

describe('projection', () => {
  it('pads PCA output with zeros, keeping distances exactly', () => {
    const features = randomSet(12, 30, 1);
    const pca = fitPca(features, 11);
    const padded = projectFeatures(pca, features, 16);
    const plain = transformPca(pca, features);
    expect(padded.d).toBe(16);
    for (let i = 0; i < 12; i++) {
      expect([...padded.data.subarray(i * 16 + 11, (i + 1) * 16)]).toEqual([0, 0, 0, 0, 0]);
      for (let j = 0; j < 12; j++) {
        expect(squaredDistanceAt(padded.data, i * 16, padded.data, j * 16, 16)).toBe(squaredDistanceAt(plain.data, i * 11, plain.data, j * 11, 11));
      }
    }
    expect(() => projectFeatures(pca, features, 10)).toThrow('PCA has 11 components, more than the index dimension 10');
  });

  it('quantizes unit rows into the integer box the HE schemes take', () => {
    const rows = unitRows({ n: 2, d: 3, data: new Float64Array([3, 4, 0, 0, 0, 0]) });
    expect([...rows.data]).toEqual([0.6, 0.8, 0, 0, 0, 0]);
    expect([...quantizeEmbeddings(rows, 3, 1000).data]).toEqual([600, 800, 0, 0, 0, 0]);
    expect([...quantizeEmbeddings({ n: 1, d: 2, data: new Float64Array([2.5, -0.0001]) }, 3, 1000).data]).toEqual([1000, 0]);
    expect(() => quantizeEmbeddings({ n: 1, d: 1, data: new Float64Array([Number.NaN]) }, 3, 1000)).toThrow(/non-finite/);
  });
});

describe('image ids', () => {
  it('are stable, opaque, valid storage names and keyed', async () => {
    const key = imageKeyFromRaw(new Uint8Array(32).fill(7), '0123456789abcdef');
    const other = imageKeyFromRaw(new Uint8Array(32).fill(8), '0123456789abcdef');
    const id = await imageIdOf(key, '0001-pullover.png');
    expect(id).toMatch(/^[a-z2-7]{18}$/);
    expect(await imageIdOf(key, '0001-pullover.png')).toBe(id);
    expect(await imageIdOf(key, '0002-trouser.png')).not.toBe(id);
    expect(await imageIdOf(other, '0001-pullover.png')).not.toBe(id);
    expect(id).not.toContain('pullover');
  });

  it('are the first 90 bits of HMAC-SHA-256 in base32, as published indexes already use them', async () => {
    const key = imageKeyFromRaw(new Uint8Array(32).fill(3), '0123456789abcdef');
    const digest = createHmac('sha256', key.raw).update('blindsight-image-id/v1\0photos/cat.jpg').digest();
    let bits = '';
    for (const byte of digest) bits += byte.toString(2).padStart(8, '0');
    const expected = Array.from({ length: 18 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz234567'[parseInt(bits.slice(i * 5, i * 5 + 5), 2)]).join('');
    expect(await imageIdOf(key, 'photos/cat.jpg')).toBe(expected);
  });
});

describe('local cloud discovery and endpoints', () => {
  let scratch: string;
  let registry: string;
  let live: ReturnType<typeof createServer>;
  let liveUrl: string;
  let deadUrl: string;

  const endpointsOf = (dataDir: string, url: string, pid = process.pid): LocalCloudEndpoints => ({
    pid,
    startedAt: new Date().toISOString(),
    dataDir,
    region: 'us-east-1',
    cs1: { url, accountId: '000000000001', dynamodbEndpoint: 'http://127.0.0.1:1', s3Endpoint: 'http://127.0.0.1:1', table: 't', bucket: 'b' },
    cs2: { url: 'http://127.0.0.1:1', accountId: '000000000002' },
  });

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'cli-endpoint-'));
    registry = join(scratch, 'registry');
    live = createServer((_request, response) => response.writeHead(404).end('{}'));
    await new Promise<void>((done) => live.listen(0, '127.0.0.1', done));
    liveUrl = `http://127.0.0.1:${(live.address() as AddressInfo).port}`;
    // A port nothing listens on any more: what a stopped demo leaves in a home.
    const gone = createServer();
    await new Promise<void>((done) => gone.listen(0, '127.0.0.1', done));
    deadUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
    await new Promise<void>((done) => gone.close(() => done()));
  });
  afterAll(async () => {
    await new Promise<void>((done) => live.close(() => done()));
    await rm(scratch, { recursive: true, force: true });
  });

  it('prefers --endpoint, then BLINDSIGHT_ENDPOINT, then BLINDSIGHT_DATA_DIR, then the saved one', async () => {
    const env = { BLINDSIGHT_LOCAL_CLOUD_REGISTRY: registry };
    const saved = { url: 'http://10.0.0.1:80/', origin: 'owner.json' };
    await expect(resolveEndpoint({ env, saved })).resolves.toMatchObject({ url: 'http://10.0.0.1', origin: 'owner.json' });
    await expect(resolveEndpoint({ env: { ...env, BLINDSIGHT_ENDPOINT: 'https://api.example.com/prod' }, saved })).resolves.toMatchObject({
      url: 'https://api.example.com/prod',
      origin: 'BLINDSIGHT_ENDPOINT',
    });
    await expect(resolveEndpoint({ env, flag: 'http://flag:1', saved })).resolves.toMatchObject({ url: 'http://flag:1', origin: '--endpoint' });
    await expect(resolveEndpoint({ env, flag: 'ftp://x' })).rejects.toThrow('--endpoint must be an http:// or https:// URL');
    const dataDir = join(scratch, 'named');
    await expect(resolveEndpoint({ env: { ...env, BLINDSIGHT_DATA_DIR: dataDir }, saved })).rejects.toThrow(`no local cloud is running on ${dataDir} (BLINDSIGHT_DATA_DIR)`);
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify(endpointsOf(dataDir, liveUrl)));
    const chosen = await resolveEndpoint({ env: { ...env, BLINDSIGHT_DATA_DIR: dataDir }, saved });
    expect(chosen).toMatchObject({ url: liveUrl });
    // CS2's key folder is known only for a running local cloud.
    await expect(localCs2KeyDir(chosen, env)).resolves.toBe(join(dataDir, 'cs2', 'keys'));
    await expect(localCs2KeyDir({ url: 'https://api.example.com', origin: '--endpoint' }, env)).resolves.toBeUndefined();
  });

  it('finds a running local cloud on any data folder through the registry, and ignores dead ones', async () => {
    const env = { BLINDSIGHT_LOCAL_CLOUD_REGISTRY: registry };
    const dataDir = join(scratch, 'elsewhere');
    const unregister = await registerLocalCloud(registry, endpointsOf(dataDir, liveUrl));
    // A cloud whose process is gone (a crash): its entry is ignored and removed.
    await registerLocalCloud(registry, endpointsOf(join(scratch, 'crashed'), deadUrl, 2 ** 22 + 12345));
    const clouds = await runningLocalClouds(env);
    expect(clouds.map((c) => c.dataDir).filter((d) => d.startsWith(scratch))).toEqual([dataDir]);
    const chosen = await resolveEndpoint({ env });
    expect(chosen).toMatchObject({ url: liveUrl, origin: 'the running local cloud' });
    await expect(localCs2KeyDir(chosen, env)).resolves.toBe(join(dataDir, 'cs2', 'keys'));

    // A saved local endpoint that no longer answers gives way to the running cloud, with a warning.
    const events: WorkflowEvent[] = [];
    const replaced = await resolveEndpoint({ env, saved: { url: deadUrl, origin: '/home/x/owner/owner.json' }, listener: (e) => events.push(e) });
    expect(replaced.url).toBe(liveUrl);
    expect(events).toEqual([
      { type: 'warning', message: expect.stringContaining(`the endpoint ${deadUrl} saved in /home/x/owner/owner.json does not answer`) },
    ]);
    // A saved endpoint that answers is kept.
    await expect(resolveEndpoint({ env, saved: { url: liveUrl, origin: 'grant' } })).resolves.toMatchObject({ url: liveUrl, origin: 'grant' });

    await unregister();
    // Nothing running: the error says where the dead address came from and what to do.
    await expect(resolveEndpoint({ env, saved: { url: deadUrl, origin: 'your grant (/h/user/grant.json)' } })).rejects.toThrow(
      `cannot reach ${deadUrl}, the endpoint saved in your grant (/h/user/grant.json): the local cloud that ran there has stopped, and no other is running`,
    );
  });
});

describe('folders of images', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-folders-'));
    for (const file of ['a/1.png', 'a/2.jpg', 'b/3.webp', 'top.txt']) {
      await mkdir(join(dir, 'photos', file, '..'), { recursive: true });
      await writeFile(join(dir, 'photos', file), 'x');
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hints at --recursive when the images are in sub-folders', async () => {
    const folder = join(dir, 'photos');
    expect((await listImageFolder(folder)).entries.map((e) => e.name)).toEqual(['top.txt']);
    expect((await listImageFolder(folder, { recursive: true })).entries.map((e) => e.name)).toEqual(['a/1.png', 'a/2.jpg', 'b/3.webp', 'top.txt']);
    await expect(emptyFolderHint(folder, false)).resolves.toBe('its 2 sub-folders hold 3 images: add --recursive');
    await expect(emptyFolderHint(folder, true)).resolves.toBeUndefined();
    await expect(listImageFolder(join(folder, 'top.txt'))).rejects.toThrow('is not a folder');
  });

  it('collects query files and folders as typed, and names result folders uniquely', async () => {
    const collected = await collectImages(['photos/a', 'photos/top.txt'], (p) => join(dir, p));
    expect(collected.entries.map((e) => e.name)).toEqual(['photos/a/1.png', 'photos/a/2.jpg', 'photos/top.txt']);
    expect(collected.folders).toBe(1);
    await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'nested', 'deeper', 'x.png'), 'x');
    await expect(collectImages(['nested'], (p) => join(dir, p))).rejects.toThrow(/holds no files; its sub-folder holds 1 image: add --recursive/);
    await expect(collectImages(['nope.png'], (p) => join(dir, p))).rejects.toThrow(`cannot read query image ${join(dir, 'nope.png')}: no such file or folder`);
    const taken = new Set<string>();
    expect(['x/cat.png', 'y/cat.png', 'dog .jpg'].map((name) => uniqueStem(name, taken))).toEqual(['cat', 'cat-2', 'dog_']);
  });
});

describe('progress off a terminal', () => {
  it('prints a line per interval and one at the end of a long step, nothing for a short one', () => {
    const stream = captureStream(false);
    let now = 0;
    const report = streamReporter(stream, { progressBars: true, lineIntervalMs: 5000, clock: () => now });
    report({ type: 'progress', step: 'features', done: 0, total: 100 });
    now = 1000;
    report({ type: 'progress', step: 'features', done: 10, total: 100 });
    now = 5200;
    report({ type: 'progress', step: 'features', done: 40, total: 100, detail: '2 skipped' });
    now = 6000;
    report({ type: 'progress', step: 'features', done: 50, total: 100 });
    now = 9000;
    report({ type: 'progress', step: 'features', done: 100, total: 100 });
    report({ type: 'step-end', step: 'features' });
    report({ type: 'progress', step: 'quick', done: 1, total: 1 });
    report({ type: 'step-end', step: 'quick' });
    report({ type: 'warning', message: 'careful' });
    expect(stream.text()).toBe(['features: 40/100 (40%), 2 skipped', 'features: 100/100 (100%), done in 9.0 s', 'warning: careful', ''].join('\n'));
  });
});

describe('the folder the user ran the command in', () => {
  it('is INIT_CWD when npm runs the CLI from the package root, the process folder otherwise', () => {
    expect(commandCwd({ INIT_CWD: '/home/ann/photos' }, REPO_ROOT)).toBe('/home/ann/photos');
    expect(commandCwd({ INIT_CWD: '/home/ann/photos' }, '/tmp/elsewhere')).toBe('/tmp/elsewhere');
    expect(commandCwd({}, REPO_ROOT)).toBe(REPO_ROOT);
  });
});

describe('hints for swapped GenKey files', () => {
  it('names a grant given as a key request, and a key request given as a grant', () => {
    expect(() => hintForWrongFile({ format: 'blindsight-grant' }, 'key request', 'alice.grant.json')).toThrow(/alice\.grant\.json is a grant .*not a key request/);
    expect(() => hintForWrongFile({ format: 'blindsight-key-request' }, 'grant', 'key-request.json')).toThrow(
      /key-request\.json is your key request, not a grant: send it to the owner/,
    );
    expect(() => hintForWrongFile({ format: 'blindsight-grant' }, 'grant', 'g.json')).not.toThrow();
  });
});

describe('error lines', () => {
  it('maps usage errors to 2, others to 1, with one line and no stack', () => {
    expect(describeError(new UsageError('give --k or --tau-squared'))).toEqual({ code: 'USAGE', message: 'give --k or --tau-squared', exitCode: EXIT_USAGE });
    expect(describeError(new NotFoundError('no owner\nsecond line'))).toEqual({ code: 'NOT_FOUND', message: 'no owner', exitCode: EXIT_FAILURE });
    const errno = Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES', path: '/x' });
    expect(describeError(errno)).toEqual({ code: 'INVALID_INPUT', message: 'file system error /x: permission denied', exitCode: EXIT_FAILURE });
    expect(fileError('read', '/y', Object.assign(new Error('boom'), { code: 'ENOENT' })).message).toBe('cannot read /y: no such file or folder');
    expect(describeError(new TypeError('x is not a function')).message).toBe('x is not a function');
  });

  it('formats tables with numbers right-aligned', () => {
    expect(formatTable(['rank', 'id'], [[1, 'abc'], [10, 'd']])).toBe(['rank  id', '----  ---', '   1  abc', '  10  d'].join('\n'));
  });
});

describe('demo gallery subsets', () => {
  it('balances the classes and is deterministic', () => {
    const images = ['a', 'b', 'c'].flatMap((label) => Array.from({ length: 5 }, (_, i) => ({ file: `${String(i).padStart(4, '0')}-${label}.png`, label })));
    const subset = balancedSubset(images, 7);
    expect(subset).toHaveLength(7);
    const counts = new Map<string, number>();
    for (const image of subset) counts.set(image.label, (counts.get(image.label) ?? 0) + 1);
    expect([...counts.values()].sort()).toEqual([2, 2, 3]);
    expect(balancedSubset(images, 7)).toEqual(subset);
    expect(balancedSubset(images, 100)).toHaveLength(15);
  });
});
