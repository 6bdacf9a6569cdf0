import { mkdtemp, rm, stat, chmod, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, UnavailableError } from '../../../lib/core/errors';
import { newSecretsManagerClient } from '../../../lib/storage/secrets-manager-client';
import { FileSecretStore } from '../../../lib/storage/file-secret-store';
import { SecretsManagerStore } from '../../../lib/storage/secrets-manager-store';
import { startFakeSecretsManager } from './fake-secrets-manager';
import type { FakeSecretsManager } from './fake-secrets-manager';

const SECRET = Uint8Array.from({ length: 600 }, (_, i) => (i * 37 + 11) & 0xff);

describe('FileSecretStore', () => {
  let directory: string;
  let store: FileSecretStore;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'blindsight-secrets-'));
    store = new FileSecretStore(join(directory, 'keys'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('stores a secret in a 0600 file inside a 0700 directory and reads it back', async () => {
    await store.put('cs2-key-1', SECRET);
    expect((await stat(store.pathOf('cs2-key-1'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(directory, 'keys'))).mode & 0o777).toBe(0o700);
    expect(await store.get('cs2-key-1')).toEqual(SECRET);
    // No temporary files are left behind.
    expect(await readdir(join(directory, 'keys'))).toEqual(['cs2-key-1.secret']);
  });

  it('replaces a secret atomically', async () => {
    await store.put('rotating', SECRET);
    const next = SECRET.map((b) => b ^ 0xff);
    await store.put('rotating', next);
    expect(await store.get('rotating')).toEqual(next);
    expect((await stat(store.pathOf('rotating'))).mode & 0o777).toBe(0o600);
  });

  it('answers NotFoundError for an unknown key id', async () => {
    await expect(store.get('never-stored')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a secret file that other users can read', async () => {
    await store.put('exposed', SECRET);
    await chmod(store.pathOf('exposed'), 0o644);
    await expect(store.get('exposed')).rejects.toThrow(/chmod 600/);
  });

  it('validates key ids so no path can leave the directory', async () => {
    for (const keyId of ['../escape', 'a/b', '.hidden', '', 'x'.repeat(200)]) {
      await expect(store.put(keyId, SECRET), keyId).rejects.toBeInstanceOf(InvalidInputError);
      await expect(store.get(keyId), keyId).rejects.toBeInstanceOf(InvalidInputError);
    }
    await expect(store.put('empty', new Uint8Array(0))).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('SecretsManagerStore through the real SDK client and Powertools', () => {
  let fake: FakeSecretsManager;
  const client = () => newSecretsManagerClient({ region: 'us-east-1', endpoint: fake.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

  beforeAll(async () => {
    fake = await startFakeSecretsManager();
  });
  afterAll(() => fake.stop());

  it('creates a binary secret under the prefix with the KMS key, then replaces it', async () => {
    const store = new SecretsManagerStore({ client: client(), prefix: 'test/cs2/', kmsKeyId: 'alias/blindsight-cs2', maxAgeSeconds: 0 });
    await store.put('key-1', SECRET);
    const stored = fake.secrets.get('test/cs2/key-1');
    expect(stored?.kmsKeyId).toBe('alias/blindsight-cs2');
    expect(Buffer.from(stored!.binary!, 'base64')).toEqual(Buffer.from(SECRET));
    expect(await store.get('key-1')).toEqual(SECRET);

    const next = SECRET.map((b) => b ^ 1);
    await store.put('key-1', next);
    expect(fake.secrets.get('test/cs2/key-1')?.versions).toBe(2);
    expect(await store.get('key-1')).toEqual(next);
  });

  it('splits material larger than a secret can hold (a SEAL key is ~262 KB) into parts under the same name', async () => {
    const store = new SecretsManagerStore({ client: client(), prefix: 'big/', maxAgeSeconds: 0 });
    const material = Uint8Array.from({ length: 262_294 }, (_, i) => (i * 131 + (i >> 7)) & 0xff);
    await store.put('seal-key', material);
    const names = [...fake.secrets.keys()].filter((name) => name.startsWith('big/seal-key')).sort();
    expect(names).toEqual(['big/seal-key', ...Array.from({ length: 5 }, (_, i) => `big/seal-key/part-${i}`)].sort());
    for (const name of names) expect(Buffer.from(fake.secrets.get(name)!.binary!, 'base64').length).toBeLessThanOrEqual(65_536);
    expect(Buffer.from(await store.get('seal-key'))).toEqual(Buffer.from(material));

    // A part changed behind the manifest's back (a torn import) is detected, never returned.
    const part = fake.secrets.get('big/seal-key/part-2')!;
    const flipped = Buffer.from(part.binary!, 'base64');
    flipped[0] ^= 1;
    part.binary = flipped.toString('base64');
    await expect(store.get('seal-key')).rejects.toThrow(/do not match the manifest/);
  });

  it('caches reads for maxAgeSeconds', async () => {
    const store = new SecretsManagerStore({ client: client(), prefix: 'cache/', maxAgeSeconds: 300 });
    await store.put('k', SECRET);
    const before = fake.reads();
    for (let i = 0; i < 5; i++) expect(await store.get('k')).toEqual(SECRET);
    expect(fake.reads() - before).toBe(1);
  });

  it('accepts a base64 SecretString stored by hand', async () => {
    fake.secrets.set('blindsight/cs2/by-hand', { string: Buffer.from(SECRET).toString('base64'), versions: 1 });
    const store = new SecretsManagerStore({ client: client() });
    expect(store.secretName('by-hand')).toBe('blindsight/cs2/by-hand');
    expect(await store.get('by-hand')).toEqual(SECRET);
  });

  it('maps a missing secret to NotFoundError and an unreachable service to UnavailableError', async () => {
    const store = new SecretsManagerStore({ client: client() });
    await expect(store.get('missing')).rejects.toBeInstanceOf(NotFoundError);
    const down = new SecretsManagerStore({
      client: newSecretsManagerClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    });
    const failure = await down.get('any').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnavailableError);
  });

  it('validates key ids and the prefix', async () => {
    const store = new SecretsManagerStore({ client: client() });
    await expect(store.get('../x')).rejects.toBeInstanceOf(InvalidInputError);
    expect(() => new SecretsManagerStore({ client: client(), prefix: 'bad prefix' })).toThrow(InvalidInputError);
  });
});
