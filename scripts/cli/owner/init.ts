/**
 * `blindsight owner init`: creates the owner's keys (Ed25519 signing key, SEI owner secret for
 * dimension d, AES-256 image key, the owner's own placement W) and registers the public
 * signing key with CS1, whose answer is the owner id (the key's fingerprint). Running it again
 * never replaces keys: it registers the existing key again (idempotent), e.g. with a new cloud.
 */
import { generateOwnerSigningKey } from '../../../lib/auth/signing-key';
import { ownerIdOf } from '../../../lib/auth/owner-id';
import { encodeImageKey, generateImageKey } from '../../../lib/crypto/image-envelope';
import { encodeOwnerSecret, encodeUserSecret } from '../../../lib/sei/key-formats';
import { generateOwnerSecret, MAX_SEI_DIMENSION } from '../../../lib/sei/owner-key';
import { generateUserSecret } from '../../../lib/sei/user-key';
import { Cs1Client } from '../../../lib/client/cs1-client';
import { InvalidInputError } from '../../../lib/core/errors';
import type { CommandContext } from '../context';
import { resolveEndpoint } from '../endpoint';
import { ensurePrivateDir, writePrivateFile, writePrivateJson } from '../secure-files';
import { isOwnerInitialised, loadOwner, OWNER_FORMAT, ownerPaths } from './home';
import type { OwnerConfig } from './home';

export const DEFAULT_DIMENSION = 128;

export interface InitOptions {
  /** SEI feature dimension d (PCA output); default 128. */
  readonly dimension?: number;
}

export interface InitResult {
  readonly ownerId: string;
  readonly endpoint: string;
  readonly home: string;
  readonly d: number;
  /** False when the owner existed and was only registered again. */
  readonly created: boolean;
  readonly registered: 'new' | 'already registered';
}

export async function ownerInit(context: CommandContext, options: InitOptions = {}): Promise<InitResult> {
  const paths = ownerPaths(context.home);
  if (await isOwnerInitialised(context.home)) {
    const owner = await loadOwner(context);
    if (options.dimension !== undefined && options.dimension !== owner.config.d) {
      throw new InvalidInputError(
        `the owner in ${context.home} already has dimension ${owner.config.d}; keys are never replaced: use another --home for d = ${options.dimension}`,
      );
    }
    const endpoint = await resolveEndpoint({ flag: context.endpointFlag, stored: owner.config.endpoint, env: context.env });
    const registration = await new Cs1Client({ endpoint }).registerOwner(owner.signingKey);
    if (endpoint !== owner.config.endpoint) {
      // An explicit new endpoint becomes the default of the later commands.
      await writePrivateJson(paths.config, { ...owner.config, endpoint });
    }
    context.reporter.info(`owner ${owner.config.ownerId} already exists in ${paths.dir}; registered with CS1 at ${endpoint}`);
    return {
      ownerId: owner.config.ownerId,
      endpoint,
      home: context.home,
      d: owner.config.d,
      created: false,
      registered: registration.created ? 'new' : 'already registered',
    };
  }

  const d = options.dimension ?? DEFAULT_DIMENSION;
  if (!Number.isInteger(d) || d < 2 || d > MAX_SEI_DIMENSION) throw new InvalidInputError(`--dimension must be an integer from 2 to ${MAX_SEI_DIMENSION}`);
  const endpoint = await resolveEndpoint({ flag: context.endpointFlag, env: context.env });

  context.reporter.info(`creating owner keys in ${paths.dir} (SEI dimension d = ${d})`);
  const signing = await generateOwnerSigningKey();
  const ownerId = await ownerIdOf(signing.publicJwk);
  const seiSecret = generateOwnerSecret(d);
  const imageKey = await generateImageKey();
  const placement = generateUserSecret(d);

  // Register first: if CS1 cannot be reached, nothing is written and init can simply be rerun.
  const registration = await new Cs1Client({ endpoint }).registerOwner(signing.publicJwk);
  if (registration.ownerId !== ownerId) {
    throw new InvalidInputError(`CS1 at ${endpoint} answered owner id ${registration.ownerId}, expected ${ownerId}: is this a Blindsight CS1?`);
  }

  await ensurePrivateDir(context.home);
  await ensurePrivateDir(paths.dir);
  await writePrivateJson(paths.signingKey, signing.privateJwk);
  await writePrivateFile(paths.seiSecret, encodeOwnerSecret(seiSecret));
  await writePrivateFile(paths.imageKey, encodeImageKey(imageKey));
  await writePrivateFile(paths.placementKey, encodeUserSecret(placement));
  const config: OwnerConfig = {
    format: OWNER_FORMAT,
    version: 1,
    ownerId,
    endpoint,
    d,
    createdAt: context.now().toISOString(),
    seiKeyId: seiSecret.keyId,
    imageKeyId: imageKey.keyId,
  };
  // Written last: its presence marks a complete owner.
  await writePrivateJson(paths.config, config);
  context.reporter.info(`owner ${ownerId} registered with CS1 at ${endpoint}`);
  return { ownerId, endpoint, home: context.home, d, created: true, registered: registration.created ? 'new' : 'already registered' };
}
