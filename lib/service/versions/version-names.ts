/**
 * Server-generated index version names: UTC time to the millisecond, then 48 random bits, e.g.
 * `20250314T092653127Z-5f1c0a93be2d`. Fixed width, so names sort by creation time (the
 * catalog lists versions by name); the random tail keeps two versions created in the same
 * millisecond apart.
 */
import { randomBytes } from 'node:crypto';
import { parseVersionId } from '../../core/ids';
import type { VersionId } from '../../core/ids';

export function newVersionName(now: Date = new Date()): VersionId {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return parseVersionId(`${stamp}-${randomBytes(6).toString('hex')}`);
}
