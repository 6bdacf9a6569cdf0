/**
 * What CS1 accepts at publish, from its settings:
 *
 * BLINDSIGHT_ALLOW_INSECURE_PAPER_SCHEME: publish two-server indexes of the `she` backend, the
 * paper's scheme, which is broken (lib/he/backends.ts). Default false: such a publish is
 * refused with a 400 that names this setting.
 */
import { EnvironmentConfig } from '../../config/environment';
import { SETTINGS } from '../../config/settings';
import type { Environment } from '../../config/types';
import { ConfigurationError } from '../../core/errors';
import type { IndexPublishPolicy } from '../types';

export const ALLOW_INSECURE_PAPER_SCHEME_SETTING = SETTINGS.allowInsecurePaperScheme.name;

/** The default: nothing insecure is accepted. */
export const DEFAULT_PUBLISH_POLICY: IndexPublishPolicy = { allowInsecurePaperScheme: false };

export function readPublishPolicy(env?: Environment): IndexPublishPolicy {
  const config = new EnvironmentConfig(env, { misconfigured: (message) => new ConfigurationError(`CS1 configuration: ${message}`) });
  return { allowInsecurePaperScheme: config.get('allowInsecurePaperScheme') };
}
