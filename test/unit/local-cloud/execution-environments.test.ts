/**
 * The local cloud's Lambda execution environments (worker threads) on stand-in handlers
 * (fixtures/environments): module state per environment, one invocation at a time per
 * environment, new environments up to the limit and queueing beyond it, JSON events and
 * results, and the ways an environment ends (init failure, exit, function timeout, unhandled
 * rejection) without taking the pool down.
 *
 * Invocations that must overlap are held until the test creates a release file, and the test
 * waits for the pool's own state (stats, log events), never for a time: on a loaded machine a
 * worker thread can take seconds to start.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecutionEnvironments } from '../../../scripts/local-cloud/execution-environments';
import type { FunctionCall, InvocationOutcome } from '../../../scripts/local-cloud/function-invoker';
import { memoryLog } from '../../support/logs';
import { waitFor } from '../../support/wait';

const FUNCTIONS_DIR = join(import.meta.dirname, 'fixtures', 'environments');
const MB = 1024 * 1024;

let pool: ExecutionEnvironments | undefined;
let log: ReturnType<typeof memoryLog>;
let scratch: string;
let releases = 0;

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'environments-'));
});

afterEach(async () => {
  await pool?.close();
  pool = undefined;
  await rm(scratch, { recursive: true, force: true });
});

/** A file path that held invocations wait for, and the function that creates it. */
function releaseFile(): { holdUntil: string; release: () => Promise<void> } {
  const holdUntil = join(scratch, `release-${releases++}`);
  return { holdUntil, release: () => writeFile(holdUntil, '') };
}

/** Waits until the function's environments reach the given counts. */
function statsReach(environments: ExecutionEnvironments, handler: string, wanted: Partial<Record<'environments' | 'busy' | 'waiting', number>>) {
  return waitFor(() => {
    const stats = environments.stats()[handler];
    return stats !== undefined && Object.entries(wanted).every(([key, value]) => stats[key as keyof typeof stats] === value) && stats;
  }, `${handler} to reach ${JSON.stringify(wanted)}`);
}

function start(maxPerFunction: number): ExecutionEnvironments {
  log = memoryLog();
  pool = new ExecutionEnvironments({ functionsDir: FUNCTIONS_DIR, maxPerFunction, account: 'test', log });
  return pool;
}

function call(handler: string, event: unknown, options: { timeoutMs?: number; callerTimeoutMs?: number; maxPayloadBytes?: number } = {}): FunctionCall {
  return {
    handler,
    event,
    fn: { functionName: `test-${handler.replace('/', '-')}`, accountId: '000000000001', region: 'us-east-1', timeoutMs: options.timeoutMs ?? 10_000, memoryMb: 128 },
    maxPayloadBytes: options.maxPayloadBytes ?? 6 * MB,
    callerTimeoutMs: options.callerTimeoutMs ?? 20_000,
  };
}

function valueOf<T>(outcome: InvocationOutcome): T {
  if (outcome.kind !== 'result') throw new Error(`expected a result, got ${JSON.stringify(outcome)}`);
  return outcome.value as T;
}

interface StateAnswer {
  environmentId: string;
  invocations: number;
  mostInProgress: number;
  undefinedField?: unknown;
  date: unknown;
}

