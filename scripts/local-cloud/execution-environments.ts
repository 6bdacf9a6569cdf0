/**
 * Lambda execution environments for the local cloud: each function gets its own environments,
 * each a worker thread that loads the function's module once (its init, a cold start) and then
 * handles ONE invocation at a time, keeping its module state (clients, caches) across them, as
 * a warm Lambda environment does. Concurrent requests go to different environments; a function
 * gets a new environment when all of its environments are busy, up to `maxPerFunction` (its
 * concurrency limit here); beyond that, requests wait for the first environment to become free
 * (Lambda would scale further, or throttle with 429 at a reserved-concurrency limit). An idle
 * environment that was used most recently is reused first, so few stay warm under light load.
 *
 * Besides being faithful (module state is per environment, never shared by concurrent
 * requests), this spreads the handlers over the machine's cores.
 *
 * An environment ends when its init fails (the invocation that waited for it gets the load
 * error, the next one tries a new environment), when an invocation runs past the function's
 * timeout (it fails with Lambda's "Task timed out" and the environment is reset), when it exits
 * or throws outside an invocation (the invocation in progress fails), or after an unhandled
 * promise rejection (retired once its current invocation is over, like the Node.js runtime).
 */
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { EnvironmentConfig, EnvironmentMessage } from './execution-environment-protocol';
import type { FunctionCall, InvocationOutcome } from './function-invoker';
import { withCallerTimeout } from './function-invoker';
import type { GatewayLog } from './gateway-log';
import { jsonLineLog } from './gateway-log';
import { REPO_ROOT } from './layout';
import { startTypeScriptWorker } from './typescript-worker';

export interface ExecutionEnvironmentsOptions {
  /** Handler modules: `<functionsDir>/<handler>.ts`. */
  readonly functionsDir: string;
  /** Most environments one function may have at a time (at least 1). */
  readonly maxPerFunction: number;
  /** Label of the account in log lines. */
  readonly account: string;
  readonly log?: GatewayLog;
}

export interface FunctionEnvironmentStats {
  /** Environments started and not ended (starting, idle or busy). */
  readonly environments: number;
  readonly busy: number;
  /** Invocations waiting for an environment. */
  readonly waiting: number;
}

const ENVIRONMENT_ENTRY = join(REPO_ROOT, 'scripts', 'local-cloud', 'execution-environment-main.ts');

type Reply = Extract<EnvironmentMessage, { id: number }>;

interface Environment {
  readonly worker: Worker;
  /** performance.now() when the environment was started (its init duration is logged). */
  readonly startedAt: number;
  state: 'starting' | 'idle' | 'busy' | 'ended';
  /** Retire after the current invocation (unhandled rejection). */
  retire: boolean;
  /** The invocation in progress, and its function timeout. */
  current?: { readonly id: number; readonly settle: (outcome: InvocationOutcome) => void; readonly timer: NodeJS.Timeout };
  /** An error the thread threw outside any handler promise, reported with its exit. */
  crash?: Error;
}

interface Waiter {
  readonly give: (environment: Environment) => void;
  readonly fail: (outcome: InvocationOutcome) => void;
}

interface FunctionPool {
  readonly handler: string;
  readonly config: EnvironmentConfig;
  readonly environments: Set<Environment>;
  /** Idle environments, most recently used last. */
  readonly idle: Environment[];
  readonly waiters: Waiter[];
  starting: number;
}

