/**
 * POST /v1/owners {publicKeyJwk}: registers an owner's Ed25519 public key (no token: the owner
 * id is the key's fingerprint). 201 {ownerId} when new, 200 when the same key was registered
 * before; 409 if the id were registered with another key (impossible with fingerprint ids,
 * but the registry keeps the mapping honest).
 */
import { CS1_API } from '../../lib/api/routes';
import { accountServices } from '../../lib/service/accounts/account-services';
import { routeHandler } from '../lib/http-handler';
import { serviceLogger, serviceNameOf } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = serviceNameOf(CS1_API.registerOwner.handler);

export const handler = routeHandler(CS1_API.registerOwner, async (event) => {
  const result = await accountServices().owners.registerOwner(event.body.publicKeyJwk);
  serviceLogger(SERVICE).info(result.created ? 'owner registered' : 'owner already registered', { ownerId: result.ownerId });
  return json(result.created ? 201 : 200, result);
});
