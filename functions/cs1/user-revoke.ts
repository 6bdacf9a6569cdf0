/**
 * DELETE /v1/owners/{ownerId}/users/{userId}: the owner revokes a user; the user's tokens are
 * refused from its next request on. 200 with the record, 404 for an unknown user.
 */
import { CS1_API } from '../../lib/api/routes';
import { accountServices } from '../../lib/service/accounts/account-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.revokeUser.handler);

export const handler = routeHandler(CS1_API.revokeUser, async (event) => {
  const { ownerId } = callerOf(event);
  const user = await accountServices().owners.revokeUser(ownerId, event.pathParameters.userId);
  serviceLogger(SERVICE).info('user revoked', { ownerId, userId: user.userId });
  return json(200, user);
});
