/**
 * `blindsight user identify <image|folder>... [--tau-squared n | --k n] [--face]`: the
 * two-server identification workflow (lib/client/user-identify) over files and folders on
 * disk, the model and the HE public material loaded once for all of them.
 */
import { collectImages } from '../../../lib/client/node/folder-images';
import { publicMaterialFiles } from '../../../lib/client/node/user-home';
import { identifyImages } from '../../../lib/client/user-identify';
import type { IdentifyMode, IdentifyOutcome } from '../../../lib/client/user-identify';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { UsageError } from '../errors';
import { openUser } from './user-command';

export interface IdentifyOptions {
  readonly images: readonly string[];
  readonly tauSquared?: number;
  readonly k?: number;
  /** Use the face model (required when the index was built from faces). */
  readonly face?: boolean;
  readonly recursive?: boolean;
}

export type IdentifyResult = IdentifyOutcome;

export async function userIdentify(context: CommandContext, options: IdentifyOptions): Promise<IdentifyResult> {
  if (options.tauSquared !== undefined && options.k !== undefined) throw new UsageError('give either --tau-squared or --k, not both');
  const { session, paths, client: makeClient } = await openUser(context);
  const collected = await collectImages(options.images, (path) => resolvePath(context, path), { recursive: options.recursive });
  const mode: IdentifyMode | undefined = options.tauSquared !== undefined ? { tauSquared: options.tauSquared } : options.k !== undefined ? { k: options.k } : undefined;
  return identifyImages(
    {
      session,
      client: await makeClient(),
      models: context.models,
      queries: collected.entries,
      ...(mode ? { mode } : {}),
      face: options.face,
      cache: publicMaterialFiles(paths),
      skipUnusable: !(collected.folders === 0 && collected.entries.length === 1),
    },
    context.listener,
  );
}
