/**
 * CS2's decrypt function as Lambda invokes it (direct invocation: the event is the decrypt
 * request, failures are thrown): results, typed and sanitized errors, warm key reuse, and logs
 * that carry counts only.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadHeDecryptor, loadHeEvaluator, SHE_WARNING } from '../../../lib/he';
import { cs2DecryptService, resetCs2DecryptService } from '../../../lib/service/cs2/services';
import { decodeValues } from '../../../lib/twoserver/transport/decrypt-event';
import { lambdaContext } from '../../support/http-events';
import { serviceLogger } from '../../../functions/lib/logger';
import { buildFixture, cs2KeyDir, SHE_SMALL } from '../service/two-server/support';
import type { DirectHandler, TwoServerFixture } from '../service/two-server/support';

describe('CS2 decrypt handler', () => {
  let handler: DirectHandler;
  let fixture: TwoServerFixture;
  let keys: { dir: string; remove(): Promise<void> };
  let batch: string;
  let expected: bigint[];
  const savedEnv = { ...process.env };

  async function invoke(event: unknown): Promise<{ result?: unknown; error?: Error }> {
    try {
      return { result: await handler(event, lambdaContext('blindsight-cs2-decrypt')) };
    } catch (error) {
      return { error: error as Error };
    }
  }

  beforeAll(async () => {
    fixture = await buildFixture({ backend: 'she', params: SHE_SMALL, n: 50, partitions: 3, eps: 2, seed: 61 });
    keys = await cs2KeyDir(fixture);
    Object.assign(process.env, { BLINDSIGHT_LOG_LEVEL: 'SILENT', BLINDSIGHT_CS2_KEY_DIR: keys.dir });
    delete process.env.BLINDSIGHT_SECRET_DIR;
    resetCs2DecryptService();
    handler = (await import('../../../functions/cs2/decrypt')).handler as unknown as DirectHandler;
    const evaluator = await loadHeEvaluator(fixture.output.evaluationMaterial);
    const query = evaluator.openQuery(fixture.client.encryptRequest(Array.from(fixture.templates.data.slice(0, fixture.templates.d))));
    const out = evaluator.distanceBatch(query, { records: [fixture.output.shards[0]], slots: [0, 1, 2, 3], blinding: { a: 7n, b: 99n } });
    query.dispose();
    evaluator.dispose();
    batch = Buffer.from(out.bytes).toString('base64');
    const decryptor = await loadHeDecryptor(fixture.output.secretMaterial);
    expected = decryptor.decryptBatch(out.bytes);
    decryptor.dispose();
  });

  afterAll(async () => {
    process.env = savedEnv;
    resetCs2DecryptService();
    fixture?.client.dispose();
    await keys?.remove();
  });

  it('returns the blinded values as decimal strings, and keeps the key loaded across invocations', async () => {
    const first = await invoke({ keyId: fixture.keyId, batch });
    expect(first.error).toBeUndefined();
    expect(first.result).toEqual({ values: expected.map(String) });
    expect(decodeValues(first.result)).toEqual(expected);
    await invoke({ keyId: fixture.keyId, batch });
    expect(cs2DecryptService().decryptors.loads).toBe(1);
  });

  it('throws typed errors with safe messages and no stack frames', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ keyId: 'nope', batch }, 'InvalidInputError', /^keyId must be 16 lowercase hex characters/],
      [{ keyId: fixture.keyId, batch: '***' }, 'InvalidInputError', /^batch must be standard base64/],
      [{ keyId: fixture.keyId, batchUrl: 'https://evil.example.com/x', batchSha256: 'a'.repeat(64) }, 'InvalidInputError', /is not one CS2 fetches from/],
      [{ keyId: '0123456789abcdef', batch }, 'NotFoundError', /^no secret with key id "0123456789abcdef": import it into CS2's key store first$/],
      [{ keyId: fixture.keyId, batch: Buffer.from('garbage!').toString('base64') }, 'MalformedDataError', /./],
    ];
    for (const [event, name, message] of cases) {
      const { error } = await invoke(event);
      expect(error?.name, JSON.stringify(event)).toBe(name);
      expect(error?.message).toMatch(message);
      expect(error?.stack).toBe(`${error?.name}: ${error?.message}`);
      expect(error?.message).not.toContain(batch.slice(0, 32));
    }
  });

  it('turns unexpected failures into a generic INTERNAL error, details only in its own log', async () => {
    const notADirectory = join(keys.dir, 'plain-file');
    await writeFile(notADirectory, 'x');
    process.env.BLINDSIGHT_CS2_KEY_DIR = notADirectory;
    resetCs2DecryptService();
    const logger = serviceLogger('blindsight-cs2-decrypt');
    const logged: string[] = [];
    const spy = vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => {
      logged.push(JSON.stringify(args));
    });
    try {
      const { error } = await invoke({ keyId: fixture.keyId, batch });
      expect(error?.name).toBe('BlindsightError');
      expect((error as Error & { code?: string }).code).toBe('INTERNAL');
      expect(error?.message).toBe('CS2 could not decrypt the batch because of an internal error; see the CS2 log');
      expect(error?.stack).not.toMatch(/\n\s+at /);
      expect(logged.join('')).toContain('ENOTDIR');
    } finally {
      spy.mockRestore();
      process.env.BLINDSIGHT_CS2_KEY_DIR = keys.dir;
      resetCs2DecryptService();
    }
    expect((await invoke({ keyId: fixture.keyId, batch })).result).toEqual({ values: expected.map(String) });
  });

  it('logs key id, counts and timings, never the batch or the values', async () => {
    const logger = serviceLogger('blindsight-cs2-decrypt');
    const entries: string[] = [];
    const spies = (['debug', 'info', 'warn', 'error'] as const).map((level) =>
      vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
        entries.push(JSON.stringify(args));
      }),
    );
    try {
      await invoke({ keyId: fixture.keyId, batch });
      await invoke({ keyId: 'bad', batch });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    // The fixture's key is a she key: every use of it is logged as insecure.
    expect(entries).toHaveLength(3);
    const [done, insecure, refused] = entries.map((e) => JSON.parse(e) as [string, Record<string, unknown>]);
    expect(done).toEqual(['batch decrypted', expect.objectContaining({ keyId: fixture.keyId, backend: 'she', count: expected.length, transfer: 'inline', warmKey: true })]);
    expect(insecure).toEqual(['decrypted with an insecure key', { keyId: fixture.keyId, warning: SHE_WARNING }]);
    expect(refused).toEqual(['decrypt refused', { keyId: undefined, code: 'INVALID_INPUT', errorType: 'InvalidInputError' }]);
    const all = entries.join('');
    expect(all).not.toContain(batch.slice(0, 32));
    for (const value of expected) expect(all).not.toContain(value.toString());
  });
});
