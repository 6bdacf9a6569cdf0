/**
 * PUT /v1/owners/{ownerId}/users/{userId}: the owner adds a user (or re-activates a revoked
 * one); the owner then signs tokens for it. Idempotent: 200 with the user's record.
 */
import { CS1_API } from '../../lib/api/routes';
import { accountServices } from '../../lib/service/accounts/account-services';
import { callerOf } from '../lib/caller';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.putUser.handler);

export const handler = routeHandler(CS1_API.putUser, async (event) => {
  const { ownerId } = callerOf(event);
  const user = await accountServices().owners.putUser(ownerId, event.pathParameters.userId);
  serviceLogger(SERVICE).info('user active', { ownerId, userId: user.userId, reactivations: user.reactivationCount });
  return json(200, user);
});
