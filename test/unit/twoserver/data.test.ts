import { describe, expect, it } from 'vitest';
import { InvalidInputError, InvalidParametersError } from '../../../lib/core/errors';
import { seededRandom } from '../../../lib/core/random';
import { quantizeVector, quantizeVectors } from '../../../lib/twoserver/quantize';
import { noisyProbes, SyntheticStream, syntheticEmbeddings, syntheticTemplates } from '../../../scripts/bench/synthetic/templates';

describe('quantize', () => {
  it('multiplies by 10^decimals and rounds, without negative zeros', () => {
    expect(Array.from(quantizeVector([0.1234, -0.9996, 0.0004, -0.0004, 0.5]))).toEqual([123, -1000, 0, 0, 500]);
    expect(Object.is(quantizeVector([-0.0004])[0], -0)).toBe(false);
    expect(Array.from(quantizeVector([0.12345], 4))).toEqual([1235]);
    const set = quantizeVectors({ n: 2, d: 2, data: Float64Array.of(0.1, 0.2, -0.3, 0.4) });
    expect(set).toEqual({ n: 2, d: 2, data: Float64Array.of(100, 200, -300, 400) });
  });

  it('rejects non-finite values and bad decimals', () => {
    expect(() => quantizeVector([0.1, Number.NaN])).toThrow(InvalidInputError);
    expect(() => quantizeVector([Number.POSITIVE_INFINITY])).toThrow(InvalidInputError);
    expect(() => quantizeVector([0.1], 1.5)).toThrow(InvalidParametersError);
    expect(() => quantizeVector([0.1], -1)).toThrow(InvalidParametersError);
  });
});

describe('synthetic data', () => {
  for (const kind of ['uniform', 'clustered'] as const) {
    it(`${kind}: seeded, inside (-1, 1), and independent of the chunking`, () => {
      const whole = syntheticEmbeddings(300, 16, { kind, seed: 4 });
      expect(syntheticEmbeddings(300, 16, { kind, seed: 4 })).toEqual(whole);
      expect(syntheticEmbeddings(300, 16, { kind, seed: 5 }).data).not.toEqual(whole.data);
      const stream = new SyntheticStream(300, 16, { kind, seed: 4 });
      const parts = [stream.next(7), stream.next(100), stream.next(193)];
      const joined = new Float64Array(300 * 16);
      let at = 0;
      for (const part of parts) {
        joined.set(part.data, at);
        at += part.data.length;
      }
      expect(joined).toEqual(whole.data);
      for (const v of whole.data) expect(Math.abs(v)).toBeLessThan(1);
      const templates = syntheticTemplates(300, 16, { kind, seed: 4 });
      for (const v of templates.data) {
        expect(Number.isInteger(v)).toBe(true);
        expect(Math.abs(v)).toBeLessThanOrEqual(999);
      }
    });
  }

  it('clustered data is clustered: points are much closer to their own cluster than uniform points', () => {
    const clustered = syntheticTemplates(400, 32, { kind: 'clustered', seed: 1, clusters: 4, spread: 0.05 });
    const uniform = syntheticTemplates(400, 32, { kind: 'uniform', seed: 1 });
    const nearest = (set: typeof clustered) => {
      let total = 0;
      for (let i = 0; i < 50; i++) {
        let best = Infinity;
        for (let j = 0; j < set.n; j++) {
          if (j === i) continue;
          let s = 0;
          for (let t = 0; t < set.d; t++) s += (set.data[i * set.d + t] - set.data[j * set.d + t]) ** 2;
          best = Math.min(best, s);
        }
        total += Math.sqrt(best);
      }
      return total / 50;
    };
    expect(nearest(clustered) * 5).toBeLessThan(nearest(uniform));
  });

  it('noisy probes stay integer and inside the box', () => {
    const templates = syntheticTemplates(50, 8, { kind: 'uniform', seed: 2 });
    const probes = noisyProbes(templates, 20, 0.5, seededRandom(3));
    expect(probes.n).toBe(20);
    for (const v of probes.data) {
      expect(Number.isInteger(v)).toBe(true);
      expect(Math.abs(v)).toBeLessThanOrEqual(999);
    }
  });
});
