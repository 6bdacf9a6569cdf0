/** What the owner's commands share: the owner from the home, its endpoint and an owner client. */
import type { Cs1Client } from '../../../lib/client/cs1-client';
import type { OwnerPaths } from '../../../lib/client/node/owner-home';
import { loadOwner } from '../../../lib/client/node/owner-home';
import { ownerClient } from '../../../lib/client/owner-keys';
import type { Owner } from '../../../lib/client/owner-state';
import type { CommandContext } from '../context';
import { chooseEndpoint } from '../context';
import type { EndpointChoice } from '../endpoint';

export interface OwnerCommand {
  readonly owner: Owner;
  readonly paths: OwnerPaths;
  endpoint(): Promise<EndpointChoice>;
  /** A client with a fresh owner token. */
  client(): Promise<Cs1Client>;
}

export async function openOwner(context: CommandContext): Promise<OwnerCommand> {
  const { paths, ...owner } = await loadOwner(context.home);
  let choice: Promise<EndpointChoice> | undefined;
  const endpoint = () => (choice ??= chooseEndpoint(context, { url: owner.config.endpoint, origin: `${paths.config} (saved by "owner init")` }));
  return {
    owner,
    paths,
    endpoint,
    client: async () => ownerClient((await endpoint()).url, owner, context.now()),
  };
}
