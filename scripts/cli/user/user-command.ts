/** What the user's commands share: the session from the home, its endpoint and a user client. */
import type { Cs1Client } from '../../../lib/client/cs1-client';
import { loadUserSession } from '../../../lib/client/node/user-home';
import type { UserPaths } from '../../../lib/client/node/user-home';
import type { UserSession } from '../../../lib/client/user-session';
import { userClient } from '../../../lib/client/user-session';
import type { CommandContext } from '../context';
import { chooseEndpoint } from '../context';

export interface UserCommand {
  readonly session: UserSession;
  readonly paths: UserPaths;
  client(): Promise<Cs1Client>;
}

export async function openUser(context: CommandContext): Promise<UserCommand> {
  const { paths, ...session } = await loadUserSession(context.home);
  return {
    session,
    paths,
    client: async () => {
      // The token's expiry is checked before any endpoint is looked for.
      userClient(session, 'http://127.0.0.1', context.now());
      const choice = await chooseEndpoint(context, { url: session.grant.endpoint, origin: `your grant (${paths.grant})` });
      return userClient(session, choice.url, context.now());
    },
  };
}
