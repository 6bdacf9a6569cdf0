/**
 * Branded ids for tests (lib/core/ids.ts). Each helper runs the real parser, so a test that
 * names an invalid id fails at once instead of reaching a layer that no longer checks.
 */
import { parseImageId, parseIndexName, parseOwnerId, parseUserId, parseVersionId } from '../../lib/core/ids';
import type { ImageId, IndexName, OwnerId, UserId, VersionId } from '../../lib/core/ids';

export const toOwnerId = (value: string): OwnerId => parseOwnerId(value);
export const toUserId = (value: string): UserId => parseUserId(value);
export const toIndexName = (value: string): IndexName => parseIndexName(value);
export const toVersionId = (value: string): VersionId => parseVersionId(value);
export const toImageId = (value: string): ImageId => parseImageId(value);
