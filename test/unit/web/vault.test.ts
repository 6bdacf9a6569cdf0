/**
 * The page's vault (web/src/vault.ts) on Node's WebCrypto: what it seals opens only with the
 * passphrase, and any change to the stored record (ciphertext, salt, iteration count) fails as a
 * wrong passphrase rather than yielding other data.
 */
import { describe, expect, it } from 'vitest';
import { openValue, sealValue, WrongPassphraseError } from '../../../web/src/vault';

// Fewer PBKDF2 iterations than the page's 600,000 keep the test fast; the code path is the same.
const ITERATIONS = 1000;
const access = { grant: { format: 'blindsight-grant', userId: 'u1' }, secret: Uint8Array.from([1, 2, 3, 250]) };

describe('page vault', () => {
  it('opens what it sealed with the same passphrase', async () => {
    const record = await sealValue(access, 'correct horse battery', ITERATIONS);
    expect(new TextDecoder().decode(record.ciphertext)).not.toContain('blindsight-grant');
    const opened = await openValue(record, 'correct horse battery');
    expect(opened.grant).toEqual(access.grant);
    expect(Array.from(opened.secret)).toEqual([1, 2, 3, 250]);
  });

  it('refuses a wrong passphrase and any changed field', async () => {
    const record = await sealValue(access, 'correct horse battery', ITERATIONS);
    await expect(openValue(record, 'correct horse battery!')).rejects.toBeInstanceOf(WrongPassphraseError);
    const flipped = Uint8Array.from(record.ciphertext);
    flipped[0] ^= 1;
    await expect(openValue({ ...record, ciphertext: flipped }, 'correct horse battery')).rejects.toBeInstanceOf(WrongPassphraseError);
    await expect(openValue({ ...record, iterations: ITERATIONS + 1 }, 'correct horse battery')).rejects.toBeInstanceOf(WrongPassphraseError);
    const salt = Uint8Array.from(record.salt);
    salt[3] ^= 0x80;
    await expect(openValue({ ...record, salt }, 'correct horse battery')).rejects.toBeInstanceOf(WrongPassphraseError);
  });

  it('asks for a passphrase of at least 8 characters, and salts every record', async () => {
    await expect(sealValue(access, 'short', ITERATIONS)).rejects.toThrow(/at least 8 characters/);
    const [a, b] = await Promise.all([sealValue(access, 'same passphrase', ITERATIONS), sealValue(access, 'same passphrase', ITERATIONS)]);
    expect(Buffer.from(a.salt).equals(Buffer.from(b.salt))).toBe(false);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
  });
});
