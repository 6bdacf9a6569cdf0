/**
 * `blindsight owner publish`: the publish workflow (lib/client/owner-publish) over the last
 * build in the home. Two-server: with the local cloud, the CLI puts CS2's HE secret into CS2's
 * key folder itself (as its operator would), whatever data folder the cloud runs on; against
 * AWS it prints the operator's command, because only CS2's account may write its Secrets Manager.
 */
import { relative } from 'node:path';
import { InvalidInputError, isBlindsightError } from '../../../lib/core/errors';
import { BUILD_FILES } from '../../../lib/client/build-files';
import { buildPath, buildSource, loadManifest, savePublished } from '../../../lib/client/node/owner-home';
import { publishBuild } from '../../../lib/client/owner-publish';
import type { Cs2Handover, PublishOutcome } from '../../../lib/client/owner-publish';
import { loadHeDecryptor } from '../../../lib/he';
import { FileSecretStore } from '../../../lib/storage/file-secret-store';
import { REPO_ROOT } from '../../local-cloud/layout';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { localCs2KeyDir } from '../endpoint';
import { openOwner } from './owner-command';

export interface PublishOptions {
  /** CS2's local key folder (default: found from the running local cloud). */
  readonly cs2KeyDir?: string;
}

export type PublishResult = Omit<PublishOutcome, 'published'>;

/** Puts the HE secret into CS2's local key folder (refusing anything but real secret material of this key). */
async function importCs2Secret(material: Uint8Array, keyId: string, keyDir: string): Promise<string> {
  const decryptor = await loadHeDecryptor(material);
  try {
    if (decryptor.descriptor.keyId !== keyId) {
      throw new InvalidInputError(`the build's CS2 secret is of key ${decryptor.descriptor.keyId}, not of the index's key ${keyId}: run "owner index" again`);
    }
  } finally {
    decryptor.dispose();
  }
  const store = new FileSecretStore(keyDir);
  let previous: Uint8Array | undefined;
  try {
    previous = await store.get(keyId);
  } catch (error) {
    if (!isBlindsightError(error) || error.code !== 'NOT_FOUND') throw error;
  }
  if (previous === undefined || Buffer.compare(Buffer.from(previous), Buffer.from(material)) !== 0) await store.put(keyId, material);
  return store.pathOf(keyId);
}

function operatorCommand(cwd: string, secretPath: string): string {
  const script = relative(cwd, `${REPO_ROOT}/scripts/cs2-import-key.ts`) || 'scripts/cs2-import-key.ts';
  return `npx tsx ${script} --file ${secretPath} --secrets-manager --region <region> --profile <cs2-account-profile>`;
}

export async function ownerPublish(context: CommandContext, options: PublishOptions = {}): Promise<PublishResult> {
  const command = await openOwner(context);
  const { owner, paths } = command;
  const manifest = await loadManifest(paths);
  const endpoint = await command.endpoint();
  const client = await command.client();
  const handOverCs2Secret = async (keyId: string, material: Uint8Array): Promise<Cs2Handover> => {
    const keyDir = options.cs2KeyDir !== undefined ? resolvePath(context, options.cs2KeyDir) : await localCs2KeyDir(endpoint, context.env);
    if (keyDir !== undefined) return { imported: true, path: await importCs2Secret(material, keyId, keyDir) };
    const secretFile = buildPath(paths.indexDir, BUILD_FILES.cs2Secret);
    return { imported: false, command: operatorCommand(context.cwd, secretFile), secretFile };
  };
  const { published, ...outcome } = await publishBuild({ owner, client, manifest, build: buildSource(paths), handOverCs2Secret, now: context.now }, context.listener);
  await savePublished(paths, published);
  return outcome;
}