export class ExecutionEnvironments {
  private readonly pools = new Map<string, FunctionPool>();
  private readonly log: GatewayLog;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ExecutionEnvironmentsOptions) {
    if (!Number.isInteger(options.maxPerFunction) || options.maxPerFunction < 1) {
      throw new Error('maxPerFunction must be a positive integer');
    }
    this.log = options.log ?? jsonLineLog();
  }

  /** A FunctionRuntime for the gateways. */
  readonly invoke = (call: FunctionCall): Promise<InvocationOutcome> => {
    // The event crosses into the environment as JSON, as through Lambda's runtime API; its
    // size is checked against the payload limit on the way.
    const event = JSON.stringify(call.event) ?? 'null';
    const bytes = Buffer.byteLength(event, 'utf8');
    if (bytes > call.maxPayloadBytes) return Promise.resolve({ kind: 'event-too-large', bytes });
    let cancel = () => {};
    const run = new Promise<InvocationOutcome>((settle) => {
      const pool = this.pool(call);
      const waiter: Waiter = { give: (environment) => this.send(pool, environment, event, call.maxPayloadBytes, settle), fail: settle };
      pool.waiters.push(waiter);
      // A caller that gave up no longer needs an environment (one already running goes on).
      cancel = () => {
        const at = pool.waiters.indexOf(waiter);
        if (at >= 0) pool.waiters.splice(at, 1);
      };
      this.pump(pool);
    });
    return withCallerTimeout(run, call.callerTimeoutMs).then((outcome) => {
      if (outcome.kind === 'timeout') cancel();
      return outcome;
    });
  };

  /** Environments per handler module, for logs and tests. */
  stats(): Record<string, FunctionEnvironmentStats> {
    const stats: Record<string, FunctionEnvironmentStats> = {};
    for (const [handler, pool] of this.pools) {
      let busy = 0;
      for (const environment of pool.environments) if (environment.state === 'busy') busy++;
      stats[handler] = { environments: pool.environments.size, busy, waiting: pool.waiters.length };
    }
    return stats;
  }

  /** Ends every environment; waiting and running invocations fail. */
  async close(): Promise<void> {
    this.closed = true;
    const workers: Worker[] = [];
    for (const pool of this.pools.values()) {
      for (const waiter of pool.waiters.splice(0)) waiter.fail(stopping());
      for (const environment of pool.environments) workers.push(environment.worker);
    }
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private pool(call: FunctionCall): FunctionPool {
    let pool = this.pools.get(call.handler);
    if (pool === undefined) {
      pool = {
        handler: call.handler,
        config: { functionsDir: this.options.functionsDir, handler: call.handler, fn: call.fn },
        environments: new Set(),
        idle: [],
        waiters: [],
        starting: 0,
      };
      this.pools.set(call.handler, pool);
    }
    return pool;
  }

  /** Gives idle environments to waiting invocations, and starts environments for the rest. */
  private pump(pool: FunctionPool): void {
    if (this.closed) {
      for (const waiter of pool.waiters.splice(0)) waiter.fail(stopping());
      return;
    }
    while (pool.waiters.length > 0 && pool.idle.length > 0) {
      (pool.waiters.shift() as Waiter).give(pool.idle.pop() as Environment);
    }
    while (pool.waiters.length > pool.starting && pool.environments.size < this.options.maxPerFunction) this.start(pool);
  }

  private start(pool: FunctionPool): void {
    const worker = startTypeScriptWorker(ENVIRONMENT_ENTRY, { workerData: pool.config });
    const environment: Environment = { worker, startedAt: performance.now(), state: 'starting', retire: false };
    pool.environments.add(environment);
    pool.starting++;
    worker.on('message', (message: EnvironmentMessage) => this.onMessage(pool, environment, message));
    worker.on('error', (error) => {
      environment.crash = error;
    });
    worker.once('exit', (code) => this.onExit(pool, environment, code));
  }

  private send(pool: FunctionPool, environment: Environment, event: string, maxPayloadBytes: number, settle: (outcome: InvocationOutcome) => void): void {
    const id = this.nextId++;
    const { timeoutMs } = pool.config.fn;
    const timer = setTimeout(() => this.timedOut(pool, environment, id), timeoutMs);
    environment.state = 'busy';
    environment.current = { id, settle, timer };
    environment.worker.postMessage({ type: 'invoke', id, event, maxPayloadBytes });
  }

  /** Lambda stops an invocation at the function's timeout and resets its environment. */
  private timedOut(pool: FunctionPool, environment: Environment, id: number): void {
    const current = environment.current;
    if (current === undefined || current.id !== id) return;
    environment.current = undefined;
    const errorMessage = `Task timed out after ${(pool.config.fn.timeoutMs / 1000).toFixed(2)} seconds`;
    this.log.event({ level: 'error', account: this.options.account, msg: 'function timed out; the environment is reset', handler: pool.handler, timeoutMs: pool.config.fn.timeoutMs });
    current.settle({ kind: 'error', error: undefined, errorType: 'Sandbox.Timedout', errorMessage });
    this.retire(pool, environment);
  }

  private onMessage(pool: FunctionPool, environment: Environment, message: EnvironmentMessage): void {
    switch (message.type) {
      case 'ready':
        pool.starting--;
        // Lambda reports the same as "Init Duration" on a cold start's first invocation.
        this.log.event({ level: 'info', account: this.options.account, msg: 'function init', handler: pool.handler, initMs: Math.round(performance.now() - environment.startedAt) });
        this.release(pool, environment);
        return;
      case 'load-failed': {
        pool.starting--;
        this.end(pool, environment);
        this.log.event({ level: 'error', account: this.options.account, msg: 'function init failed', handler: pool.handler, errorType: message.errorType, errorMessage: message.errorMessage });
        // The invocation that waited longest gets the error; later ones try a new environment.
        pool.waiters.shift()?.fail({ kind: 'load-failed', errorType: message.errorType, errorMessage: message.errorMessage });
        this.pump(pool);
        return;
      }
      case 'unhandled-rejection':
        this.log.event({ level: 'error', account: this.options.account, msg: 'unhandled promise rejection in a handler; the environment is retired', handler: pool.handler, errorType: message.errorType, errorMessage: message.errorMessage });
        environment.retire = true;
        if (environment.state === 'idle') this.retire(pool, environment);
        return;
      default:
        this.finish(pool, environment, message);
    }
  }

  private finish(pool: FunctionPool, environment: Environment, reply: Reply): void {
    const current = environment.current;
    if (current === undefined || current.id !== reply.id) return;
    environment.current = undefined;
    clearTimeout(current.timer);
    current.settle(outcomeOf(reply));
    if (environment.retire) this.retire(pool, environment);
    else this.release(pool, environment);
  }

  private release(pool: FunctionPool, environment: Environment): void {
    if (this.closed) return;
    environment.state = 'idle';
    pool.idle.push(environment);
    this.pump(pool);
  }

  private retire(pool: FunctionPool, environment: Environment): void {
    this.end(pool, environment);
    void environment.worker.terminate();
    this.pump(pool);
  }

  /** Forgets an environment (its thread has ended or is being ended). */
  private end(pool: FunctionPool, environment: Environment): void {
    environment.state = 'ended';
    pool.environments.delete(environment);
    const at = pool.idle.indexOf(environment);
    if (at >= 0) pool.idle.splice(at, 1);
  }

  private onExit(pool: FunctionPool, environment: Environment, code: number): void {
    const wasStarting = environment.state === 'starting';
    const current = environment.current;
    const ended = environment.state === 'ended';
    this.end(pool, environment);
    if (ended && current === undefined) return;
    const detail = environment.crash ? `${environment.crash.name}: ${environment.crash.message}` : `exit code ${code}`;
    if (!this.closed) {
      this.log.event({ level: 'error', account: this.options.account, msg: 'execution environment ended unexpectedly', handler: pool.handler, detail });
    }
    if (current !== undefined) {
      environment.current = undefined;
      clearTimeout(current.timer);
      current.settle({ kind: 'error', error: environment.crash, errorType: 'Runtime.ExitError', errorMessage: `the execution environment ended during the invocation (${detail})` });
    }
    if (wasStarting) {
      pool.starting--;
      pool.waiters.shift()?.fail({ kind: 'load-failed', errorType: environment.crash?.name ?? 'Runtime.ExitError', errorMessage: environment.crash?.message ?? `the environment exited during init (${detail})` });
    }
    this.pump(pool);
  }
}

function outcomeOf(reply: Reply): InvocationOutcome {
  switch (reply.type) {
    case 'result':
      return { kind: 'result', value: JSON.parse(reply.result) as unknown };
    case 'response-too-large':
      return { kind: 'response-too-large', bytes: reply.bytes };
    case 'error':
      return { kind: 'error', error: { errorType: reply.errorType, errorMessage: reply.errorMessage }, errorType: reply.errorType, errorMessage: reply.errorMessage };
  }
}

function stopping(): InvocationOutcome {
  return { kind: 'error', error: undefined, errorType: 'Runtime.Stopping', errorMessage: 'the local cloud is stopping' };
}
