/**
 * POST /v1/owners {publicKeyJwk}: registers an owner's Ed25519 public key (no token: the owner
 * id is the key's fingerprint). 201 {ownerId} when new, 200 when the same key was registered
 * before; 409 if the id were registered with another key (impossible with fingerprint ids,
 * but the registry keeps the mapping honest).
 */
import { cs1Services } from '../../lib/service/cs1/services';
import { httpHandler } from '../lib/http-handler';
import { serviceLogger } from '../lib/logger';
import { json } from '../lib/responses';

const SERVICE = 'blindsight-cs1-register-owner';

interface Body {
  publicKeyJwk: Record<string, unknown>;
}

const bodySchema = {
  type: 'object',
  required: ['publicKeyJwk'],
  additionalProperties: false,
  properties: {
    publicKeyJwk: {
      type: 'object',
      required: ['kty', 'crv', 'x'],
      maxProperties: 16,
      properties: { kty: { type: 'string', maxLength: 16 }, crv: { type: 'string', maxLength: 16 }, x: { type: 'string', maxLength: 128 } },
    },
  },
};

export const handler = httpHandler<Body>({ service: SERVICE, auth: 'none', bodySchema }, async (event) => {
  const result = await cs1Services().owners.registerOwner(event.body.publicKeyJwk);
  serviceLogger(SERVICE).info(result.created ? 'owner registered' : 'owner already registered', { ownerId: result.ownerId });
  return json(result.created ? 201 : 200, result);
});
