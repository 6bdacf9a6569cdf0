/**
 * What CS1 accepts at publish, from its settings:
 *
 * BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: publish two-server indexes of the `she` backend, the
 * paper's scheme, which is broken (lib/he/backends.ts). Default false: such a publish is
 * refused with a 400 that names this setting.
 */
import { ConfigurationError } from '../../core/errors';
import { envBoolean } from '../../core/env';
import type { Environment } from '../../core/env';
import type { IndexPublishPolicy } from './types';

export const ALLOW_INSECURE_PAPER_SCHEME_SETTING = 'BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME';

/** The default: nothing insecure is accepted. */
export const DEFAULT_PUBLISH_POLICY: IndexPublishPolicy = { allowInsecurePaperScheme: false };

export function readPublishPolicy(env: Environment = process.env): IndexPublishPolicy {
  const misconfigured = (message: string) => new ConfigurationError(`CS1 configuration: ${message}`);
  return { allowInsecurePaperScheme: envBoolean(env, ALLOW_INSECURE_PAPER_SCHEME_SETTING, DEFAULT_PUBLISH_POLICY.allowInsecurePaperScheme, misconfigured) };
}
