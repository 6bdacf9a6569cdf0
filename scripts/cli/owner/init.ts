/**
 * `blindsight owner init`: creates the owner's keys and registers the public signing key with
 * CS1 (lib/client/owner-keys). Running it again never replaces keys: it registers the existing
 * key again (idempotent), e.g. with a new cloud, and saves an explicitly given endpoint.
 */
import { Cs1Client } from '../../../lib/client/cs1-client';
import { info } from '../../../lib/client/events';
import { isOwnerInitialised, ownerPaths, saveNewOwner, saveOwnerConfig } from '../../../lib/client/node/owner-home';
import { createOwner } from '../../../lib/client/owner-keys';
import { publicJwkOf } from '../../../lib/auth/signing-key';
import { InvalidInputError } from '../../../lib/core/errors';
import type { CommandContext } from '../context';
import { chooseEndpoint } from '../context';
import { openOwner } from './owner-command';
import type { OwnerId } from '../../../lib/core/ids';

export interface InitOptions {
  /** SEI feature dimension d (PCA output); default 128. */
  readonly dimension?: number;
}

export interface InitResult {
  readonly ownerId: OwnerId;
  readonly endpoint: string;
  readonly home: string;
  readonly d: number;
  /** False when the owner existed and was only registered again. */
  readonly created: boolean;
  readonly registered: 'new' | 'already registered';
}

export async function ownerInit(context: CommandContext, options: InitOptions = {}): Promise<InitResult> {
  if (await isOwnerInitialised(context.home)) {
    const { owner, paths, endpoint } = await openOwner(context);
    if (options.dimension !== undefined && options.dimension !== owner.config.d) {
      throw new InvalidInputError(
        `the owner in ${context.home} already has dimension ${owner.config.d}; keys are never replaced: use another --home for d = ${options.dimension}`,
      );
    }
    const { url } = await endpoint();
    const registration = await new Cs1Client({ endpoint: url }).registerOwner(publicJwkOf(owner.signingKey));
    // A new endpoint (given, or the running local cloud replacing a stopped one) becomes the default of later commands.
    if (url !== owner.config.endpoint) await saveOwnerConfig(paths, { ...owner.config, endpoint: url });
    info(context.listener, `owner ${owner.config.ownerId} already exists in ${paths.dir}; registered with CS1 at ${url}`);
    return { ownerId: owner.config.ownerId, endpoint: url, home: context.home, d: owner.config.d, created: false, registered: registration.created ? 'new' : 'already registered' };
  }
  const { url } = await chooseEndpoint(context);
  info(context.listener, `creating owner keys in ${ownerPaths(context.home).dir} (SEI dimension d = ${options.dimension ?? 128})`);
  const { owner, registeredNew } = await createOwner(url, options.dimension, context.now());
  await saveNewOwner(context.home, owner);
  info(context.listener, `owner ${owner.config.ownerId} registered with CS1 at ${url}`);
  return { ownerId: owner.config.ownerId, endpoint: url, home: context.home, d: owner.config.d, created: true, registered: registeredNew ? 'new' : 'already registered' };
}
