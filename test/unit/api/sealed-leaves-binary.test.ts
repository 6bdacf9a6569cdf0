/** The binary sealed-leaves answer: what is written is read back; anything cut, padded or miscounted is refused. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSealedLeavesAnswer, encodeSealedLeavesAnswer } from '../../../lib/api/sealed-leaves-binary';
import { MalformedDataError } from '../../../lib/core/errors';

const answer = { version: 'v-20261203-abc', leafBytes: 48, leaves: [7, 0, 4095, 12], data: new Uint8Array(randomBytes(4 * 48)) };

describe('sealed leaves, binary answer', () => {
  it('round-trips the version, the leaf numbers in request order and the bytes', () => {
    const decoded = decodeSealedLeavesAnswer(encodeSealedLeavesAnswer(answer), 'answer');
    expect(decoded).toEqual(answer);
  });

  it('refuses a cut, padded, relabelled or foreign answer with MalformedDataError', () => {
    const bytes = encodeSealedLeavesAnswer(answer);
    const bad = [
      bytes.subarray(0, bytes.length - 1),
      Uint8Array.from([...bytes, 0]),
      bytes.subarray(0, 10),
      new TextEncoder().encode('{"version":"v"}'),
      new Uint8Array(0),
    ];
    // leafBytes 0 and a leaf count larger than the bytes.
    const zeroLeafBytes = Uint8Array.from(bytes);
    const at = 4 + 2 + 2 + answer.version.length;
    new DataView(zeroLeafBytes.buffer).setUint32(at, 0, true);
    const manyLeaves = Uint8Array.from(bytes);
    new DataView(manyLeaves.buffer).setUint32(at + 4, 0xfffffff0, true);
    for (const input of [...bad, zeroLeafBytes, manyLeaves]) {
      expect(() => decodeSealedLeavesAnswer(input, 'the answer')).toThrow(MalformedDataError);
    }
  });

  it('refuses to write data that is not the listed leaves', () => {
    expect(() => encodeSealedLeavesAnswer({ ...answer, data: answer.data.subarray(1) })).toThrow(/not 4 leaves of 48/);
  });
});
