/**
 * What every command runs with: the home folder (keys and state), the endpoint override, the
 * environment, the reporter for human messages and the shared feature models.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { FeatureProvider } from './features';
import type { Reporter } from './io';

export const HOME_ENV = 'BLINDSIGHT_HOME';

export interface CommandContext {
  /** Absolute path of the home folder (default ~/.blindsight). */
  readonly home: string;
  /** --endpoint, if given. */
  readonly endpointFlag?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base of relative paths on the command line. */
  readonly cwd: string;
  readonly reporter: Reporter;
  readonly features: FeatureProvider;
  /** Clock (tests). */
  readonly now: () => Date;
}

export function defaultHome(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env[HOME_ENV]?.trim();
  return configured ? resolve(configured) : join(homedir(), '.blindsight');
}

/** A command-line path, relative to the context's working folder. */
export function resolvePath(context: Pick<CommandContext, 'cwd'>, path: string): string {
  return isAbsolute(path) ? path : resolve(context.cwd, path);
}
