/**
 * Server-generated index version names: UTC time to the millisecond, then 48 random bits, e.g.
 * `20250314T092653127Z-5f1c0a93be2d`. Fixed width, so names sort by creation time (the
 * catalog lists versions by name); the random tail keeps two versions created in the same
 * millisecond apart.
 */
import { randomBytes } from 'node:crypto';

export function newVersionName(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(6).toString('hex')}`;
}
