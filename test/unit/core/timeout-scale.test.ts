/** BLINDSIGHT_TIMEOUT_SCALE: parsed once, defaults to 1, refuses nonsense with a clear message. */
import { describe, expect, it } from 'vitest';
import { scaledTimeout, timeoutScale } from '../../../lib/core/timeout-scale';

describe('timeout scale', () => {
  it('is 1 when unset or empty, and the number given otherwise', () => {
    expect(timeoutScale({})).toBe(1);
    expect(timeoutScale({ BLINDSIGHT_TIMEOUT_SCALE: ' ' })).toBe(1);
    expect(timeoutScale({ BLINDSIGHT_TIMEOUT_SCALE: '2.5' })).toBe(2.5);
    expect(scaledTimeout(30_000, { BLINDSIGHT_TIMEOUT_SCALE: '10' })).toBe(300_000);
    expect(scaledTimeout(333, { BLINDSIGHT_TIMEOUT_SCALE: '1.5' })).toBe(500);
  });

  it('refuses values that would shorten or disable timeouts', () => {
    for (const bad of ['0', '0.5', '-3', '101', 'ten', 'Infinity', 'NaN']) {
      expect(() => timeoutScale({ BLINDSIGHT_TIMEOUT_SCALE: bad }), bad).toThrow(/BLINDSIGHT_TIMEOUT_SCALE must be a number from 1 to 100/);
    }
  });
});
