/**
 * `blindsight owner add <image>` and `owner delete <image id | file>`: the update workflows
 * (lib/client/owner-updates) on the published indexes, SEI and identification; the manifest
 * and the identification provider index in the home follow, so later grants, updates and
 * `owner status` see the current set.
 */
import { basename } from 'node:path';
import { NotFoundError } from '../../../lib/core/errors';
import { fileEntry } from '../../../lib/client/node/folder-images';
import { buildStore, loadManifest, loadPca, saveManifest } from '../../../lib/client/node/owner-home';
import { readUserFile } from '../../../lib/client/node/private-files';
import { addImage, deleteImage, findImage } from '../../../lib/client/owner-updates';
import type { UpdateOutcome } from '../../../lib/client/owner-updates';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { openOwner } from './owner-command';

export type UpdateResult = UpdateOutcome;

export interface UpdateOptions {
  /** Update the SEI index only, leaving the identification index as it is (recorded as stale). */
  readonly seiOnly?: boolean;
}

export async function ownerAdd(context: CommandContext, imagePath: string, options: UpdateOptions = {}): Promise<UpdateResult> {
  const command = await openOwner(context);
  const manifest = await loadManifest(command.paths);
  const file = resolvePath(context, imagePath);
  await readUserFile(file, 'image');
  const { outcome, manifest: next } = await addImage(
    {
      owner: command.owner,
      client: await command.client(),
      manifest,
      build: buildStore(command.paths),
      pca: await loadPca(command.paths),
      models: context.models,
      image: fileEntry(file, basename(file)),
      seiOnly: options.seiOnly,
    },
    context.listener,
  );
  await saveManifest(command.paths, next);
  return outcome;
}

export async function ownerDelete(context: CommandContext, reference: string, options: UpdateOptions = {}): Promise<UpdateResult> {
  const command = await openOwner(context);
  const manifest = await loadManifest(command.paths);
  const image = findImage(manifest, reference, resolvePath(context, reference));
  if (image === undefined) {
    throw new NotFoundError(`"${reference}" is neither an image id nor a file of the index (see "blindsight owner status --images")`);
  }
  const { outcome, manifest: next } = await deleteImage({ owner: command.owner, client: await command.client(), manifest, build: buildStore(command.paths), image, seiOnly: options.seiOnly }, context.listener);
  await saveManifest(command.paths, next);
  return outcome;
}
