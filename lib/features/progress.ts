/**
 * A terminal progress bar (cli-progress, on stderr) fed by the extractors' progress callbacks.
 * On a non-terminal stderr cli-progress prints nothing, so scripted runs stay clean.
 */
import cliProgressLib from 'cli-progress';
import type { ExtractionProgress } from './types';

export interface ProgressBar {
  /** Pass as `onProgress`. */
  readonly update: (progress: ExtractionProgress) => void;
  readonly stop: () => void;
}

export function cliProgress(label: string, stream: NodeJS.WritableStream = process.stderr): ProgressBar {
  const bar = new cliProgressLib.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} images | {skipped} skipped | {eta_formatted} left`,
      stream,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgressLib.Presets.shades_classic,
  );
  let started = false;
  return {
    update: ({ done, total, skipped }) => {
      if (!started) {
        bar.start(total, 0, { skipped: 0 });
        started = true;
      }
      bar.update(done, { skipped });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
