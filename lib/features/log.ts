/**
 * Default structured logger of the feature layer: one JSON object per line on stderr, so stdout
 * stays free for command output (tables, --json results).
 */
import type { LogEvent, Logger } from './types';

export const stderrJsonLogger: Logger = (event: LogEvent) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
};
