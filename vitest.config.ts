import { defineConfig } from 'vitest/config';
import { SETTINGS } from './lib/config/settings';
import { timeoutScale } from './lib/core/timeout-scale';

/**
 * CI runs on a shared 2-core machine that other jobs may load heavily: the same test can take
 * ten times longer than on an idle machine. Tests synchronise on signals, not on time; the time
 * limits that remain (vitest's, the client's, the local cloud's emulated AWS limits) only catch
 * hangs, so they all stretch by one factor, BLINDSIGHT_TIMEOUT_SCALE (lib/core/timeout-scale.ts),
 * 10 unless set. Every test and every process a test starts sees it.
 */
const TIMEOUT_SCALE_ENV = SETTINGS.timeoutScale.name;
const scale = process.env[TIMEOUT_SCALE_ENV] === undefined ? 10 : timeoutScale();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    env: { [TIMEOUT_SCALE_ENV]: String(scale) },
    testTimeout: 60_000 * scale,
    hookTimeout: 60_000 * scale,
    // Two cores: keep the worker count small so heavy math tests do not starve each other.
    maxWorkers: 2,
  },
});
