import { describe, expect, it } from 'vitest';
import { BinaryReader, BinaryWriter } from '../../../lib/codec/binary';
import { MalformedDataError } from '../../../lib/core/errors';

describe('BinaryWriter / BinaryReader', () => {
  it('grows from a tiny buffer through every scalar write (no write lands in a replaced buffer)', () => {
    const w = new BinaryWriter(1);
    for (let i = 0; i < 300; i++) w.u8(i & 0xff).u16(i).u32(i * 65_537).f64(i / 7);
    w.string('end').f64Array([1.5, -2.25]).u32Array([7, 8]).blob(Uint8Array.of(9, 10));
    const r = new BinaryReader(w.finish(), 'test');
    for (let i = 0; i < 300; i++) {
      expect(r.u8()).toBe(i & 0xff);
      expect(r.u16()).toBe(i);
      expect(r.u32()).toBe((i * 65_537) >>> 0);
      expect(r.f64()).toBe(i / 7);
    }
    expect(r.string()).toBe('end');
    expect(Array.from(r.f64Array(2))).toEqual([1.5, -2.25]);
    expect(Array.from(r.u32Array(2))).toEqual([7, 8]);
    expect(Array.from(r.blob())).toEqual([9, 10]);
    r.end();
  });

  it('checks magic, version, lengths and trailing bytes', () => {
    const bytes = new BinaryWriter(2).header('TEST', 3).u32(5).finish();
    expect(() => new BinaryReader(bytes, 'test').header('NOPE', [3])).toThrow(/bad magic/);
    expect(() => new BinaryReader(bytes, 'test').header('TEST', [1, 2])).toThrow(/unsupported version 3/);
    const r = new BinaryReader(bytes, 'test');
    r.header('TEST', [3]);
    expect(() => r.u32InRange('count', 6, 9)).toThrow(/count = 5 is outside \[6, 9\]/);
    expect(() => new BinaryReader(bytes.subarray(0, 5), 'test').header('TEST', [3])).toThrow(MalformedDataError);
    const trailing = new BinaryReader(bytes, 'test');
    trailing.header('TEST', [3]);
    expect(() => trailing.end()).toThrow(/4 unexpected trailing bytes/);
  });

  it('rejects non-finite doubles in vectors and invalid UTF-8 in strings', () => {
    const nan = new BinaryWriter().f64Array([1, Number.NaN]).finish();
    expect(() => new BinaryReader(nan, 'test').f64Array(2)).toThrow(/vector\[1\] is not a finite number/);
    const badUtf8 = new BinaryWriter().u16(2).bytes(Uint8Array.of(0xc3, 0x28)).finish();
    expect(() => new BinaryReader(badUtf8, 'test').string('name')).toThrow(/not valid UTF-8/);
  });
});
