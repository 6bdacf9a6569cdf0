/**
 * Where the CLI writes: human messages and progress on stderr, command output (tables, or one
 * JSON object with --json) on stdout. Progress is a bar on a terminal, and elsewhere (a pipe, a
 * log file, CI) plain lines (lib/client/progress-lines), so a long run is never silent.
 * Injectable so tests run commands in-process and capture both streams.
 */
import cliProgress from 'cli-progress';
import type { WorkflowListener } from '../../lib/client/events';
import { progressLines } from '../../lib/client/progress-lines';
import type { ProgressLineOptions } from '../../lib/client/progress-lines';
import { commandCwd } from '../user-cwd';

export interface OutputStream {
  write(text: string): unknown;
  /** Terminals get progress bars; pipes and captures get progress lines. */
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base for relative paths given on the command line. */
  readonly cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: commandCwd(process.env, process.cwd()) };
}

/** Strings written to a captured stream. */
export interface CapturedStream extends OutputStream {
  readonly text: () => string;
}

export function captureStream(isTTY = false): CapturedStream {
  const parts: string[] = [];
  return {
    isTTY,
    write: (text: string) => parts.push(text),
    text: () => parts.join(''),
  };
}

export interface ReporterOptions extends Pick<ProgressLineOptions, 'clock'> {
  /** Bars on a terminal (off with --json). */
  readonly progressBars: boolean;
  /** Least time between two progress lines of a step when not on a terminal. Default 5 s. */
  readonly lineIntervalMs?: number;
}

/** Workflow events on a stream: messages as lines; progress as bars on a terminal, as lines elsewhere. */
export function streamReporter(stream: OutputStream, options: ReporterOptions): WorkflowListener {
  const lines = progressLines((line) => stream.write(line), { intervalMs: options.lineIntervalMs, clock: options.clock });
  const bars = new Map<string, cliProgress.SingleBar>();
  const onTerminal = options.progressBars && stream.isTTY === true;
  return (event) => {
    switch (event.type) {
      case 'info':
        stream.write(`${event.message}\n`);
        return;
      case 'warning':
        stream.write(`warning: ${event.message}\n`);
        return;
      default:
        if (!onTerminal) {
          lines(event);
          return;
        }
    }
    if (event.type === 'step-end') {
      bars.get(event.step)?.stop();
      bars.delete(event.step);
      return;
    }
    let bar = bars.get(event.step);
    if (bar === undefined) {
      bar = new cliProgress.SingleBar(
        { format: `${event.step.padEnd(18)} [{bar}] {value}/{total} {detail}`, stream: stream as NodeJS.WritableStream, hideCursor: true, clearOnComplete: false, barsize: 30 },
        cliProgress.Presets.shades_classic,
      );
      bars.set(event.step, bar);
      bar.start(event.total, event.done, { detail: event.detail ?? '' });
    } else {
      bar.setTotal(event.total);
      bar.update(event.done, { detail: event.detail ?? '' });
    }
  };
}

export const silentListener: WorkflowListener = () => {};

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((header, c) => Math.max(header.length, ...cells.map((row) => (row[c] ?? '').length)));
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((row) => typeof row[c] === 'number' || /^-?\d[\d.,e+-]*$/.test(String(row[c]))));
  const line = (values: readonly string[]) =>
    values
      .map((value, c) => (numeric[c] ? value.padStart(widths[c]) : value.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
