/**
 * How workflows tell their caller what is happening, without knowing whether a terminal, a
 * log file or a web page listens: one callback receiving plain events. Progress belongs to a
 * named step ("features", "upload images") and ends with a 'step-end' event, so a listener can
 * draw and close one bar per step; messages are lines for people.
 */

export type WorkflowEvent =
  | { readonly type: 'progress'; readonly step: string; readonly done: number; readonly total: number; readonly detail?: string }
  | { readonly type: 'step-end'; readonly step: string }
  | { readonly type: 'info'; readonly message: string }
  | { readonly type: 'warning'; readonly message: string };

export type WorkflowListener = (event: WorkflowEvent) => void;

export interface StepProgress {
  update(done: number, total: number, detail?: string): void;
}

/** Runs `work` as one step: its progress is reported under `step`, and the step always ends. */
export async function inStep<T>(listener: WorkflowListener, step: string, work: (progress: StepProgress) => Promise<T>): Promise<T> {
  try {
    return await work({ update: (done, total, detail) => listener({ type: 'progress', step, done, total, ...(detail !== undefined ? { detail } : {}) }) });
  } finally {
    listener({ type: 'step-end', step });
  }
}

export function info(listener: WorkflowListener, message: string): void {
  listener({ type: 'info', message });
}

export function warn(listener: WorkflowListener, message: string): void {
  listener({ type: 'warning', message });
}
