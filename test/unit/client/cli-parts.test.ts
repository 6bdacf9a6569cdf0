/**
 * The CLI's building blocks without a cloud: the GenKey file formats and their decoders, the
 * private-file helpers, endpoint resolution, the projection (PCA + zero padding keeps
 * distances), image ids, error lines and the demo gallery's balanced subsets.
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MalformedDataError, NotFoundError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { imageKeyFromRaw } from '../../../lib/crypto/image-envelope';
import { squaredDistanceAt } from '../../../lib/linalg/vectors';
import type { VectorSet } from '../../../lib/linalg/vectors';
import { fitPca, transformPca } from '../../../lib/ml/pca';
import { encodeUserSecret } from '../../../lib/sei/key-formats';
import { generateUserSecret } from '../../../lib/sei/user-key';
import { localCs2KeyDir, resolveEndpoint } from '../../../scripts/cli/endpoint';
import { describeError, EXIT_FAILURE, EXIT_USAGE, fileError, UsageError } from '../../../scripts/cli/errors';
import { projectFeatures, quantizeEmbeddings, unitRows } from '../../../scripts/cli/features';
import { decodeGrant, decodeKeyRequest, float64Bytes, float64FromBytes, toBase64 } from '../../../scripts/cli/formats';
import { formatTable } from '../../../scripts/cli/io';
import { imageIdOf } from '../../../scripts/cli/owner/home';
import { parseJson, readPrivateFile, writePrivateFile } from '../../../scripts/cli/secure-files';
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
      ownerId: 'o',
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
  it('are stable, opaque, valid storage names and keyed', () => {
    const key = imageKeyFromRaw(new Uint8Array(32).fill(7), '0123456789abcdef');
    const other = imageKeyFromRaw(new Uint8Array(32).fill(8), '0123456789abcdef');
    const id = imageIdOf(key, '0001-pullover.png');
    expect(id).toMatch(/^[a-z2-7]{18}$/);
    expect(imageIdOf(key, '0001-pullover.png')).toBe(id);
    expect(imageIdOf(key, '0002-trouser.png')).not.toBe(id);
    expect(imageIdOf(other, '0001-pullover.png')).not.toBe(id);
    expect(id).not.toContain('pullover');
  });
});

describe('endpoints', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'cli-endpoint-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prefers --endpoint, then the environment, then the saved one, then the running local cloud', async () => {
    const env = { BLINDSIGHT_DATA_DIR: dataDir };
    await expect(resolveEndpoint({ env })).rejects.toThrow('no CS1 endpoint: start the local cloud (npm start), or pass --endpoint <url> (or set BLINDSIGHT_ENDPOINT)');
    await writeFile(join(dataDir, 'endpoints.json'), JSON.stringify({ dataDir, cs1: { url: 'http://127.0.0.1:4510' } }));
    await expect(resolveEndpoint({ env })).resolves.toBe('http://127.0.0.1:4510');
    await expect(resolveEndpoint({ env, stored: 'http://10.0.0.1:80/' })).resolves.toBe('http://10.0.0.1');
    await expect(resolveEndpoint({ env: { ...env, BLINDSIGHT_ENDPOINT: 'https://api.example.com/prod' }, stored: 'http://x' })).resolves.toBe('https://api.example.com/prod');
    await expect(resolveEndpoint({ env, flag: 'http://flag:1', stored: 'http://x' })).resolves.toBe('http://flag:1');
    await expect(resolveEndpoint({ env, flag: 'ftp://x' })).rejects.toThrow('--endpoint must be an http:// or https:// URL');
    // CS2's key folder is known only for the running local cloud's own CS1.
    await expect(localCs2KeyDir('http://127.0.0.1:4510', env)).resolves.toBe(join(dataDir, 'cs2', 'keys'));
    await expect(localCs2KeyDir('https://api.example.com', env)).resolves.toBeUndefined();
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
