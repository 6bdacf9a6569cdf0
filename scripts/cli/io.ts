/**
 * Where the CLI writes: human messages and progress on stderr, command output (tables, or one
 * JSON object with --json) on stdout. Progress is a bar on a terminal, and elsewhere (a pipe, a
 * log file, CI) a plain line every few seconds per step and one when the step ends, so a long
 * run is never silent. Injectable so tests and the demo run commands in-process and capture
 * both streams.
 */
import cliProgress from 'cli-progress';
import { resolve } from 'node:path';
import type { WorkflowEvent, WorkflowListener } from '../../lib/client/events';
import { formatSeconds } from '../../lib/client/units';
import { REPO_ROOT } from '../local-cloud/layout';

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

/**
 * The folder the user typed the command in. npm runs scripts from the package root and says
 * where it was started in INIT_CWD, so `npm run blindsight -- user search photo.jpg` finds the
 * photo where the user is. INIT_CWD is inherited by every process npm starts, so it counts only
 * when this process runs in the package root, where npm put it.
 */
export function commandCwd(env: Readonly<Record<string, string | undefined>>, processCwd: string, packageRoot: string = REPO_ROOT): string {
  const initCwd = env.INIT_CWD?.trim();
  return initCwd && resolve(processCwd) === resolve(packageRoot) ? resolve(initCwd) : processCwd;
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

export interface ReporterOptions {
  /** Bars on a terminal (off with --json). */
  readonly progressBars: boolean;
  /** Least time between two progress lines of a step when not on a terminal. Default 5 s. */
  readonly lineIntervalMs?: number;
  /** Clock in ms (tests). */
  readonly clock?: () => number;
}

const DEFAULT_PROGRESS_LINE_MS = 5000;

interface StepState {
  readonly started: number;
  lastLine: number;
  lines: number;
  done: number;
  total: number;
  detail?: string;
  bar?: cliProgress.SingleBar;
}

function progressText(step: string, state: StepState): string {
  const percent = state.total > 0 ? ` (${Math.floor((100 * state.done) / state.total)}%)` : '';
  return `${step}: ${state.done}/${state.total}${percent}${state.detail ? `, ${state.detail}` : ''}`;
}

/** Workflow events as lines (and bars) on a stream. */
export function streamReporter(stream: OutputStream, options: ReporterOptions): WorkflowListener {
  const bars = options.progressBars && stream.isTTY === true;
  const interval = options.lineIntervalMs ?? DEFAULT_PROGRESS_LINE_MS;
  const clock = options.clock ?? (() => performance.now());
  const steps = new Map<string, StepState>();

  const progress = (event: Extract<WorkflowEvent, { type: 'progress' }>) => {
    let state = steps.get(event.step);
    const now = clock();
    if (state === undefined) {
      state = { started: now, lastLine: now, lines: 0, done: 0, total: 0 };
      steps.set(event.step, state);
    }
    state.done = event.done;
    state.total = event.total;
    state.detail = event.detail;
    if (bars) {
      if (state.bar === undefined) {
        state.bar = new cliProgress.SingleBar(
          { format: `${event.step.padEnd(18)} [{bar}] {value}/{total} {detail}`, stream: stream as NodeJS.WritableStream, hideCursor: true, clearOnComplete: false, barsize: 30 },
          cliProgress.Presets.shades_classic,
        );
        state.bar.start(event.total, event.done, { detail: event.detail ?? '' });
      } else {
        state.bar.setTotal(event.total);
        state.bar.update(event.done, { detail: event.detail ?? '' });
      }
      return;
    }
    if (now - state.lastLine >= interval && event.done < event.total) {
      state.lastLine = now;
      state.lines++;
      stream.write(`${progressText(event.step, state)}\n`);
    }
  };

  const end = (step: string) => {
    const state = steps.get(step);
    steps.delete(step);
    if (state === undefined) return;
    if (state.bar !== undefined) {
      state.bar.stop();
      return;
    }
    // A step that printed lines, or took long enough to have, ends with one.
    const elapsed = clock() - state.started;
    if (state.lines > 0 || elapsed >= interval) stream.write(`${progressText(step, state)}, done in ${formatSeconds(elapsed)}\n`);
  };

  return (event) => {
    switch (event.type) {
      case 'progress':
        progress(event);
        return;
      case 'step-end':
        end(event.step);
        return;
      case 'info':
        stream.write(`${event.message}\n`);
        return;
      case 'warning':
        stream.write(`warning: ${event.message}\n`);
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
