/**
 * PUT /v1/owners/{ownerId}/users/{userId}: the owner adds a user (or re-activates a revoked
 * one); the owner then signs tokens for it. Idempotent: 200 with the user's record.
 */
import { cs1Services } from '../../lib/service/cs1/services';
import { callerOf } from '../lib/caller';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-user-put';

export const handler = httpHandler({ service: SERVICE, auth: 'owner' }, async (event) => {
  const { ownerId } = callerOf(event);
  const user = await cs1Services().owners.putUser(ownerId, event.pathParameters?.userId as string);
  serviceLogger(SERVICE).info('user active', { ownerId, userId: user.userId, reactivations: user.reactivationCount });
  return json(200, user);
});
