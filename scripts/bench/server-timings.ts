/**
 * Server-side timings of the API benchmark's search requests, read from CS1's JSON log lines:
 * the gateway's access line (`msg: "request"`, per route) and the handler's own line (its
 * message, `HANDLER_LOG_MESSAGES`), each with `ms`.
 */
import { performance } from 'node:perf_hooks';

/** Server-side timings of search requests, from CS1's JSON log lines. */
export class ServerTimings {
  private gateway: number[] = [];
  private handler: number[] = [];
  private recording = false;

  constructor(
    private readonly searchRoute: RegExp,
    private readonly handlerMessage: string,
  ) {}

  onLine(line: string): void {
    // Cheap filter first: only two kinds of line are parsed (the client shares the CPUs).
    if (!this.recording || !line.startsWith('{') || !(line.includes('"request"') || line.includes(`"${this.handlerMessage}"`))) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (entry.msg === 'request' && typeof entry.route === 'string' && this.searchRoute.test(entry.route) && typeof entry.ms === 'number') {
      this.gateway.push(entry.ms);
    } else if (entry.message === this.handlerMessage && typeof entry.ms === 'number') {
      this.handler.push(entry.ms);
    }
  }

  /** Starts a fresh recording. */
  start(): void {
    this.gateway = [];
    this.handler = [];
    this.recording = true;
  }

  /** Waits (at most `timeoutMs`) for `count` handler lines: a log line may arrive after its answer. */
  async handlerLines(count: number, timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.handler.length < count && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  stop(): { gateway: number[]; handler: number[] } {
    this.recording = false;
    return { gateway: this.gateway, handler: this.handler };
  }
}
