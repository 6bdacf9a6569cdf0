/**
 * Workflow progress as plain text lines, for output that is not a terminal (a pipe, a log, CI):
 * per step, a line at most every `intervalMs` while it runs, and one when it ends if it printed
 * any or ran at least that long. A long run is never silent; a short step prints nothing.
 */
import type { WorkflowEvent } from './events';
import { formatSeconds } from './units';

export const DEFAULT_PROGRESS_LINE_MS = 5000;

export interface ProgressLineOptions {
  /** Least time between two lines of a step. Default 5 s. */
  readonly intervalMs?: number;
  /** Clock in ms (tests). */
  readonly clock?: () => number;
}

interface StepState {
  readonly started: number;
  lastLine: number;
  lines: number;
  done: number;
  total: number;
  detail?: string;
}

function lineOf(step: string, state: StepState): string {
  const percent = state.total > 0 ? ` (${Math.floor((100 * state.done) / state.total)}%)` : '';
  return `${step}: ${state.done}/${state.total}${percent}${state.detail ? `, ${state.detail}` : ''}`;
}

/** A handler of progress and step-end events that writes lines (each ending in a newline). */
export function progressLines(write: (line: string) => void, options: ProgressLineOptions = {}): (event: WorkflowEvent) => void {
  const interval = options.intervalMs ?? DEFAULT_PROGRESS_LINE_MS;
  const clock = options.clock ?? (() => performance.now());
  const steps = new Map<string, StepState>();
  return (event) => {
    if (event.type === 'progress') {
      const now = clock();
      let state = steps.get(event.step);
      if (state === undefined) {
        state = { started: now, lastLine: now, lines: 0, done: 0, total: 0 };
        steps.set(event.step, state);
      }
      state.done = event.done;
      state.total = event.total;
      state.detail = event.detail;
      if (now - state.lastLine >= interval && event.done < event.total) {
        state.lastLine = now;
        state.lines++;
        write(`${lineOf(event.step, state)}\n`);
      }
    } else if (event.type === 'step-end') {
      const state = steps.get(event.step);
      steps.delete(event.step);
      if (state === undefined) return;
      const elapsed = clock() - state.started;
      if (state.lines > 0 || elapsed >= interval) write(`${lineOf(event.step, state)}, done in ${formatSeconds(elapsed)}\n`);
    }
  };
}
