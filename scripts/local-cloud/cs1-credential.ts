/**
 * The credential that stands in for IAM between the local accounts: in AWS, CS2's decrypt
 * function accepts only CS1's role (resource policy); locally, CS2 accepts only requests that
 * carry a random secret that only the local CS1 holds.
 *
 * The secret is generated at the first start and kept in CS1's folder. CS2's folder holds only
 * its SHA-256 digest, so CS2's data never contains the credential itself; CS2 compares digests
 * with timingSafeEqual.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const CREDENTIAL_BYTES = 32;
const CREDENTIAL_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/** Reads the credential file, creating it (owner read/write only) at the first start. */
export async function loadOrCreateCredential(file: string): Promise<string> {
  try {
    const stored = (await readFile(file, 'utf8')).trim();
    if (!CREDENTIAL_PATTERN.test(stored)) {
      throw new Error(`${file} does not hold a local CS1 credential: delete it to have a new one generated`);
    }
    return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(file), { recursive: true });
  const credential = randomBytes(CREDENTIAL_BYTES).toString('base64url');
  await writeFile(file, `${credential}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return credential;
}

export function credentialDigest(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}

/** Stores the digest of the trusted caller's credential in CS2's folder. */
export async function writeTrustedDigest(file: string, digest: string): Promise<void> {
  if (!DIGEST_PATTERN.test(digest)) throw new Error('trusted caller digest must be 64 hex digits');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${digest}\n`, { mode: 0o600 });
}

export async function readTrustedDigest(file: string): Promise<Buffer> {
  const text = (await readFile(file, 'utf8')).trim();
  if (!DIGEST_PATTERN.test(text)) throw new Error(`${file} does not hold a SHA-256 digest; restart the local cloud to rewrite it`);
  return Buffer.from(text, 'hex');
}

/** `Authorization: Bearer <credential>` -> whether the credential's digest is the trusted one. */
export function presentsTrustedCredential(authorization: string | undefined, trustedDigest: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  // Hash even a missing credential, so the time taken does not tell the two cases apart.
  const presented = createHash('sha256').update(match?.[1] ?? '', 'utf8').digest();
  return timingSafeEqual(presented, trustedDigest) && match !== null;
}
