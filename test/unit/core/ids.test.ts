import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../lib/core/errors';
import {
  isOwnerId,
  parseBlobName,
  parseImageId,
  parseIndexName,
  parseKeyId,
  parseOwnerId,
  parseUserId,
  parseVersionId,
} from '../../../lib/core/ids';
import type { ImageId, IndexName, OwnerId, UserId, VersionId } from '../../../lib/core/ids';

const OWNER = 'a'.repeat(52);

function messageOf(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error('expected the parser to throw');
}

describe('parseOwnerId', () => {
  it('accepts the 52-character lowercase base32 fingerprint and returns it unchanged', () => {
    expect(parseOwnerId(OWNER)).toBe(OWNER);
    expect(parseOwnerId('abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst')).toHaveLength(52);
    expect(isOwnerId(OWNER)).toBe(true);
  });

  it.each([
    ['too short', 'a'.repeat(51)],
    ['too long', 'a'.repeat(53)],
    ['upper case', 'A'.repeat(52)],
    ['a digit outside base32', `${'a'.repeat(51)}1`],
    ['a slash', `${'a'.repeat(51)}/`],
    ['empty', ''],
    ['not a string', 42],
    ['null', null],
  ])('refuses %s with a 400 that says what an owner id is', (_, value) => {
    expect(isOwnerId(value)).toBe(false);
    expect(messageOf(() => parseOwnerId(value))).toBe(
      "owner id must be the 52-character fingerprint of the owner's public key (lowercase base32 a-z, 2-7), as returned when the owner registered",
    );
  });

  it('names the field it was given', () => {
    expect(messageOf(() => parseOwnerId('x', 'target owner id'))).toMatch(/^target owner id must be/);
  });
});

describe('the name parsers', () => {
  const parsers = [
    ['index name', parseIndexName, 64],
    ['index version', parseVersionId, 64],
    ['image id', parseImageId, 128],
    ['blob name', parseBlobName, 64],
    ['key id', parseKeyId, 128],
    ['user id', parseUserId, 128],
  ] as const;

  it.each(parsers)('%s: accepts letters, digits, ".", "_", "-" up to its length', (_, parse, max) => {
    for (const value of ['a', 'A9', 'faces-2024_v1.0', 'x'.repeat(max)]) expect(parse(value)).toBe(value);
  });

  it.each(parsers)('%s: refuses every invalid shape with a message naming it and the rule', (field, parse, max) => {
    const extra = field === 'user id' ? ' @' : '';
    const rule = `is invalid: use 1-${max} characters from A-Z a-z 0-9 . _ -${extra}, starting with a letter or digit, without '..'`;
    expect(messageOf(() => parse(''))).toBe(`${field} "" ${rule}`);
    expect(messageOf(() => parse('x'.repeat(max + 1)))).toBe(`${field} "${'x'.repeat(40)}..." ${rule}`);
    expect(messageOf(() => parse('.hidden'))).toBe(`${field} ".hidden" ${rule}`);
    expect(messageOf(() => parse('-dash'))).toBe(`${field} "-dash" ${rule}`);
    expect(messageOf(() => parse('a..b'))).toBe(`${field} "a..b" ${rule}`);
    expect(messageOf(() => parse('a/b'))).toBe(`${field} "a/b" ${rule}`);
    expect(messageOf(() => parse('a#b'))).toBe(`${field} "a#b" ${rule}`);
    expect(messageOf(() => parse('a b'))).toBe(`${field} "a b" ${rule}`);
    expect(messageOf(() => parse(7))).toBe(`${field} a number ${rule}`);
    expect(messageOf(() => parse(null))).toBe(`${field} a null ${rule}`);
    expect(messageOf(() => parse(undefined))).toBe(`${field} a undefined ${rule}`);
  });

  it('lets user ids, and only user ids, hold "@"', () => {
    expect(parseUserId('alice@example.org')).toBe('alice@example.org');
    expect(() => parseIndexName('alice@example.org')).toThrow(InvalidInputError);
    expect(() => parseUserId('@alice')).toThrow(InvalidInputError);
  });
});

describe('the id types', () => {
  it('are distinct: one kind of id is refused where another is expected (checked by tsc)', () => {
    const owner: OwnerId = parseOwnerId(OWNER);
    const index: IndexName = parseIndexName('faces');
    const version: VersionId = parseVersionId('v1');
    const image: ImageId = parseImageId('img-1');
    const user: UserId = parseUserId('alice');
    const takesIndex = (name: IndexName): string => name;
    expect(takesIndex(index)).toBe('faces');
    // @ts-expect-error an image id is not an index name
    takesIndex(image);
    // @ts-expect-error a version is not an index name
    takesIndex(version);
    // @ts-expect-error an owner id is not an index name
    takesIndex(owner);
    // @ts-expect-error a user id is not an index name
    takesIndex(user);
    // @ts-expect-error a plain string must go through the parser first
    takesIndex('faces');
    // Every id is still a string wherever a string is enough.
    const asText: string = index;
    expect(asText).toBe('faces');
  });
});
