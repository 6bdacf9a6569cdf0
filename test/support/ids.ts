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

/**
 * A raw string typed as an id WITHOUT parsing it. Only for tests that must send an invalid id
 * past the client's types, to check what the other side (CS1's 4xx, the client's path escaping)
 * does with it.
 */
export const unparsedId = <T extends OwnerId | UserId | IndexName | VersionId | ImageId>(raw: string): T => raw as T;
