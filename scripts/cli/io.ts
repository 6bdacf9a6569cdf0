/**
 * Where the CLI writes: human messages and progress bars on stderr, command output (tables,
 * or one JSON object with --json) on stdout. Injectable so tests and the demo run commands
 * in-process and capture both streams.
 */
import cliProgress from 'cli-progress';

export interface OutputStream {
  write(text: string): unknown;
  /** Terminals get progress bars; pipes and captures do not. */
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
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
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

export interface Progress {
  /** `done` of `total`; `detail` is shown after the counts (e.g. "3 skipped"). */
  update(done: number, total: number, detail?: string): void;
  stop(): void;
}

/** Messages for people, on stderr. */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  /** A bar on a terminal, nothing elsewhere. */
  progress(label: string): Progress;
}

export function streamReporter(stream: OutputStream, options: { progressBars: boolean }): Reporter {
  return {
    info: (message) => {
      stream.write(`${message}\n`);
    },
    warn: (message) => {
      stream.write(`warning: ${message}\n`);
    },
    progress: (label) => (options.progressBars && stream.isTTY === true ? terminalBar(label, stream) : silentProgress),
  };
}

export const silentProgress: Progress = { update: () => {}, stop: () => {} };

export const silentReporter: Reporter = { info: () => {}, warn: () => {}, progress: () => silentProgress };

function terminalBar(label: string, stream: OutputStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(18)} [{bar}] {value}/{total} {detail}`,
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (done, total, detail = '') => {
      if (!started) {
        bar.start(total, done, { detail });
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(done, { detail });
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

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

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

export function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
