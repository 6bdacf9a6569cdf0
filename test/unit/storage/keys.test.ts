import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { chunkKey, currentPointerKey, ownerKey, userKey, versionKey } from '../../../lib/storage/dynamo-keys';
import { parseBlobName, parseImageId, parseIndexName, parseKeyId, parseOwnerId, parseUserId, parseVersionId } from '../../../lib/core/ids';
import { assertObjectKey, imageObjectKey, indexPartObjectKey } from '../../../lib/storage/object-keys';
import { isOwnedKey } from '../../support/storage';
import { toImageId, toIndexName, toOwnerId, toUserId, toVersionId } from '../../support/ids';

const ALICE = toOwnerId('a'.repeat(52));
const BOB = toOwnerId('b'.repeat(52));
const HOSTILE = ['', '..', '../x', 'a/b', '/a', 'a#b', '.hidden', 'a..b', 'a b', 'a\u0000', 'é', 'x'.repeat(200), '%2e%2e'];

describe('storage identifiers and keys', () => {
  it('accepts ordinary names', () => {
    expect(() => parseIndexName('faces-2024.v1')).not.toThrow();
    expect(() => parseVersionId('v1')).not.toThrow();
    expect(() => parseImageId('IMG_0001.jpg')).not.toThrow();
    expect(() => parseUserId('alice@example.com')).not.toThrow();
    expect(() => parseKeyId('cs2-key-1')).not.toThrow();
  });

  // The key builders take branded ids, so these parsers are what keeps a hostile name out of every
  // key; the names they do not brand (parts) the builders still check.
  it.each(HOSTILE)('rejects %j as every kind of name', (name) => {
    for (const check of [parseIndexName, parseVersionId, parseImageId, parseUserId, parseKeyId, parseBlobName]) {
      expect(() => check(name)).toThrow(InvalidInputError);
    }
    expect(() => indexPartObjectKey(ALICE, toIndexName('faces'), toVersionId('v1'), name)).toThrow(InvalidInputError);
  });

  it('rejects owner ids that are not key fingerprints', () => {
    for (const ownerId of ['alice', 'A'.repeat(52), 'a'.repeat(51), 'a'.repeat(53), `${'a'.repeat(51)}1`, `${'a'.repeat(51)}/`]) {
      expect(() => parseOwnerId(ownerId)).toThrow(InvalidInputError);
    }
  });

  it('keeps every key of an owner inside its own prefix', () => {
    const keys = [
      imageObjectKey(ALICE, toImageId('img')),
      indexPartObjectKey(ALICE, toIndexName('faces'), toVersionId('v1'), 'leaves'),
    ];
    for (const key of keys) {
      expect(key.startsWith(`owners/${ALICE}/`)).toBe(true);
      expect(isOwnedKey(ALICE, key)).toBe(true);
      expect(isOwnedKey(BOB, key)).toBe(false);
      expect(() => assertObjectKey(key)).not.toThrow();
    }
    // A key that names Bob's prefix after a traversal is neither Alice's nor valid.
    expect(isOwnedKey(ALICE, `owners/${ALICE}/../${BOB}/images/x`)).toBe(false);
    expect(imageObjectKey(ALICE, toImageId('x'))).not.toBe(imageObjectKey(BOB, toImageId('x')));
  });

  it('builds DynamoDB keys whose prefixes cannot collide', () => {
    expect(ownerKey(ALICE)).toEqual({ pk: `OWNER#${ALICE}`, sk: 'PROFILE' });
    expect(userKey(ALICE, toUserId('u1')).pk).not.toBe(userKey(BOB, toUserId('u1')).pk);
    expect(currentPointerKey(ALICE, toIndexName('faces'))).toEqual({ pk: `INDEX#${ALICE}#faces`, sk: 'CURRENT' });
    expect(versionKey(ALICE, toIndexName('faces'), toVersionId('v1')).sk).toBe('VERSION#v1');
    expect(chunkKey(ALICE, toIndexName('faces'), toVersionId('v1'), 'skeleton', 3).sk).toBe('CHUNK#v1#skeleton#000003');
    expect(() => chunkKey(ALICE, toIndexName('faces'), toVersionId('v1'), 'skeleton', -1)).toThrow(RangeError);
  });
});
