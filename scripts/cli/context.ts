/**
 * What every command runs with: the home folder (keys and state), the endpoint override, the
 * environment, the listener for the workflows' progress and messages, the shared feature models,
 * and the endpoint the command ends up using (named when it cannot be reached).
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { WorkflowListener } from '../../lib/client/events';
import { EnvironmentConfig } from '../../lib/config/environment';
import type { FeatureModels } from '../../lib/client/features';
import type { EndpointChoice, SavedEndpoint } from './endpoint';
import { resolveEndpoint } from './endpoint';

export interface CommandContext {
  /** Absolute path of the home folder (default ~/.blindsight). */
  readonly home: string;
  /** --endpoint, if given. */
  readonly endpointFlag?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base of relative paths on the command line (the folder the user ran the command in). */
  readonly cwd: string;
  readonly listener: WorkflowListener;
  readonly models: FeatureModels;
  /** Clock (tests). */
  readonly now: () => Date;
  /** The endpoint chosen by {@link chooseEndpoint}. */
  endpoint?: EndpointChoice;
}

export function defaultHome(env: Readonly<Record<string, string | undefined>>): string {
  const configured = new EnvironmentConfig(env).get('cliHome');
  return configured !== undefined ? resolve(configured) : join(homedir(), '.blindsight');
}

/** A command-line path, relative to the folder the user ran the command in. */
export function resolvePath(context: Pick<CommandContext, 'cwd'>, path: string): string {
  return isAbsolute(path) ? path : resolve(context.cwd, path);
}

/** The command's endpoint (see endpoint.ts), remembered in the context for error messages. */
export async function chooseEndpoint(context: CommandContext, saved?: SavedEndpoint): Promise<EndpointChoice> {
  const choice = await resolveEndpoint({ flag: context.endpointFlag, saved, env: context.env, listener: context.listener });
  context.endpoint = choice;
  return choice;
}
