import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import { chunkKey, currentPointerKey, ownerKey, userKey, versionKey } from '../../../lib/storage/dynamo-keys';
import {
  assertImageId,
  assertIndexName,
  assertKeyId,
  assertUserId,
  assertVersionName,
} from '../../../lib/storage/identifiers';
import {
  assertObjectKey,
  imageObjectKey,
  indexPartObjectKey,
  isOwnedKey,
  ownerPrefix,
  uploadObjectKey,
} from '../../../lib/storage/object-keys';

const ALICE = 'a'.repeat(52);
const BOB = 'b'.repeat(52);
const HOSTILE = ['', '..', '../x', 'a/b', '/a', 'a#b', '.hidden', 'a..b', 'a b', 'a\u0000', 'é', 'x'.repeat(200), '%2e%2e'];

describe('storage identifiers and keys', () => {
  it('accepts ordinary names', () => {
    expect(() => assertIndexName('faces-2024.v1')).not.toThrow();
    expect(() => assertVersionName('v1')).not.toThrow();
    expect(() => assertImageId('IMG_0001.jpg')).not.toThrow();
    expect(() => assertUserId('alice@example.com')).not.toThrow();
    expect(() => assertKeyId('cs2-key-1')).not.toThrow();
  });

  it.each(HOSTILE)('rejects %j as every kind of name', (name) => {
    for (const check of [assertIndexName, assertVersionName, assertImageId, assertUserId, assertKeyId]) {
      expect(() => check(name)).toThrow(InvalidInputError);
    }
    expect(() => imageObjectKey(ALICE, name)).toThrow(InvalidInputError);
    expect(() => indexPartObjectKey(ALICE, name, 'v1', 'leaves')).toThrow(InvalidInputError);
    expect(() => userKey(ALICE, name)).toThrow(InvalidInputError);
  });

  it('rejects owner ids that are not key fingerprints', () => {
    for (const ownerId of ['alice', 'A'.repeat(52), 'a'.repeat(51), 'a'.repeat(53), `${'a'.repeat(51)}1`, `${'a'.repeat(51)}/`]) {
      expect(() => ownerPrefix(ownerId)).toThrow(InvalidInputError);
      expect(() => ownerKey(ownerId)).toThrow(InvalidInputError);
    }
  });

  it('keeps every key of an owner inside its own prefix', () => {
    const keys = [
      imageObjectKey(ALICE, 'img'),
      indexPartObjectKey(ALICE, 'faces', 'v1', 'leaves'),
      uploadObjectKey(ALICE, 'up1'),
    ];
    for (const key of keys) {
      expect(key.startsWith(`owners/${ALICE}/`)).toBe(true);
      expect(isOwnedKey(ALICE, key)).toBe(true);
      expect(isOwnedKey(BOB, key)).toBe(false);
      expect(() => assertObjectKey(key)).not.toThrow();
    }
    // A key that names Bob's prefix after a traversal is neither Alice's nor valid.
    expect(isOwnedKey(ALICE, `owners/${ALICE}/../${BOB}/images/x`)).toBe(false);
    expect(imageObjectKey(ALICE, 'x')).not.toBe(imageObjectKey(BOB, 'x'));
  });

  it('builds DynamoDB keys whose prefixes cannot collide', () => {
    expect(ownerKey(ALICE)).toEqual({ pk: `OWNER#${ALICE}`, sk: 'PROFILE' });
    expect(userKey(ALICE, 'u1').pk).not.toBe(userKey(BOB, 'u1').pk);
    expect(currentPointerKey(ALICE, 'faces')).toEqual({ pk: `INDEX#${ALICE}#faces`, sk: 'CURRENT' });
    expect(versionKey(ALICE, 'faces', 'v1').sk).toBe('VERSION#v1');
    expect(chunkKey(ALICE, 'faces', 'v1', 'skeleton', 3).sk).toBe('CHUNK#v1#skeleton#000003');
    expect(() => chunkKey(ALICE, 'faces', 'v1', 'skeleton', -1)).toThrow(RangeError);
  });
});