describe('ExecutionEnvironments', () => {
  it('keeps module state per environment, runs one invocation at a time in each, and starts environments up to the limit', async () => {
    const environments = start(2);
    const first = valueOf<StateAnswer>(await environments.invoke(call('env/state', {})));
    const second = valueOf<StateAnswer>(await environments.invoke(call('env/state', {})));
    // A warm environment keeps its module state.
    expect(second.environmentId).toBe(first.environmentId);
    expect(second.invocations).toBe(first.invocations + 1);
    // The result crossed as JSON: undefined members dropped, a Date became its string.
    expect(first).not.toHaveProperty('undefinedField');
    expect(first.date).toBe('1970-01-01T00:00:00.000Z');

    // Four at once with a limit of two: two environments, each busy with one at a time; the
    // other two wait. Held until both environments are busy, so the second must start.
    const { holdUntil, release } = releaseFile();
    const running = Array.from({ length: 4 }, () => environments.invoke(call('env/state', { holdUntil })));
    expect(await statsReach(environments, 'env/state', { busy: 2 })).toEqual({ environments: 2, busy: 2, waiting: 2 });
    await release();
    const answers = (await Promise.all(running)).map((o) => valueOf<StateAnswer>(o));
    expect(new Set(answers.map((a) => a.environmentId)).size).toBe(2);
    for (const answer of answers) expect(answer.mostInProgress).toBe(1);
    expect(environments.stats()['env/state']).toEqual({ environments: 2, busy: 0, waiting: 0 });
    // Each cold start is logged once with its init duration (Lambda's "Init Duration").
    const inits = log.events.filter((e) => e.msg === 'function init');
    expect(inits.map((e) => e.handler)).toEqual(['env/state', 'env/state']);
    for (const init of inits) expect(init.initMs).toBeGreaterThanOrEqual(0);
  });

  it('queues invocations beyond the limit and serves them as environments become free', async () => {
    const environments = start(1);
    const { holdUntil, release } = releaseFile();
    const running = Array.from({ length: 3 }, () => environments.invoke(call('env/state', { holdUntil })));
    expect(await statsReach(environments, 'env/state', { busy: 1 })).toEqual({ environments: 1, busy: 1, waiting: 2 });
    await release();
    const answers = (await Promise.all(running)).map((o) => valueOf<StateAnswer>(o));
    expect(new Set(answers.map((a) => a.environmentId)).size).toBe(1);
    expect(answers.map((a) => a.invocations).sort()).toEqual([1, 2, 3]);
  });

  it('reports a failed init as load-failed, keeps no environment, and tries again on the next call', async () => {
    const environments = start(2);
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await environments.invoke(call('env/broken', {}));
      expect(outcome).toMatchObject({ kind: 'load-failed', errorMessage: 'init failed on purpose' });
    }
    expect(environments.stats()['env/broken'].environments).toBe(0);
    expect(log.events.filter((e) => e.msg === 'function init failed')).toHaveLength(2);
    // Other functions are not affected.
    expect(valueOf<StateAnswer>(await environments.invoke(call('env/state', {}))).invocations).toBe(1);
  });

  it('passes handler errors on with their type and message, and keeps the environment', async () => {
    const environments = start(1);
    const failed = await environments.invoke(call('env/fails', { fail: true }));
    expect(failed).toMatchObject({ kind: 'error', errorType: 'ThingNotFound', errorMessage: 'no such thing' });
    expect(valueOf<string>(await environments.invoke(call('env/fails', {})))).toBe('x');
    expect(environments.stats()['env/fails'].environments).toBe(1);
  });

  it('fails the invocation when its environment exits, and starts a fresh one next time', async () => {
    const environments = start(1);
    const outcome = await environments.invoke(call('env/exits', {}));
    expect(outcome).toMatchObject({ kind: 'error', errorType: 'Runtime.ExitError' });
    expect(outcome.kind === 'error' && outcome.errorMessage).toMatch(/exit code 3/);
    expect(environments.stats()['env/exits'].environments).toBe(0);
    expect(log.events.some((e) => e.msg === 'execution environment ended unexpectedly')).toBe(true);
  });

  it("stops an invocation at the function's timeout and resets the environment", async () => {
    const environments = start(1);
    // The quick calls need a timeout no loaded machine reaches; the held one never ends by itself.
    const timeoutMs = 3000;
    const before = valueOf<{ environment: string }>(await environments.invoke(call('env/slow', {}, { timeoutMs })));
    const { holdUntil } = releaseFile();
    const outcome = await environments.invoke(call('env/slow', { holdUntil }, { timeoutMs }));
    expect(outcome).toEqual({ kind: 'error', error: undefined, errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' });
    const after = valueOf<{ environment: string }>(await environments.invoke(call('env/slow', {}, { timeoutMs })));
    expect(after.environment).not.toBe(before.environment);
  });

  it('answers timeout when the caller stops waiting: a running invocation runs on, a waiting one is dropped', async () => {
    const environments = start(1);
    expect(valueOf<StateAnswer>(await environments.invoke(call('env/state', {}))).invocations).toBe(1);
    const { holdUntil, release } = releaseFile();
    const outcome = await environments.invoke(call('env/state', { holdUntil }, { callerTimeoutMs: 100 }));
    expect(outcome).toEqual({ kind: 'timeout' });
    expect(environments.stats()['env/state'].busy).toBe(1);
    // This one waits for the busy environment longer than its caller does.
    expect(await environments.invoke(call('env/state', {}, { callerTimeoutMs: 50 }))).toEqual({ kind: 'timeout' });
    expect(environments.stats()['env/state'].waiting).toBe(0);
    // The environment finishes the abandoned invocation, then serves the next one; the dropped
    // one never ran.
    await release();
    const next = valueOf<StateAnswer>(await environments.invoke(call('env/state', {})));
    expect(next.invocations).toBe(3);
  });

  it('retires an environment after an unhandled promise rejection', async () => {
    const environments = start(1);
    const leaked = valueOf<{ environment: string }>(await environments.invoke(call('env/rejects', { leak: true })));
    // The rejection is reported right after the answer: wait for the report.
    await waitFor(() => log.events.some((e) => e.msg.startsWith('unhandled promise rejection')), 'the unhandled rejection to be reported');
    const next = valueOf<{ environment: string }>(await environments.invoke(call('env/rejects', {})));
    expect(next.environment).not.toBe(leaked.environment);
    expect(log.events.some((e) => e.msg.startsWith('unhandled promise rejection') && e.errorMessage === 'nobody handles this')).toBe(true);
  });

  it("enforces Lambda's payload limit on events (before any environment starts) and on results", async () => {
    const environments = start(1);
    const tooLarge = await environments.invoke(call('env/fails', { padding: 'x'.repeat(2000) }, { maxPayloadBytes: 1000 }));
    expect(tooLarge).toMatchObject({ kind: 'event-too-large' });
    expect(environments.stats()['env/fails']).toBeUndefined();
    const answer = await environments.invoke(call('env/fails', { answerBytes: 5000 }, { maxPayloadBytes: 1000 }));
    expect(answer).toEqual({ kind: 'response-too-large', bytes: 5002 });
  });

  it('fails waiting and running invocations when closed', async () => {
    const environments = start(1);
    const { holdUntil } = releaseFile();
    const running = environments.invoke(call('env/state', { holdUntil }));
    const waiting = environments.invoke(call('env/state', {}));
    await statsReach(environments, 'env/state', { busy: 1, waiting: 1 });
    await environments.close();
    pool = undefined;
    for (const outcome of await Promise.all([running, waiting])) expect(outcome.kind).toBe('error');
  });
});
