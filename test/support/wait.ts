/**
 * Waiting for a condition instead of for a time: a test that sleeps "long enough" fails on a
 * machine that is busier than the one it was written on. `waitFor` polls until the condition
 * holds; its deadline only turns a hang into a clear failure, so it is generous.
 */

/** Default deadline of {@link waitFor}: far beyond anything a working system needs, even loaded. */
export const WAIT_FOR_DEADLINE_MS = 120_000;

/**
 * Resolves with the first truthy value of `probe`, polling every `intervalMs`; rejects naming
 * `what` if none came within `deadlineMs`.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  { deadlineMs = WAIT_FOR_DEADLINE_MS, intervalMs = 10 }: { deadlineMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`waited ${Math.round(deadlineMs / 1000)} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
